/** The bench's result as data, the aims judged on it, and the table printed from it. */
import type { CellResult, ClientKind } from './load.js';
import type { ProfileSummary } from './profile.js';
import type { TargetId } from './scenarios.js';

export interface Cell {
  kind: ClientKind;
  clients: number;
  target: TargetId;
  result: CellResult;
  /** Busy CPU of the machine just before the cell (its servers idle), % of one core. */
  busyBeforePct?: number;
}

export interface Ratio {
  kind: ClientKind;
  clients: number;
  tool: 'get_progress' | 'submit_step';
  /** ours / bare. */
  callsPerSec: number;
  p99: number;
  /** bare / ours server CPU per call: the throughput ratio a server-bound run would show, steady under noise. */
  cpuCost: number;
  /** Either cell was disturbed by other processes. */
  disturbed: boolean;
}

export interface RoundResult {
  round: number;
  /** Right after the round. A single reading swings by ±5 % with GC timing. */
  rssMb: number;
  /** Sampled every 100 ms while the round ran. The mean follows the round's throughput. */
  meanRssMb: number;
  /**
   * The peak a round reaches is where V8's GC holds the heap under this load; it moves when
   * live memory grows, not with GC timing or a slower round, so growth is judged on it.
   */
  maxRssMb: number;
  callsPerSec: Record<string, number>;
}

export interface MemoryReport {
  idleMb: number;
  afterLoadMb: number;
  peakMb: number;
  /** The bare server after the same matrix (it takes no part in the rounds), for scale. */
  bare: { idleMb: number; afterLoadMb: number; peakMb: number };
  rounds: RoundResult[];
  /** Of the peak RSS under load, from round 2 (round 1 when there are only 2) to the last; null with one round. */
  growth: { fromRound: number; toRound: number; mb: number; pct: number } | null;
}

export interface Aim {
  aim: string;
  value: string;
  /** null when the bench could not judge it (e.g. a single round). */
  met: boolean | null;
}

export interface LogSummary {
  toolCallLines: number;
  bytes: number;
  errorLines: number;
}

export interface BenchReport {
  startedAt: string;
  node: string;
  cpus: number;
  server: { mode: string; description: string; buildWarnings: string };
  settings: { secondsPerCell: number; warmupSeconds: number; rounds: number; concurrency: number[] };
  cells: Cell[];
  ratios: Ratio[];
  memory: MemoryReport;
  log: LogSummary;
  aims: Aim[];
  notes: string[];
  profile?: ProfileSummary[];
}

export const AIM_THROUGHPUT = 0.8;
export const AIM_P99 = 1.3;
/** RSS differences below this are noise (GC timing, allocator), not growth. */
export const AIM_RSS_GROWTH_PCT = 5;

/** Other processes' CPU (% of one core) at or above which a cell's figures are called disturbed. */
export const DISTURBED_PCT = 25;

/** How much other processes took during (or just before) a cell, % of one core. */
export function disturbance(cell: Cell): number {
  return Math.max(cell.result.otherCpuPct, cell.busyBeforePct ?? 0);
}

export function isDisturbed(cell: Cell): boolean {
  return disturbance(cell) >= DISTURBED_PCT;
}

const MB = 1024 * 1024;
export const toMb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

function find(cells: readonly Cell[], kind: ClientKind, clients: number, target: TargetId): Cell | undefined {
  return cells.find((c) => c.kind === kind && c.clients === clients && c.target === target);
}

export function ratiosOf(cells: readonly Cell[], concurrency: readonly number[]): Ratio[] {
  const out: Ratio[] = [];
  for (const kind of ['v2', 'v1'] as const) {
    for (const clients of concurrency) {
      const bare = find(cells, kind, clients, 'bare echo');
      for (const tool of ['get_progress', 'submit_step'] as const) {
        const ours = find(cells, kind, clients, `ours ${tool}`);
        if (!bare || !ours) continue;
        const [b, o] = [bare.result, ours.result];
        out.push({
          kind,
          clients,
          tool,
          callsPerSec: o.callsPerSec / b.callsPerSec,
          p99: o.p99Ms / b.p99Ms,
          cpuCost: b.serverCpuUsPerCall / o.serverCpuUsPerCall,
          disturbed: isDisturbed(bare) || isDisturbed(ours),
        });
      }
    }
  }
  return out;
}

export function growthOf(rounds: readonly RoundResult[]): MemoryReport['growth'] {
  if (rounds.length < 2) return null;
  // Round 1 still warms up (JIT, heap sizing); growth after it is what would accumulate.
  const from = rounds.length >= 3 ? rounds[1] : rounds[0];
  const to = rounds[rounds.length - 1];
  if (!from || !to) return null;
  const mb = Math.round((to.maxRssMb - from.maxRssMb) * 10) / 10;
  return { fromRound: from.round, toRound: to.round, mb, pct: (mb / from.maxRssMb) * 100 };
}

const pct = (x: number): string => `${Math.round(x * 100)} %`;

export function aimsOf(ratios: readonly Ratio[], memory: MemoryReport, concurrency: readonly number[]): Aim[] {
  const top = Math.max(...concurrency);
  const aims: Aim[] = [];
  // Judged on disturbed cells, an aim would report the neighbours' load, not ours: left open.
  const judge = (r: Ratio, ok: boolean): boolean | null => (r.disturbed ? null : ok);
  const flag = (r: Ratio): string => (r.disturbed ? ' (disturbed)' : '');
  for (const r of ratios.filter((x) => x.clients === top)) {
    aims.push({
      aim: `${r.kind} ${r.tool}: calls/s ≥ ${pct(AIM_THROUGHPUT)} of bare at ${top} clients`,
      value: `${pct(r.callsPerSec)}${flag(r)}`,
      met: judge(r, r.callsPerSec >= AIM_THROUGHPUT),
    });
  }
  for (const r of ratios.filter((x) => x.clients === top)) {
    aims.push({
      aim: `${r.kind} ${r.tool}: p99 ≤ ${AIM_P99}× bare at ${top} clients`,
      value: `${r.p99.toFixed(2)}×${flag(r)}`,
      met: judge(r, r.p99 <= AIM_P99),
    });
  }
  const g = memory.growth;
  aims.push({
    aim: `no RSS growth across rounds (peak RSS under load, < ${AIM_RSS_GROWTH_PCT} % from round ${g?.fromRound ?? 2} to the last)`,
    value: g ? `${g.mb >= 0 ? '+' : ''}${g.mb.toFixed(1)} MB (${g.pct >= 0 ? '+' : ''}${g.pct.toFixed(1)} %)` : 'needs BENCH_ROUNDS ≥ 2',
    met: g ? g.pct < AIM_RSS_GROWTH_PCT : null,
  });
  return aims;
}

/** `align` has one letter per column, `l` or `r`; columns past it are right-aligned. */
function table(header: string[], rows: string[][], align: string): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const num = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

export function renderReport(r: BenchReport): string {
  const out: string[] = [];
  const s = r.settings;
  out.push(
    `mcp-starter bench — ${r.startedAt}, node ${r.node}, ${r.cpus} CPUs`,
    `servers: ${r.server.description}`,
    `${s.secondsPerCell} s per cell after ${s.warmupSeconds} s warm-up; clients ${s.concurrency.join('/')}; ${s.rounds} memory rounds`,
  );
  if (r.server.buildWarnings) out.push(`note: tsc reported type errors but emitted (a concurrent edit?):\n${r.server.buildWarnings}`);

  out.push('', 'Throughput and latency (each client awaits its call before the next; CPU as % of one core)', '');
  out.push(
    table(
      [
        'client',
        'clients',
        'target',
        'calls/s',
        'p50 ms',
        'p99 ms',
        'mean ms',
        'max ms',
        'errors',
        'srv µs/call',
        'srv CPU',
        'load CPU',
        'other CPU',
        'iowait',
      ],
      r.cells.map(({ kind, clients, target, result: c }) => [
        kind,
        String(clients),
        target,
        num(c.callsPerSec),
        num(c.p50Ms, 2),
        num(c.p99Ms, 2),
        num(c.meanMs, 2),
        num(c.maxMs, 1),
        c.errors + c.toolErrors === 0 ? '0' : `${c.errors}+${c.toolErrors}`,
        num(c.serverCpuUsPerCall),
        `${num(c.serverCpuPct)} %`,
        `${num(c.loadCpuPct)} %`,
        `${num(c.otherCpuPct)} %`,
        `${num(c.iowaitPct)} %`,
      ]),
      'lrl',
    ),
  );
  const firstErrors = r.cells.filter((c) => c.result.firstError !== undefined);
  for (const c of firstErrors) out.push(`  first error (${c.kind} ${c.clients} ${c.target}): ${c.result.firstError ?? ''}`);

  out.push(
    '',
    'Ours vs bare (ours / bare echo, same client kind and clients; CPU-cost ratio = bare srv µs/call ÷ ours, the steady one)',
    '',
  );
  out.push(
    table(
      ['client', 'clients', 'tool', 'calls/s ratio', 'p99 ratio', 'CPU-cost ratio', ''],
      r.ratios.map((x) => [
        x.kind,
        String(x.clients),
        x.tool,
        pct(x.callsPerSec),
        `${x.p99.toFixed(2)}×`,
        pct(x.cpuCost),
        x.disturbed ? 'disturbed' : '',
      ]),
      'lrlrrrl',
    ),
  );

  const m = r.memory;
  out.push('', 'Memory (VmRSS from /proc; the rounds load only our server)', '');
  const roundLabel = (round: RoundResult): string =>
    Object.entries(round.callsPerSec)
      .map(([k, v]) => `${k} ${num(v)}/s`)
      .join(', ');
  out.push(
    table(
      ['when', 'ours MB', 'bare MB', 'ours mean/max under load', 'load in the round (calls/s)'],
      [
        ['idle, after start', num(m.idleMb, 1), num(m.bare.idleMb, 1), '', ''],
        ['after the load above', num(m.afterLoadMb, 1), num(m.bare.afterLoadMb, 1), '', ''],
        ...m.rounds.map((round) => [
          `after round ${round.round}`,
          num(round.rssMb, 1),
          '',
          `${num(round.meanRssMb, 1)} / ${num(round.maxRssMb, 1)}`,
          roundLabel(round),
        ]),
        ['peak (VmHWM)', num(m.peakMb, 1), num(m.bare.peakMb, 1), '', ''],
      ],
      'lrrrl',
    ),
  );
  if (m.growth) {
    const g = m.growth;
    out.push(
      `growth of the peak RSS under load from round ${g.fromRound} to round ${g.toRound}: ${g.mb >= 0 ? '+' : ''}${g.mb.toFixed(1)} MB (${g.pct.toFixed(1)} %)`,
    );
  }

  out.push(
    '',
    `Server log: ${r.log.toolCallLines} tool_call lines, ${toMb(r.log.bytes)} MB` +
      (r.log.toolCallLines > 0 ? ` (${Math.round(r.log.bytes / r.log.toolCallLines)} bytes per call)` : '') +
      `, ${r.log.errorLines} error lines`,
  );

  out.push('', 'Aims (reported, not asserted)', '');
  out.push(
    table(
      ['aim', 'measured', 'met'],
      r.aims.map((a) => [a.aim, a.value, a.met === null ? 'open' : a.met ? 'yes' : 'NO']),
      'lrr',
    ),
  );
  if (r.profile) out.push('', ...renderProfile(r.profile));
  if (r.notes.length > 0) out.push('', 'Notes', '', ...r.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

function renderProfile(profiles: readonly ProfileSummary[]): string[] {
  const first = profiles[0];
  if (!first) return [];
  const cell = (p: ProfileSummary, i: number): string => {
    const h = p.hotspots[i];
    return h ? `${num(h.pct, 1)} % ${num(h.usPerCall).padStart(4)} µs` : '-';
  };
  return [
    "Where our server's CPU goes (--profile: a profiled instance, v2 clients; slower than the cells above)",
    '',
    table(
      ['share of busy main-thread time (inclusive), µs per call', ...profiles.map((p) => p.tool)],
      [
        ['calls profiled', ...profiles.map((p) => String(p.calls))],
        ['busy main thread per call', ...profiles.map((p) => `${num(p.busyUsPerCall)} µs`)],
        ...first.hotspots.map((h, i) => [h.label, ...profiles.map((p) => cell(p, i))]),
      ],
      'l',
    ),
  ];
}
