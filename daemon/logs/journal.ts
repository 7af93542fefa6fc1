import { fstatSync, writeSync } from 'node:fs';

/**
 * journald's stream protocol: under systemd, `JOURNAL_STREAM` holds `<device>:<inode>` of the
 * stream stderr is connected to. Lines written there carry their priority as an `<N>` prefix
 * (sd-daemon(3)), so `journalctl -u mcp-starter -p warning` filters by level.
 */

/** syslog priorities of pino's level labels. */
const PRIORITY: Record<string, number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };
/** pino's numeric levels, for lines from a child that logs numbers. */
const NUMERIC: Record<number, string> = { 60: 'fatal', 50: 'error', 40: 'warn', 30: 'info', 20: 'debug', 10: 'trace' };
/** journald keeps lines up to LineMax (48 KiB by default) whole; ours stay well under it. */
const MAX_JOURNAL_LINE = 16 * 1024;

/**
 * Whether stderr is the journal stream systemd set up (not merely inherited JOURNAL_STREAM with
 * stderr redirected elsewhere, which systemd.exec(5) says to check).
 */
export function isJournalStream(env: NodeJS.ProcessEnv = process.env, fd = 2): boolean {
  const value = env.JOURNAL_STREAM;
  if (value === undefined) return false;
  const match = /^(\d+):(\d+)$/.exec(value);
  if (!match) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(match[1] ?? '') && st.ino === BigInt(match[2] ?? '');
  } catch {
    return false;
  }
}

/**
 * One JSON log line as journald shows it: `<prio>[component] message` followed by the JSON
 * itself, so nothing is lost and `journalctl -o cat` still reads. A line that is not JSON (a
 * child's stack trace) goes as it is, at `info`.
 */
export function journalLine(line: string): string {
  let prio = 6;
  let head = '';
  if (line.startsWith('{')) {
    try {
      const entry = JSON.parse(line) as { level?: unknown; msg?: unknown; component?: unknown; source?: unknown };
      const label = typeof entry.level === 'number' ? NUMERIC[entry.level] : entry.level;
      prio = PRIORITY[String(label)] ?? 6;
      const who = typeof entry.component === 'string' ? entry.component : typeof entry.source === 'string' ? entry.source : '';
      if (typeof entry.msg === 'string') head = `${who === '' ? '' : `[${who}] `}${entry.msg} `;
    } catch {
      // not JSON after all: sent as it is
    }
  }
  const text = `${head}${line}`.replace(/\n/g, ' ');
  return `<${prio}>${text.length > MAX_JOURNAL_LINE ? `${text.slice(0, MAX_JOURNAL_LINE)}…` : text}\n`;
}

/** Writes each line to the journal too, when the daemon runs under systemd; a failed write is dropped (the file has the line). */
export function journalMirror(env: NodeJS.ProcessEnv = process.env): ((line: string) => void) | undefined {
  if (!isJournalStream(env)) return undefined;
  return (line) => {
    try {
      writeSync(2, journalLine(line));
    } catch {
      // journald gone or the stream full: the file keeps the line, the journal misses it
    }
  };
}
