/**
 * One line of the daemon's log files as the log commands see it: the JSON object pino wrote, or
 * the text of a line that is not one (a crash dump, a hand edit), never an exception. Shared by
 * the daemon's `logs.tail`, ctl's `logs -f` and the offline readers, so that a line read from a
 * file and the same line pushed on the `logs` topic become the same entry (that is how `-f`
 * drops the overlap between its tail and its stream).
 */

/** pino's levels: a line's `level` is the label (this project's loggers) or the number (pino's default). */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LogLevelLabel = keyof typeof LOG_LEVELS;

/** A log line as an entry: its own keys; `raw` holds text that is not a JSON object; `truncated` the size of a cut line. */
export type LogEntry = Record<string, unknown>;

/** A line longer than this (in UTF-16 units, as JS counts) is shown cut to it: a tail answer must fit the control socket's line. */
export const MAX_SHOWN_LINE_CHARS = 16 * 1024;

/** Bytes a reader keeps of a line's start so that it can always show `maxChars` of it (UTF-8: at most 3 bytes per UTF-16 unit). */
export function headBytesFor(maxChars: number): number {
  return 3 * maxChars + 3;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A line's numeric level; undefined when it has none we know (a raw line). */
export function levelOf(entry: LogEntry): number | undefined {
  const level = entry['level'];
  if (typeof level === 'number') return level;
  if (typeof level === 'string' && Object.hasOwn(LOG_LEVELS, level)) return LOG_LEVELS[level as LogLevelLabel];
  return undefined;
}

/** Whether the line passes `--level`: its level is at least `minLevel`. Lines without a level (text) always pass: a crash dump is worth seeing. */
export function isAtLeast(entry: LogEntry, minLevel: number | undefined): boolean {
  if (minLevel === undefined) return true;
  const level = levelOf(entry);
  return level === undefined || level >= minLevel;
}

const HEAD_LEVEL = /^\{\s*"level"\s*:\s*(?:"([a-z]+)"|(\d+))/;

/**
 * The level pino puts first on a line, read without parsing the line (undefined: not there, so
 * parse to know). Lets a `--level error` tail skip the info lines of a large file quickly.
 */
export function quickLevel(text: string): number | undefined {
  const m = HEAD_LEVEL.exec(text);
  if (!m) return undefined;
  if (m[2] !== undefined) return Number(m[2]);
  const label = m[1] ?? '';
  return Object.hasOwn(LOG_LEVELS, label) ? LOG_LEVELS[label as LogLevelLabel] : undefined;
}

const HEAD_FIELD = /"(level|time|name|component|event|pid)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)/g;

/** The fields that say where and when a line is from, found in the start of a line too long to parse whole. */
function headFields(head: string): LogEntry {
  const fields: LogEntry = {};
  for (const m of head.matchAll(HEAD_FIELD)) {
    const key = m[1] ?? '';
    if (Object.hasOwn(fields, key)) continue;
    try {
      fields[key] = JSON.parse(m[2] ?? '') as unknown;
    } catch {
      // a value cut mid-escape: leave it out
    }
  }
  return fields;
}

/**
 * The entry for one line. `text` is the line, or its start when a reader kept only that;
 * `totalBytes` is the whole line's UTF-8 size. A line over `maxChars` is cut: its where-and-when
 * fields, `raw` (its first `maxChars`), `truncated` (its size in bytes). Text that is not a JSON
 * object is `{raw}`. Deterministic, so the same line gives the same entry wherever it is read.
 */
export function parseLogLine(text: string, totalBytes?: number, maxChars = MAX_SHOWN_LINE_CHARS): LogEntry {
  // The `logs` stream carries lines without their trailing whitespace; a file may have it (a \r).
  const line = text.trimEnd();
  if (line.length > maxChars) {
    const head = line.slice(0, maxChars);
    const bytes = totalBytes ?? Buffer.byteLength(line);
    return head.trimStart().startsWith('{') ? { ...headFields(head), raw: head, truncated: bytes } : { raw: head, truncated: bytes };
  }
  const trimmed = line.trimStart();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (isRecord(value)) return value;
    } catch {
      // not JSON after all: shown as text
    }
  }
  return { raw: line };
}

/** The same entry as text, for comparing entries (JSON keeps key order, so equal lines give equal text). */
export function entryKey(entry: LogEntry): string {
  return JSON.stringify(entry);
}
