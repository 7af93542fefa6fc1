import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { DiagnoseLogLine } from '../schemas/diagnose.js';

/**
 * The end of the daemon's log, read backwards in chunks and bounded in bytes: what diagnose needs
 * (the last error lines, the events of the last minutes or hours) without reading a 100 MB file.
 * The current file first, then `.1` (the newest rotated one, still plain text) while the window
 * and the byte budget last.
 *
 * A small reader of its own: shared/log-files.ts (the logs work, issue 9) had not landed when this
 * was written; once it has, diagnose can read through it instead.
 */

/** One parsed line. */
export interface LogEntry {
  time: string | undefined;
  /** NaN when the line has no time. */
  timeMs: number;
  level: string;
  source: string;
  event: string | undefined;
  message: string;
  fields: Record<string, unknown>;
}

export interface LogTail {
  /** The lines the filter kept, newest first. */
  entries: LogEntry[];
  /** Time of the newest line of all (kept or not). */
  newestTime: string | undefined;
  /** The files read (none when there is no log yet). */
  files: string[];
  /** Stopped at the byte budget before reaching the window's start. */
  truncated: boolean;
}

const CHUNK_BYTES = 64 * 1024;
/** A longer line is not one of ours (pino writes one short object per line); it is skipped. */
const MAX_LINE_BYTES = 256 * 1024;
const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function levelOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return PINO_LEVELS[value] ?? String(value);
  return 'info';
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A field as text, for fields that are strings or numbers (undefined for anything else). */
export function fieldText(fields: Record<string, unknown>, key: string): string | undefined {
  const value = fields[key];
  return typeof value === 'number' ? String(value) : text(value);
}

/** The line's message, with the error it carries when the message does not already say it. */
function messageOf(fields: Record<string, unknown>): string {
  const msg = text(fields['msg']) ?? '';
  const err = fields['err'];
  const errText =
    text(fields['error']) ?? (typeof err === 'object' && err !== null ? text((err as { message?: unknown }).message) : undefined);
  if (errText === undefined || msg.includes(errText)) return msg;
  return msg === '' ? errText : `${msg}: ${errText}`;
}

export function parseLogLine(line: string): LogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  let fields: unknown;
  try {
    fields = JSON.parse(line);
  } catch {
    return undefined; // a line cut by a crash, or not ours
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  const f = fields as Record<string, unknown>;
  const time = text(f['time']);
  const name = text(f['name']) ?? 'unknown';
  const component = text(f['component']);
  return {
    time,
    timeMs: time === undefined ? NaN : Date.parse(time),
    level: levelOf(f['level']),
    source: component === undefined ? name : `${name}/${component}`,
    event: text(f['event']),
    message: messageOf(f),
    fields: f,
  };
}

/** Reads one file backwards; returns false once `keep` says stop or the budget is spent. */
function readBackwards(file: string, budget: { bytes: number }, keep: (line: string) => boolean): boolean | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    let position = fstatSync(fd).size;
    let rest = Buffer.alloc(0);
    const buffer = Buffer.alloc(CHUNK_BYTES);
    while (position > 0) {
      if (budget.bytes <= 0) return false;
      const size = Math.min(CHUNK_BYTES, position, budget.bytes);
      position -= size;
      budget.bytes -= size;
      readSync(fd, buffer, 0, size, position);
      let data = Buffer.concat([buffer.subarray(0, size), rest]);
      let end = data.length;
      for (let i = data.lastIndexOf(0x0a, end - 1); i >= 0; i = end > 0 ? data.lastIndexOf(0x0a, end - 1) : -1) {
        const line = data.toString('utf8', i + 1, end);
        end = i;
        if (line !== '' && !keep(line)) return false;
      }
      data = data.subarray(0, end);
      rest = data.length > MAX_LINE_BYTES ? Buffer.alloc(0) : Buffer.from(data);
    }
    if (rest.length > 0 && !keep(rest.toString('utf8'))) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

/** A pino line's time, found without parsing the line (it comes first, after level). */
const TIME = /"time":"([^"]{10,40})"/;

/**
 * The log's lines from the newest back to `sinceMs` (lines are written in time order, so the
 * first older line ends the read), at most `maxBytes` read over both files. Only lines that
 * `wanted` accepts (a test on the raw text) are parsed: a busy server writes mostly lines a
 * diagnosis does not look at, and parsing them all would hold the daemon's event loop.
 */
export function readLogTail(file: string, options: { sinceMs: number; maxBytes: number; wanted: (line: string) => boolean }): LogTail {
  const entries: LogEntry[] = [];
  const files: string[] = [];
  const budget = { bytes: options.maxBytes };
  let newestTime: string | undefined;
  let reachedStart = false;
  // pino's isoTime is UTC with milliseconds: such times compare as text, no Date.parse per line.
  const since = new Date(options.sinceMs).toISOString();
  const keep = (line: string): boolean => {
    const time = TIME.exec(line)?.[1];
    if (time === undefined) return true;
    newestTime ??= time;
    if (time < since) {
      reachedStart = true;
      return false;
    }
    if (!options.wanted(line)) return true;
    const entry = parseLogLine(line);
    if (entry) entries.push(entry);
    return true;
  };
  for (const f of [file, `${file}.1`]) {
    const done = readBackwards(f, budget, keep);
    if (done === undefined) continue;
    files.push(f);
    if (!done) break;
  }
  return { entries, newestTime, files, truncated: !reachedStart && budget.bytes <= 0 };
}

export const isErrorLevel = (level: string): boolean => level === 'error' || level === 'fatal';

export function toLogLine(entry: LogEntry): DiagnoseLogLine {
  return { time: entry.time ?? null, level: entry.level, source: entry.source, event: entry.event ?? null, message: entry.message };
}
