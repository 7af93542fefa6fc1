import type { LogsAnalyzeResult, LogsRotateResult, LogsTailResult } from '../../shared/schemas/rpc.js';
import { bytes, localTime, paint, plural, rows, table, type Color } from './format.js';

const name = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** `ctl logs rotate`: where the file went, what was compressed and deleted, and the room all logs take now. */
export function renderLogsRotate(r: LogsRotateResult): string {
  const head = r.rotated
    ? paint('green', `\u2713 rotated ${name(r.file)} (${bytes(r.bytes)}) to ${name(r.rotatedTo ?? '')}`)
    : `nothing to rotate: ${r.file} is empty`;
  const lines = [head];
  if (r.compressed.length > 0) lines.push(`  compressed  ${r.compressed.map(name).join(', ')}`);
  if (r.deleted.length > 0) lines.push(`  deleted     ${plural(r.deleted.length, 'old file')}: ${r.deleted.map(name).join(', ')}`);
  lines.push(`  logs now take ${bytes(r.totalBytes)} in ${r.file.slice(0, r.file.lastIndexOf('/'))}`);
  return lines.join('\n');
}

type Entry = Record<string, unknown>;

// pino's numbers, for lines that carry one (this project's loggers write the label). Kept here rather
// than imported from shared/log-line.ts: this module is on every command's path, that one is loaded lazily.
const LABELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const LEVEL_COLORS: Record<string, Color | undefined> = { trace: 'dim', debug: 'dim', warn: 'yellow', error: 'red', fatal: 'red' };
const SOURCES: Record<string, string> = { 'mcp-starterd': 'daemon', 'mcp-starter-server': 'server' };
/** Keys the columns show, or that say nothing in a terminal. */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'component', 'msg', 'v', 'raw', 'truncated']);
const MAX_VALUE_CHARS = 300;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** HH:MM:SS.mmm in local time; blanks when the line has no time. */
function clock(time: unknown): string {
  const d = typeof time === 'string' || typeof time === 'number' ? new Date(time) : undefined;
  if (d === undefined || Number.isNaN(d.getTime())) return ' '.repeat(12);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function levelLabel(level: unknown): string {
  if (typeof level === 'number') return LABELS[level] ?? String(level);
  return typeof level === 'string' ? level : '';
}

function value(v: unknown): string {
  let text: string;
  if (typeof v === 'string') text = /^[^\s="]+$/.test(v) ? v : JSON.stringify(v);
  else if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Entry)['message'] === 'string') {
    // An error object (pino's err serializer): its message; `--json` has the stack.
    text = JSON.stringify((v as Entry)['message']);
  } else text = JSON.stringify(v) ?? String(v);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}\u2026` : text;
}

/** daemon, daemon/supervisor, server, server/stderr (a line the server printed that was not a log line). */
function source(e: Entry): string {
  const program = typeof e['name'] === 'string' ? (SOURCES[e['name']] ?? e['name']) : '';
  if (e['event'] === 'child_output' && typeof e['stream'] === 'string') return `server/${e['stream']}`;
  return typeof e['component'] === 'string' ? `${program}/${e['component']}` : program;
}

/**
 * One log line, readable: `HH:MM:SS.mmm LEVEL source/component message key=value…`, coloured on
 * a terminal. A line that is not JSON is shown as it is; a cut one says so.
 */
export function renderLogEntry(e: Entry): string {
  const raw = typeof e['raw'] === 'string' ? e['raw'] : undefined;
  const isCut = typeof e['truncated'] === 'number';
  if (raw !== undefined && !isCut) return raw;
  const label = levelLabel(e['level']);
  const color = LEVEL_COLORS[label];
  const levelText = label.toUpperCase().padEnd(5);
  const isOutput = e['event'] === 'child_output' && typeof e['line'] === 'string';
  const msg = isOutput ? String(e['line']) : typeof e['msg'] === 'string' ? e['msg'] : '';
  const hidden = isOutput ? new Set([...SHOWN, 'event', 'stream', 'line']) : SHOWN;
  const pairs = Object.entries(e)
    .filter(([k]) => !hidden.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  const parts = [paint('dim', clock(e['time'])), color ? paint(color, levelText) : levelText, source(e), msg];
  if (isCut) parts.push(paint('yellow', `[line of ${bytes(Number(e['truncated']))} cut]`), raw ?? '');
  if (pairs.length > 0) parts.push(paint('dim', pairs.join(' ')));
  return parts.filter((p) => p !== '').join(' ');
}

/** `ctl logs`: the lines, oldest first. */
export function renderLogsTail(r: LogsTailResult): string {
  return r.lines.length === 0 ? 'No log lines (at that level) yet.' : r.lines.map(renderLogEntry).join('\n');
}

function ms(n: number | null): string {
  if (n === null) return '-';
  return n < 10 ? `${n.toFixed(2)} ms` : n < 1000 ? `${n.toFixed(1)} ms` : `${(n / 1000).toFixed(2)} s`;
}

/** `ctl logs analyze`: the manual's figures, the top errors, tool latency, and what was read. */
export function renderLogsAnalyze(r: LogsAnalyzeResult): string {
  const read =
    r.files_read.length === 0
      ? 'no log files'
      : `${plural(r.lines_read, 'line')} in ${plural(r.files_read.length, 'file')} (${bytes(r.bytes_read)})`;
  const out = [
    paint('bold', `Logs, last ${r.hours} h`) +
      ` (${localTime(r.from)} \u2192 ${localTime(r.to)}): ${read}, ${r.ms < 1000 ? `${Math.round(r.ms)} ms` : `${(r.ms / 1000).toFixed(1)} s`}`,
    rows([
      ['errors', r.errors > 0 ? paint('red', String(r.errors)) : '0'],
      ['warnings', r.warnings > 0 ? paint('yellow', String(r.warnings)) : '0'],
      [
        'tool calls',
        `${r.tool_calls}${r.probe_calls > 0 ? paint('dim', `  (and ${r.probe_calls} by the daemon\u2019s probe, not counted)`) : ''}`,
      ],
      ['resource accesses', String(r.resource_accesses)],
      ['new learners', String(r.new_learners)],
    ]),
  ];
  if (r.top_errors.length > 0) {
    out.push('', paint('bold', `Top errors (of ${r.errors})`));
    for (const e of r.top_errors) {
      out.push(`  ${String(e.count).padStart(6)}  ${e.message}`);
      if (e.example !== e.message) out.push(paint('dim', `          e.g. ${e.example}`));
    }
  }
  if (r.tools.length > 0) {
    out.push('', paint('bold', 'Tool calls'));
    const body = r.tools.map((t) => [t.tool, String(t.calls), String(t.failed), ms(t.p50_ms), ms(t.p95_ms), ms(t.max_ms)]);
    out.push(
      table(['tool', 'calls', 'failed', 'p50', 'p95', 'max'], body)
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  const notes: string[] = [];
  if (r.unparsed_lines > 0) notes.push(`${plural(r.unparsed_lines, 'line')} without JSON and a time, not counted`);
  if (r.oversize_lines > 0) notes.push(`${plural(r.oversize_lines, 'line')} over 1 MiB, skipped`);
  if (r.ungrouped_errors > 0) notes.push(`${plural(r.ungrouped_errors, 'error')} not grouped (too many kinds)`);
  if (r.files_skipped > 0) notes.push(`${plural(r.files_skipped, 'older file')} not read (nothing in the window)`);
  for (const f of r.files_read)
    if (f.error !== null) notes.push(paint('yellow', `${name(f.file)} could not be read to its end (${f.error}); counted up to there`));
  if (notes.length > 0) out.push('', ...notes.map((n) => paint('dim', `  note: ${n}`)));
  return out.join('\n');
}
