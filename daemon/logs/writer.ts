import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger, type LevelWithSilent } from 'pino';

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
 */
export class LogWriter {
  readonly log: Logger;
  readonly file: string;
  private fd: number | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Set while writes fail; `status` can say so. */
  failure: LogWriteFailure | undefined;

  /** Called with every line written (the control API's `logs` subscription): also while the file cannot be written. */
  onLine: ((line: string) => void) | undefined;

  constructor(logsDir: string, level: LevelWithSilent) {
    this.file = join(logsDir, DAEMON_LOG);
    this.open();
    const stream = { write: (chunk: string): void => this.write(chunk) };
    this.log = pino(
      { name: 'mcp-starterd', level, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
      stream,
    );
  }

  private open(): boolean {
    if (this.fd !== undefined) return true;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.file, 'a', 0o600);
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
      writeSync(this.fd ?? -1, line);
    } catch {
      // still failing: the episode goes on, the next try is in a second
      this.closeFd();
      return;
    }
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    this.failure = undefined;
    this.onLine?.(line.trimEnd());
  }

  private write(chunk: string): void {
    this.onLine?.(chunk.trimEnd());
    if (this.failure) {
      this.failure.dropped++;
      return;
    }
    if (this.fd === undefined && !this.open()) return;
    try {
      writeSync(this.fd ?? -1, chunk);
    } catch (err) {
      this.failed(err);
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
    this.closeFd();
  }
}
