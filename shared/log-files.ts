import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AppError } from './errors.js';

/**
 * The daemon's log files as readers see them: which exist (newest first), the lines of one read
 * backwards in chunks, and every line of one read forwards (gzip included), never holding a whole
 * file or a whole over-long line. log-recent.ts (`logs.tail`) and log-analyze.ts build on it.
 * The files are written and rotated by daemon/logs/writer.ts and rotate.ts: `mcp-starterd.log`
 * (current), `.1` (plain), `.2.gz` … `.<keep>.gz`.
 */

/** daemon/logs/writer.ts's DAEMON_LOG (test/log-tail.test.ts keeps them equal; shared/ does not import the daemon). */
export const LOG_FILE = 'mcp-starterd.log';

export interface LogFile {
  path: string;
  /** 0: the current file; n: `.n` or `.n.gz`. */
  slot: number;
  isCompressed: boolean;
  bytes: number;
  /** When it was last written: no line in it is newer (a `.gz` was written when compressed, later still). */
  modifiedMs: number;
}

const ROTATED = /^mcp-starterd\.log\.(\d+)(\.gz)?$/;

/** A logs folder or file this process may not read (ctl run as another user than the daemon's). */
function unreadable(path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EACCES' && code !== 'EPERM') return err;
  return new AppError('E_DATA_DIR', `Cannot read the log files: permission denied on ${path}.`, {
    hint: 'The logs are private to the user that runs mcp-starterd: run mcp-starterctl as that user (e.g. `sudo -u mcp-starter mcp-starterctl logs`).',
    cause: err,
  });
}

/** The log files of a logs folder, newest first; none when the folder does not exist (yet). */
export async function listLogFiles(logsDir: string): Promise<LogFile[]> {
  let names: string[];
  try {
    names = await readdir(logsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw unreadable(logsDir, err);
  }
  const bySlot = new Map<number, { name: string; isCompressed: boolean }>();
  for (const name of names) {
    const m = name === LOG_FILE ? ['', '0'] : ROTATED.exec(name);
    if (!m) continue;
    const slot = Number(m[1]);
    const isCompressed = m[2] !== undefined;
    // `.n` and `.n.gz` side by side: a compression just renamed its output in and is about to remove the plain one.
    if (!bySlot.has(slot) || isCompressed) bySlot.set(slot, { name, isCompressed });
  }
  const files: LogFile[] = [];
  for (const [slot, { name, isCompressed }] of [...bySlot].sort((a, b) => a[0] - b[0])) {
    const path = join(logsDir, name);
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile()) files.push({ path, slot, isCompressed, bytes: st.size, modifiedMs: st.mtimeMs });
  }
  return files;
}

/** A log file held open: a rotation meanwhile renames or deletes it, and the reader still reads what it opened. */
export interface OpenLogFile extends LogFile {
  handle: FileHandle;
  /** Bytes to read: the size when it was opened (the current file grows while it is read). */
  size: number;
}

/** Opens the files `listLogFiles` names; throws what open throws, after closing what it opened. */
async function openListed(files: readonly LogFile[]): Promise<Array<OpenLogFile & { ino: number }>> {
  const opened: Array<OpenLogFile & { ino: number }> = [];
  try {
    for (const f of files) {
      const handle = await open(f.path, 'r').catch((err: unknown) => {
        throw unreadable(f.path, err);
      });
      const st = await handle.stat().catch(async (err: unknown) => {
        await handle.close();
        throw err;
      });
      opened.push({ ...f, handle, size: st.size, ino: st.ino });
    }
    return opened;
  } catch (err) {
    await closeLogFiles(opened);
    throw err;
  }
}

/**
 * The log files, newest first, open. A rotation between listing and opening would shift names
 * under us (and could make one file read twice or skipped), so after opening, the names are
 * checked again and, if any now names another file, it starts over (a few times, then it goes on
 * with what it has: a rotation every few milliseconds is not a state to wait out).
 */
export async function openLogFiles(logsDir: string): Promise<OpenLogFile[]> {
  for (let attempt = 1; ; attempt++) {
    const listed = await listLogFiles(logsDir);
    let opened: Array<OpenLogFile & { ino: number }>;
    try {
      opened = await openListed(listed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
      throw err;
    }
    const again = await Promise.all(opened.map((f) => stat(f.path).catch(() => undefined)));
    if (attempt >= 5 || again.every((st, i) => st?.ino === opened[i]?.ino)) return opened;
    await closeLogFiles(opened);
  }
}

export async function closeLogFiles(files: readonly OpenLogFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
}

/** One line read backwards: its start (up to the reader's `keepBytes`) and its whole size. */
export interface BackwardLine {
  head: Buffer;
  bytes: number;
}

/**
 * The lines of a plain file, last first, read in chunks from the end. An over-long line costs
 * `keepBytes` of memory, not its length: only its start is kept. With `isLive`, a last line
 * without its newline is being written and is left out (it comes on the `logs` stream).
 */
export async function* linesBackward(
  file: OpenLogFile,
  options: { keepBytes: number; chunkBytes?: number; isLive?: boolean },
): AsyncGenerator<BackwardLine> {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const chunk = Buffer.allocUnsafe(chunkBytes);
  let pos = file.size;
  /** The start of the line being assembled (its bytes after this chunk), at most keepBytes of it, and its size so far. */
  let carry = EMPTY;
  let carryBytes = 0;
  /** Set from the last byte: the line after the last newline is still being written. */
  let isPartialNext: boolean | undefined;
  while (pos > 0) {
    const len = Math.min(chunkBytes, pos);
    pos -= len;
    const { bytesRead } = await file.handle.read(chunk, 0, len, pos);
    if (bytesRead < len) return; // cut short under us (someone truncated the file): what is left is not what was listed
    const buf = chunk.subarray(0, len);
    isPartialNext ??= options.isLive === true && buf[len - 1] !== 0x0a;
    let end = len;
    for (let nl = buf.lastIndexOf(0x0a, end - 1); nl >= 0; nl = end > 0 ? buf.lastIndexOf(0x0a, end - 1) : -1) {
      const bytes = end - (nl + 1) + carryBytes;
      const head = isPartialNext || bytes === 0 ? EMPTY : keepStart(buf.subarray(nl + 1, end), carry, options.keepBytes);
      end = nl;
      carry = EMPTY;
      carryBytes = 0;
      if (isPartialNext) isPartialNext = false;
      else if (bytes > 0) yield { head, bytes };
    }
    if (end > 0) {
      carry = keepStart(buf.subarray(0, end), carry, options.keepBytes);
      carryBytes += end;
    }
  }
  if (carryBytes > 0 && isPartialNext !== true) yield { head: carry, bytes: carryBytes };
}

const EMPTY: Buffer = Buffer.alloc(0);

/** `before` then `after`, cut to its first `keepBytes` (a copy: the chunk buffer is reused). */
function keepStart(before: Buffer, after: Buffer, keepBytes: number): Buffer {
  if (before.length >= keepBytes) return Buffer.from(before.subarray(0, keepBytes));
  const tail = after.subarray(0, keepBytes - before.length);
  return Buffer.concat([before, tail], before.length + tail.length);
}

/**
 * Splits decoded text into lines, keeping at most `keepChars` of any line: a longer one is
 * handed on as its start and its whole size in bytes, without ever being held whole.
 */
export class HeadSplitter {
  private buf = '';
  private isCutting = false;
  private cutHead = '';
  private cutBytes = 0;

  constructor(
    private readonly keepChars: number,
    private readonly onLine: (text: string, cutBytes: number | undefined) => void,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, i);
      start = i + 1;
      if (this.isCutting) {
        this.cutBytes += Buffer.byteLength(piece);
        this.emitCut();
        continue;
      }
      const line = this.buf === '' ? piece : this.buf + piece;
      this.buf = '';
      if (line.length > this.keepChars) this.onLine(line.slice(0, this.keepChars), Buffer.byteLength(line));
      else this.onLine(line, undefined);
    }
    const rest = chunk.slice(start);
    if (this.isCutting) {
      this.cutBytes += Buffer.byteLength(rest);
      return;
    }
    this.buf += rest;
    if (this.buf.length <= this.keepChars) return;
    this.isCutting = true;
    this.cutHead = this.buf.slice(0, this.keepChars);
    this.cutBytes = Buffer.byteLength(this.buf);
    this.buf = '';
  }

  /** The text ended; a last line without its newline is a line too, unless `dropPartial` (a file being written). */
  end(dropPartial = false): void {
    if (!dropPartial) {
      if (this.isCutting) this.emitCut();
      else if (this.buf !== '') this.onLine(this.buf, undefined);
    }
    this.buf = '';
    this.isCutting = false;
  }

  private emitCut(): void {
    const head = this.cutHead;
    const bytes = this.cutBytes;
    this.isCutting = false;
    this.cutHead = '';
    this.cutBytes = 0;
    this.onLine(head, bytes);
  }
}

/** A file's content as text, decompressed when it is a `.gz`, read up to the size it had when opened. */
function textStream(file: OpenLogFile): Readable {
  // 64 KiB at a time: as fast as larger reads here, and the daemon's event loop waits at most ~1 ms for each.
  const raw = file.handle.createReadStream({ start: 0, end: file.size - 1, autoClose: false, highWaterMark: 64 * 1024 });
  if (!file.isCompressed) return raw.setEncoding('utf8');
  const gunzip = createGunzip();
  raw.on('error', (err) => gunzip.destroy(err));
  return raw.pipe(gunzip).setEncoding('utf8');
}

/**
 * Every line of a file, first to last, through `splitter`. Throws when the file cannot be read
 * (a corrupt or cut `.gz`); the lines before the fault have been handed on. With `isLive`, a last
 * line without its newline is being written and is left out.
 */
export async function readLinesForward(file: OpenLogFile, splitter: HeadSplitter, options: { isLive?: boolean } = {}): Promise<void> {
  if (file.size === 0) return;
  let last = '';
  for await (const chunk of textStream(file)) {
    const text = chunk as string;
    if (text.length === 0) continue;
    splitter.push(text);
    last = text;
  }
  splitter.end(options.isLive === true && !file.isCompressed && !last.endsWith('\n'));
}
