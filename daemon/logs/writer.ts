import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { AppError } from '../../shared/errors.js';
import type { LogsRotateResult } from '../../shared/schemas/rpc.js';
import { LogRotator, type Compressed, type RotationLimits } from './rotate.js';

export const DAEMON_LOG = 'mcp-starterd.log';

/** Why log lines are being dropped, while they are. */
export interface LogWriteFailure {
  code: string;
  since: string;
  dropped: number;
}

/**
 * The daemon's log file: its own events and the child's JSON lines, in one file, one JSON object
 * per line. Writes are synchronous: a line is on disk before the next event happens. A write
 * that fails (a full disk, a read-only or vanished folder) never takes the daemon down: the line
 * is dropped and counted, said once on stderr, and the writer tries again with the next line.
 *
 * With rotation limits, the writer rotates before a line would take the file past `maxBytes`:
 * the renames and the fresh open happen between two synchronous writes, so no line is lost,
 * split or reordered. A rotation that fails is logged once and writing goes on in the current
 * file; the next try is at the next multiple of `maxBytes`.
 */
export class LogWriter {
  readonly log: Logger;
  readonly file: string;
  /** The file shuffling and compression (undefined: the file is never rotated). */
  readonly rotator: LogRotator | undefined;
  private readonly rotationLog: Logger;
  private fd: number | undefined;
  /** The current file's size, as far as this writer knows (its size at open plus what it wrote). */
  private bytes = 0;
  /** Only a regular file is rotated (not /dev/full, a pipe, a terminal). */
  private isRegular = false;
  private isRotating = false;
  private rotateAtBytes = Infinity;
  /** Set while rotations fail, so the failure is logged once. */
  private rotateFailure: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Set while writes fail; `status` can say so. */
  failure: LogWriteFailure | undefined;

  /** Called with every line written (the control API's `logs` subscription): also while the file cannot be written. */
  onLine: ((line: string) => void) | undefined;
  /** Also gets every line (journald under systemd, daemon/logs/journal.ts): also while the file cannot be written. */
  mirror: ((line: string) => void) | undefined;

  constructor(logsDir: string, level: LevelWithSilent, limits?: RotationLimits) {
    this.file = join(logsDir, DAEMON_LOG);
    this.open();
    const stream = { write: (chunk: string): void => this.write(chunk) };
    this.log = pino(
      { name: 'mcp-starterd', level, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
      stream,
    );
    this.rotationLog = this.log.child({ component: 'logs' });
    if (!limits) return;
    this.rotator = new LogRotator(this.file, limits);
    this.rotateAtBytes = limits.maxBytes;
    this.rotator.on('compressed', (c) =>
      this.rotationLog.debug({ event: 'log_compressed', ...c }, `compressed ${c.from} (${c.bytes} bytes) to ${c.gzBytes} bytes`),
    );
    this.rotator.on('compressFailed', ({ file, error }) =>
      this.rotationLog.warn(
        { event: 'log_compress_failed', file, err: error },
        `could not compress the rotated log ${file}; it stays plain (and takes more room) until a later rotation tries again`,
      ),
    );
    this.rotator.removeStaleTemps();
    this.rotator.settle(this.bytes);
  }

  /** New limits (a config reload): they apply from the next line on. */
  setLimits(limits: RotationLimits): void {
    if (!this.rotator) return;
    this.rotator.limits = limits;
    this.rotateAtBytes = limits.maxBytes;
  }

  private open(): boolean {
    if (this.fd !== undefined) return true;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.file, 'a', 0o600);
      this.measure(this.fd);
      return true;
    } catch (err) {
      if (!this.failure) this.failed(err);
      return false;
    }
  }

  private failed(err: unknown): void {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    this.closeFd();
    if (this.failure) {
      this.failure.dropped++;
      return;
    }
    this.failure = { code, since: new Date().toISOString(), dropped: 1 };
    process.stderr.write(
      `mcp-starterd: cannot write the log file ${this.file} (${code}); dropping log lines until it works again. ` +
        'Free disk space (df -h) or fix the folder’s permissions; the service keeps running.\n',
    );
    // Once a second, try again with a line that says so; the first one that lands ends the episode.
    this.retryTimer = setInterval(() => this.tryResume(), 1_000);
    this.retryTimer.unref();
  }

  private tryResume(): void {
    const failure = this.failure;
    if (!failure || !this.open()) return;
    const line = `${JSON.stringify({
      level: 'warn',
      time: new Date().toISOString(),
      pid: process.pid,
      name: 'mcp-starterd',
      event: 'log_resumed',
      dropped: failure.dropped,
      code: failure.code,
      since: failure.since,
      msg: `log writes work again; ${failure.dropped} lines were dropped`,
    })}\n`;
    try {
      this.bytes += writeSync(this.fd ?? -1, line);
    } catch {
      // still failing: the episode goes on, the next try is in a second
      this.closeFd();
      return;
    }
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    this.failure = undefined;
    this.mirror?.(line.trimEnd());
    this.onLine?.(line.trimEnd());
  }

  private write(chunk: string): void {
    const line = chunk.trimEnd();
    this.mirror?.(line);
    this.onLine?.(line);
    if (this.failure) {
      this.failure.dropped++;
      return;
    }
    if (this.fd === undefined && !this.open()) return;
    if (this.isDue(Buffer.byteLength(chunk))) this.rotateQuietly();
    try {
      this.bytes += writeSync(this.fd ?? -1, chunk);
    } catch (err) {
      this.failed(err);
    }
  }

  private measure(fd: number): void {
    try {
      const st = fstatSync(fd);
      this.bytes = st.size;
      this.isRegular = st.isFile();
    } catch {
      this.isRegular = false; // cannot tell: never rotate what we cannot measure
    }
  }

  /** Whether this line would take the file past the threshold (a line alone in a file is never split off). */
  private isDue(lineBytes: number): boolean {
    return (
      this.rotator !== undefined && this.isRegular && !this.isRotating && this.bytes > 0 && this.bytes + lineBytes > this.rotateAtBytes
    );
  }

  private rotateQuietly(): void {
    try {
      this.rotate('size');
    } catch {
      // logged once by rotate(); the line goes to the current file, and the next threshold tries again
    }
  }

  /**
   * Rotates now, synchronously: the current file becomes `.1` and a fresh one is open when this
   * returns. Throws (after logging once) when it cannot; the current file is then unchanged.
   */
  rotate(reason: 'size' | 'request'): { rotatedTo: string; bytes: number; deleted: string[] } | undefined {
    const rotator = this.rotator;
    if (!rotator || this.fd === undefined || !this.isRegular || this.bytes === 0) return undefined;
    this.isRotating = true;
    const bytes = this.bytes;
    try {
      const { rotatedTo, deleted } = rotator.rotate();
      let fresh: number;
      try {
        fresh = openSync(this.file, 'a', 0o600);
      } catch (err) {
        rotator.restore(rotatedTo);
        throw err;
      }
      this.closeFd();
      this.fd = fresh;
      this.measure(fresh);
      this.rotateAtBytes = rotator.limits.maxBytes;
      this.rotateFailure = undefined;
      deleted.push(...rotator.settle(this.bytes));
      this.rotationLog.info(
        { event: 'log_rotated', reason, rotatedTo, bytes, deleted },
        `rotated the log (${bytes} bytes) to ${rotatedTo}${deleted.length > 0 ? `; deleted ${deleted.length} old files` : ''}`,
      );
      return { rotatedTo, bytes, deleted };
    } catch (err) {
      this.rotateFailed(err, reason, rotator.limits.maxBytes);
      throw err;
    } finally {
      this.isRotating = false;
    }
  }

  /** Logs a failed rotation once per episode; the next try is at the next multiple of `maxBytes`. */
  private rotateFailed(err: unknown, reason: 'size' | 'request', maxBytes: number): void {
    this.rotateAtBytes = (Math.floor(this.bytes / maxBytes) + 1) * maxBytes;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    if (this.rotateFailure === undefined) {
      this.rotationLog.warn(
        { event: 'log_rotate_failed', reason, code, err, nextTryAtBytes: this.rotateAtBytes },
        `could not rotate the log ${this.file} (${code}); writing on in it, trying again at ${this.rotateAtBytes} bytes. ` +
          `Check free space and the permissions of ${join(this.file, '..')}`,
      );
    }
    this.rotateFailure = code;
  }

  /** `logs.rotate`: rotates now, then waits for the compression it starts, and says what it did. */
  async rotateNow(): Promise<LogsRotateResult> {
    const compressed: string[] = [];
    const onCompressed = (c: Compressed): void => {
      compressed.push(c.to);
    };
    this.rotator?.on('compressed', onCompressed);
    try {
      let done: ReturnType<LogWriter['rotate']>;
      try {
        done = this.rotate('request');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
        throw new AppError('E_LOG_ROTATE', `Could not rotate the log file ${this.file} (${code}); the daemon keeps writing to it.`, {
          hint: `Check free space (\`df -h ${join(this.file, '..')}\`) and that nothing else owns the files in that folder, then try again.`,
          cause: err,
        });
      }
      await this.rotator?.idle();
      const files = this.rotator?.rotatedFiles() ?? [];
      return {
        rotated: done !== undefined,
        file: this.file,
        rotatedTo: done?.rotatedTo ?? null,
        bytes: done?.bytes ?? 0,
        compressed,
        deleted: done?.deleted ?? [],
        totalBytes: this.bytes + files.reduce((sum, f) => sum + f.bytes, 0),
      };
    } finally {
      this.rotator?.off('compressed', onCompressed);
    }
  }

  /** Appends a line that is already JSON (the child's own log line). */
  writeRaw(line: string): void {
    this.write(`${line}\n`);
  }

  /** Reopens the file (after rotation moved it). */
  reopen(): void {
    this.closeFd();
    this.open();
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed: nothing to release
    }
    this.fd = undefined;
  }

  close(): void {
    clearInterval(this.retryTimer);
    this.rotator?.close();
    this.closeFd();
  }
}
