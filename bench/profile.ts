/**
 * `--profile`: where our server's CPU goes. One more instance of our server runs with
 * `--cpu-prof` under a 32-client v2 load of each tool; its profile is summarised as the share
 * of busy time spent under a few named frames (inclusive: a frame's callees count too). Kept
 * apart from the measured cells because profiling slows the server down.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { closeClients, connectClients, runCell } from './load.js';
import { makeTempDir, startOurs, stopProcess, type Launcher } from './procs.js';
import { TARGETS, type TargetId } from './scenarios.js';

// The parts of V8's .cpuprofile format this reads.
const CpuProfile = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  /** µs on CLOCK_MONOTONIC, the clock of `process.hrtime` in every process on the machine. */
  startTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type CpuProfile = z.infer<typeof CpuProfile>;
type Frame = CpuProfile['nodes'][number]['callFrame'];

interface Hotspot {
  label: string;
  matches: (f: Frame) => boolean;
}

const fn = (name: string, urlPart: string) => (f: Frame) => f.functionName === name && f.url.includes(urlPart);
const inUrl =
  (...parts: string[]) =>
  (f: Frame) =>
    parts.some((p) => f.url.includes(p));

/** Named by what they are; the frames are matched by function and file, so a rename shows as 0 %. */
const HOTSPOTS: Hotspot[] = [
  { label: 'per-request McpServer construction (buildServer)', matches: fn('buildServer', 'mcp-server/server') },
  { label: '  registerTools', matches: fn('registerTools', 'mcp-server/tools/index') },
  { label: '  registerResources', matches: fn('registerResources', 'mcp-server/resources/index') },
  { label: '  registerPrompts (zod args schemas built per request)', matches: fn('registerPrompts', 'mcp-server/prompts/index') },
  {
    label: 'tool input schema → JSON Schema on tools/call (toolInputSchemaJson)',
    matches: fn('toolInputSchemaJson', '@modelcontextprotocol/server'),
  },
  { label: 'node req → web Request (toWebRequest)', matches: fn('toWebRequest', '@modelcontextprotocol/node') },
  { label: 'zod (all: parsing, schema building, JSON Schema)', matches: inUrl('/node_modules/zod/') },
  { label: 'logging (pino, sonic-boom)', matches: inUrl('/node_modules/pino/', '/node_modules/sonic-boom/') },
  { label: 'learning rules + SQLite store (learning, store/)', matches: inUrl('mcp-server/learning.', 'mcp-server/store/') },
  { label: 'HTTP response write (ServerResponse.end)', matches: fn('end', 'node:_http_outgoing') },
  { label: 'garbage collector', matches: (f) => f.functionName === '(garbage collector)' },
];

export interface ProfileSummary {
  tool: string;
  calls: number;
  busyMs: number;
  busyUsPerCall: number;
  hotspots: Array<{ label: string; pct: number; usPerCall: number }>;
}

/** Only the samples taken between `fromUs` and `toUs` (the load, not start-up or shutdown) count. */
function summarise(profile: CpuProfile, window: { fromUs: number; toUs: number }, calls: number, tool: string): ProfileSummary {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // For each node: which hotspots are on its stack (itself or an ancestor).
  const onStack = new Map<number, Set<number>>();
  const stackOf = (id: number): Set<number> => {
    const known = onStack.get(id);
    if (known) return known;
    const up = parent.get(id);
    const set = new Set(up === undefined ? [] : stackOf(up));
    const frame = byId.get(id)?.callFrame;
    if (frame) HOTSPOTS.forEach((h, i) => h.matches(frame) && set.add(i));
    onStack.set(id, set);
    return set;
  };
  const totals = HOTSPOTS.map(() => 0);
  let busyUs = 0;
  let atUs = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    atUs += dt;
    if (atUs < window.fromUs || atUs > window.toUs) return;
    if (byId.get(id)?.callFrame.functionName === '(idle)') return;
    busyUs += dt;
    for (const h of stackOf(id)) totals[h] = (totals[h] ?? 0) + dt;
  });
  return {
    tool,
    calls,
    busyMs: busyUs / 1000,
    busyUsPerCall: calls > 0 ? busyUs / calls : NaN,
    hotspots: HOTSPOTS.map((h, i) => ({
      label: h.label,
      pct: busyUs > 0 ? ((totals[i] ?? 0) / busyUs) * 100 : 0,
      usPerCall: calls > 0 ? (totals[i] ?? 0) / calls : NaN,
    })),
  };
}

/** Runs the load; returns the calls made and when (µs, CLOCK_MONOTONIC) it ran. */
async function load(
  url: URL,
  pid: number,
  targetId: TargetId,
  clients: number,
  seconds: number,
): Promise<{ calls: number; fromUs: number; toUs: number }> {
  const target = TARGETS[targetId];
  const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
  const pool = await connectClients('v2', url, clients);
  try {
    if (target.setup) {
      const setup = target.setup;
      await Promise.all(pool.map((c, i) => setup(c, i)));
    }
    const fromUs = nowUs();
    const r = await runCell({ clients: pool, call: target.call, warmupMs: 0, measureMs: seconds * 1000, serverPid: pid });
    return { calls: r.calls, fromUs, toUs: nowUs() };
  } finally {
    await closeClients(pool);
  }
}

/** Profiles our server under `clients` v2 clients calling `target` for `seconds`. */
export async function profileOurs(launcher: Launcher, targetId: TargetId, clients: number, seconds: number): Promise<ProfileSummary> {
  const profDir = makeTempDir('mcp-starter-bench-prof-');
  const profiled: Launcher = { ...launcher, ours: ['--cpu-prof', '--cpu-prof-dir', profDir, ...launcher.ours] };
  const server = await startOurs(profiled, makeTempDir('mcp-starter-bench-data-'));
  let run: Awaited<ReturnType<typeof load>>;
  try {
    run = await load(server.url, server.pid, targetId, clients, seconds);
  } finally {
    // A graceful stop: V8 writes the profile as the process exits.
    await stopProcess(server.proc);
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('the profiled server wrote no .cpuprofile (did it exit gracefully?)');
  const profile = CpuProfile.parse(JSON.parse(readFileSync(join(profDir, file), 'utf8')));
  return summarise(profile, run, run.calls, TARGETS[targetId].tool);
}
