import type { LogsAnalyzeResult, ToolLatency } from './schemas/logs.js';
import { closeLogFiles, HeadSplitter, openLogFiles, readLinesForward, type OpenLogFile } from './log-files.js';
import { LatencyHistogram } from './latency-histogram.js';
import { LOG_LEVELS, levelOf } from './log-line.js';

/**
 * `logs analyze`: the manual's figures (errors, warnings, the top 5 errors, tool calls, resource
 * accesses, new learners) and per-tool latency over the last H hours of the log files, rotated
 * and compressed ones included. It streams: its state is bounded whatever the log's size (a
 * fixed histogram per tool, capped groups and tools, over-long lines skipped without being held).
 */

/** A line longer than this is skipped and counted, never held whole. */
export const MAX_ANALYZED_LINE_CHARS = 1024 * 1024;
/** Distinct error groups tracked; past it, errors are still counted but not grouped. */
export const MAX_ERROR_GROUPS = 1000;
/** Distinct tools tracked; past it, calls go to `(other)` (the server has seven tools). */
export const MAX_TOOLS = 64;
const TOP_ERRORS = 5;
/** Raw error messages (short ones) remembered with their group; cleared when full, so bounded. */
const NORMALISED_CACHE = 4096;
const MAX_MESSAGE_CHARS = 300;
const OTHER_TOOL = '(other)';

const NORMALISE: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/"(?:[^"\\]|\\.)*"|'(?:[^'\\\s]|\\.)(?:[^'\\]|\\.)*'/g, '<str>'],
  [/(?:[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+)/gi, '<url>'],
  [/(?:~|\.{1,2})?(?:\/[\w.@+-]+){2,}\/?|(?:~|\.{1,2})\/[\w.@+-]+/g, '<path>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'],
  [/(?<![A-Za-z<])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi, '<n>'],
  [/\s+/g, ' '],
];

/**
 * An error message with what varies between occurrences (times, UUIDs, quoted text, URLs,
 * paths, hex ids, numbers) replaced by placeholders, so one kind of error is one group.
 */
export function normaliseMessage(message: string): string {
  let text = message.length > 4 * MAX_MESSAGE_CHARS ? message.slice(0, 4 * MAX_MESSAGE_CHARS) : message;
  for (const [pattern, placeholder] of NORMALISE) text = text.replace(pattern, placeholder);
  return cut(text.trim());
}

function cut(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}\u2026` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An error line's message: `msg`, and the error's own message (pino's `err`) when it says more. */
function errorText(line: Record<string, unknown>): string {
  const msg = typeof line['msg'] === 'string' ? line['msg'] : typeof line['event'] === 'string' ? line['event'] : '(no message)';
  const err = line['err'] ?? line['error'];
  const errMessage = isRecord(err) && typeof err['message'] === 'string' ? err['message'] : typeof err === 'string' ? err : undefined;
  return errMessage === undefined || errMessage === '' || msg.includes(errMessage) ? msg : `${msg}: ${errMessage}`;
}

const ISO_LENGTH = 24; // 2026-11-25T14:03:00.000Z, as pino's isoTime and toISOString write it

/** A line's time in ms; undefined when it has none that parses. */
function timeMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

const TIME_KEY = '"time":"';
/** Where 2026-11-25T14:03:00.000Z" has its fixed characters (the closing quote included). */
const ISO_SHAPE: ReadonlyArray<readonly [number, number]> = [
  [ISO_LENGTH, 0x22],
  [23, 0x5a],
  [4, 0x2d],
  [7, 0x2d],
  [10, 0x54],
  [13, 0x3a],
  [16, 0x3a],
  [19, 0x2e],
];

/** The line's `time` when pino wrote it (`"time":"…Z"`), read without parsing the line. */
function quickIsoTime(text: string): string | undefined {
  const i = text.indexOf(TIME_KEY);
  if (i < 0 || i > 200) return undefined;
  const start = i + TIME_KEY.length;
  // "…Z" with the dashes, T, colons and dot where toISOString puts them: then comparing as text is comparing times.
  for (const [offset, code] of ISO_SHAPE) if (text.charCodeAt(start + offset) !== code) return undefined;
  return text.slice(start, start + ISO_LENGTH);
}

interface ToolStats {
  calls: number;
  failed: number;
  latency: LatencyHistogram;
}

interface ErrorGroup {
  count: number;
  example: string;
}

/** The counting, line by line, with bounded state; `analyzeLogs` feeds it the files. */
export class LogAnalysis {
  errors = 0;
  warnings = 0;
  toolCalls = 0;
  resourceAccesses = 0;
  newLearners = 0;
  probeCalls = 0;
  linesRead = 0;
  linesInWindow = 0;
  unparsedLines = 0;
  oversizeLines = 0;
  ungroupedErrors = 0;
  private readonly groups = new Map<string, ErrorGroup>();
  private readonly tools = new Map<string, ToolStats>();
  private readonly normalised = new Map<string, string>();
  private readonly fromIso: string;
  private readonly toIso: string;

  /** The window is [fromMs, toMs]: a past week's report leaves out what came after it. */
  constructor(
    private readonly fromMs: number,
    // 9999-12-31T23:59:59.999Z: the last time whose ISO text compares as a time (a 6-digit year would not).
    private readonly toMs = 253_402_300_799_999,
  ) {
    this.fromIso = new Date(fromMs).toISOString();
    this.toIso = new Date(toMs).toISOString();
  }

  /** One line of a log file (without its newline). */
  line(text: string): void {
    this.linesRead++;
    // Most lines of a long log are older than the window: pino's time, compared as text, skips them unparsed.
    const iso = quickIsoTime(text);
    if (iso !== undefined && (iso < this.fromIso || iso > this.toIso)) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (text.trim() !== '') this.unparsedLines++;
      return;
    }
    if (!isRecord(value)) {
      this.unparsedLines++;
      return;
    }
    // The text compared above is the line's time (pino's, in the window): no need to parse it as a date.
    if (iso === undefined || value['time'] !== iso) {
      const atMs = timeMs(value['time']);
      if (atMs === undefined) {
        this.unparsedLines++;
        return;
      }
      if (atMs < this.fromMs || atMs > this.toMs) return;
    }
    this.linesInWindow++;
    this.count(value);
  }

  /** A line longer than MAX_ANALYZED_LINE_CHARS, skipped. */
  oversize(): void {
    this.linesRead++;
    this.oversizeLines++;
  }

  private count(line: Record<string, unknown>): void {
    const level = levelOf(line);
    if (level !== undefined && level >= LOG_LEVELS.error) {
      this.errors++;
      this.group(errorText(line));
    } else if (level !== undefined && level >= LOG_LEVELS.warn) {
      this.warnings++;
    }
    const event = line['event'];
    if (line['probe'] === true) {
      // The daemon's probe is not a learner (DESIGN.md): its calls are counted apart, never as tool calls.
      if (event === 'tool_call') this.probeCalls++;
      return;
    }
    if (event === 'tool_call') this.toolCall(line);
    else if (event === 'resource_access') this.resourceAccesses++;
    else if (event === 'new_learner') this.newLearners++;
  }

  private group(message: string): void {
    // The same message text comes again and again (a failing dependency): normalise it once.
    let key = this.normalised.get(message);
    if (key === undefined) {
      key = normaliseMessage(message);
      if (this.normalised.size >= NORMALISED_CACHE) this.normalised.clear();
      if (message.length <= 4 * MAX_MESSAGE_CHARS) this.normalised.set(message, key);
    }
    const group = this.groups.get(key);
    if (group) group.count++;
    else if (this.groups.size < MAX_ERROR_GROUPS) this.groups.set(key, { count: 1, example: cut(message) });
    else this.ungroupedErrors++;
  }

  private toolCall(line: Record<string, unknown>): void {
    this.toolCalls++;
    const name = typeof line['tool'] === 'string' && line['tool'] !== '' ? line['tool'].slice(0, 100) : '(unknown)';
    // The last place is kept for `(other)`, so the tools never take more than MAX_TOOLS histograms.
    const key = this.tools.has(name) || this.tools.size < MAX_TOOLS - 1 ? name : OTHER_TOOL;
    let stats = this.tools.get(key);
    if (!stats) {
      stats = { calls: 0, failed: 0, latency: new LatencyHistogram() };
      this.tools.set(key, stats);
    }
    stats.calls++;
    if (line['ok'] === false) stats.failed++;
    if (typeof line['ms'] === 'number') stats.latency.add(line['ms']);
  }

  /** The five largest groups, ties by message. */
  topErrors(): LogsAnalyzeResult['top_errors'] {
    return [...this.groups]
      .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_ERRORS)
      .map(([message, g]) => ({ message, count: g.count, example: g.example }));
  }

  toolLatencies(): ToolLatency[] {
    const round = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 100) / 100);
    return [...this.tools]
      .sort((a, b) => b[1].calls - a[1].calls || (a[0] < b[0] ? -1 : 1))
      .map(([tool, s]) => ({
        tool,
        calls: s.calls,
        failed: s.failed,
        p50_ms: round(s.latency.quantile(0.5)),
        p95_ms: round(s.latency.quantile(0.95)),
        max_ms: s.latency.count === 0 ? null : round(s.latency.max),
      }));
  }
}

export interface AnalyzeOptions {
  hours: number;
  /** The end of the window (now). */
  nowMs?: number;
  /** The daemon reads the file it writes: a last line without its newline is left for the next analysis. */
  isLive?: boolean;
}

/** Reads one file into the analysis; the reason it stopped early, if it did. */
async function analyzeFile(file: OpenLogFile, analysis: LogAnalysis, isLive: boolean): Promise<string | null> {
  const splitter = new HeadSplitter(MAX_ANALYZED_LINE_CHARS, (text, cutBytes) => {
    if (cutBytes === undefined) analysis.line(text);
    else analysis.oversize();
  });
  try {
    await readLinesForward(file, splitter, { isLive: isLive && file.slot === 0 });
    return null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `${e.code ?? 'error'}: ${e.message}`;
  }
}

/** The analysis of the last `hours` of the log files in `logsDir` (none there: all zeros). */
export async function analyzeLogs(logsDir: string, options: AnalyzeOptions): Promise<LogsAnalyzeResult> {
  const t0 = performance.now();
  const nowMs = options.nowMs ?? Date.now();
  const fromMs = nowMs - options.hours * 3_600_000;
  const analysis = new LogAnalysis(fromMs, nowMs);
  const files = await openLogFiles(logsDir);
  const filesRead: LogsAnalyzeResult['files_read'] = [];
  let skipped = 0;
  let bytesRead = 0;
  try {
    // Oldest first, so each group's example is its first occurrence; a file last written before the window holds none of it.
    for (const file of [...files].reverse()) {
      if (file.modifiedMs < fromMs) {
        skipped++;
        continue;
      }
      const error = await analyzeFile(file, analysis, options.isLive === true);
      filesRead.push({ file: file.path, bytes: file.size, compressed: file.isCompressed, error });
      bytesRead += file.size;
    }
  } finally {
    await closeLogFiles(files);
  }
  return {
    hours: options.hours,
    errors: analysis.errors,
    warnings: analysis.warnings,
    top_errors: analysis.topErrors(),
    tool_calls: analysis.toolCalls,
    resource_accesses: analysis.resourceAccesses,
    new_learners: analysis.newLearners,
    from: new Date(fromMs).toISOString(),
    to: new Date(nowMs).toISOString(),
    tools: analysis.toolLatencies(),
    probe_calls: analysis.probeCalls,
    lines_read: analysis.linesRead,
    lines_in_window: analysis.linesInWindow,
    unparsed_lines: analysis.unparsedLines,
    oversize_lines: analysis.oversizeLines,
    ungrouped_errors: analysis.ungroupedErrors,
    files_read: filesRead,
    files_skipped: skipped,
    bytes_read: bytesRead,
    ms: Math.round((performance.now() - t0) * 10) / 10,
  };
}
