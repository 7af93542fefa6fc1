import { closeLogFiles, HeadSplitter, linesBackward, openLogFiles, readLinesForward, type OpenLogFile } from './log-files.js';
import { entryKey, headBytesFor, isAtLeast, MAX_SHOWN_LINE_CHARS, parseLogLine, quickLevel, type LogEntry } from './log-line.js';

/**
 * The last lines of the logs (`logs.tail`, ctl's offline `logs`, and whatever else wants recent
 * lines, such as diagnose): newest first through the current file and as many rotated ones as it
 * takes, plain ones read backwards, `.gz` ones forwards into a bounded queue.
 */

/**
 * The most a `logs.tail` answer's lines may take as JSON: the control socket's line limit
 * (CONTROL_MAX_LINE_BYTES, 1 MiB) less room for the envelope and the other keys.
 */
export const TAIL_MAX_BYTES = 960 * 1024;

export interface RecentOptions {
  /** Lines wanted, at most. */
  count: number;
  /** pino level: only lines at or above it (lines without a level always pass). */
  minLevel?: number | undefined;
  /** The lines' JSON may take at most this (TAIL_MAX_BYTES: a `logs.tail` answer must fit one control-socket line). */
  maxBytes?: number;
  /** Longer lines are cut to this, saying so (`truncated`). */
  maxLineChars?: number;
  /** The current file is being written (the daemon reads it): a last line without its newline is left out. */
  isLive?: boolean;
}

export interface RecentLines {
  /** Oldest first. */
  lines: LogEntry[];
  /** Lines cut to `maxLineChars`. */
  cutLines: number;
  /** Fewer lines than `count`, because more would not fit `maxBytes`. */
  sizeLimited: boolean;
}

type Settings = Required<Omit<RecentOptions, 'minLevel'>> & Pick<RecentOptions, 'minLevel'>;

/** What is left to fill: lines, and bytes of their JSON. */
interface Room {
  count: number;
  bytes: number;
}

interface Kept {
  entry: LogEntry;
  bytes: number;
}

/** The line as an entry with its JSON size, or undefined when it is blank or below the level (known from its start without parsing, when pino wrote it). */
function keep(text: string, cutBytes: number | undefined, settings: Settings): Kept | undefined {
  const { minLevel } = settings;
  const quick = quickLevel(text);
  if (minLevel !== undefined && quick !== undefined && quick < minLevel) return undefined;
  if (text.trim() === '') return undefined;
  const entry = parseLogLine(text, cutBytes, settings.maxLineChars);
  if (!isAtLeast(entry, minLevel)) return undefined;
  return { entry, bytes: Buffer.byteLength(entryKey(entry)) + 1 };
}

/** How reading one file ended: `full` when no more lines fit the bytes; `broken` when it could not be read (older files are not tried). */
type Outcome = 'more' | 'full' | 'broken';

/** Lines of a plain file, last first, into `out` until `room` is used up. */
async function fromPlain(file: OpenLogFile, settings: Settings, room: Room, out: Kept[]): Promise<Outcome> {
  const lines = linesBackward(file, { keepBytes: headBytesFor(settings.maxLineChars), isLive: settings.isLive && file.slot === 0 });
  for await (const { head, bytes } of lines) {
    const kept = keep(head.toString('utf8'), bytes, settings);
    if (!kept) continue;
    if (kept.bytes > room.bytes) return 'full';
    out.push(kept);
    room.bytes -= kept.bytes;
    if (--room.count === 0) return 'more';
  }
  return 'more';
}

/**
 * The same for a `.gz`, which can only be read forwards: the newest lines that fit stay in a
 * queue. A corrupt or cut `.gz` ends the tail there: its newest lines are the ones it cannot
 * reach, and lines from before them would leave a hole in what is shown.
 */
async function fromGzip(file: OpenLogFile, settings: Settings, room: Room, out: Kept[]): Promise<Outcome> {
  const queue: Kept[] = [];
  let bytes = 0;
  let isBudgetCut = false;
  const splitter = new HeadSplitter(settings.maxLineChars + 1, (text, cutBytes) => {
    const kept = keep(text, cutBytes, settings);
    if (!kept) return;
    queue.push(kept);
    bytes += kept.bytes;
    while (queue.length > room.count || bytes > room.bytes) {
      if (queue.length <= room.count) isBudgetCut = true;
      bytes -= queue.shift()?.bytes ?? 0;
    }
  });
  try {
    await readLinesForward(file, splitter);
  } catch {
    return 'broken'; // see above: the lines shown stop at the newer files
  }
  out.push(...queue.reverse());
  room.count -= queue.length;
  room.bytes -= bytes;
  return isBudgetCut ? 'full' : 'more';
}

/**
 * The last `count` lines of the logs at or above `minLevel`, oldest first, across the current
 * file and as many rotated ones as it takes (`.gz` too). Lines over `maxLineChars` are cut and
 * say so; text that is not JSON is `{raw}`; the lines' JSON stays within `maxBytes`.
 */
export async function recentLines(logsDir: string, options: RecentOptions): Promise<RecentLines> {
  const settings: Settings = { maxBytes: TAIL_MAX_BYTES, maxLineChars: MAX_SHOWN_LINE_CHARS, isLive: false, ...options };
  const room: Room = { count: options.count, bytes: settings.maxBytes };
  const out: Kept[] = [];
  let outcome: Outcome = 'more';
  const files = await openLogFiles(logsDir);
  try {
    for (const file of files) {
      if (room.count <= 0 || outcome !== 'more') break;
      outcome = file.isCompressed ? await fromGzip(file, settings, room, out) : await fromPlain(file, settings, room, out);
    }
  } finally {
    await closeLogFiles(files);
  }
  const lines = out.map((k) => k.entry).reverse();
  return { lines, cutLines: lines.filter((e) => e['truncated'] !== undefined).length, sizeLimited: outcome === 'full' && room.count > 0 };
}
