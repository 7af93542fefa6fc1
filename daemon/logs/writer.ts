import { join } from 'node:path';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export const DAEMON_LOG = 'mcp-starterd.log';

/**
 * The daemon's log file: its own events and the child's JSON lines, in one file, one JSON object
 * per line. Writes are synchronous: a line is on disk before the next event happens.
 */
export class LogWriter {
  readonly log: Logger;
  readonly file: string;
  private readonly dest;

  /** Called with every line written (the control API's `logs` subscription). */
  onLine: ((line: string) => void) | undefined;

  constructor(logsDir: string, level: LevelWithSilent) {
    this.file = join(logsDir, DAEMON_LOG);
    this.dest = pino.destination({ dest: this.file, sync: true, mkdir: true, append: true });
    const stream = { write: (chunk: string): void => this.write(chunk) };
    this.log = pino(
      { name: 'mcp-starterd', level, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
      stream,
    );
  }

  private write(chunk: string): void {
    this.dest.write(chunk);
    this.onLine?.(chunk.trimEnd());
  }

  /** Appends a line that is already JSON (the child's own log line). */
  writeRaw(line: string): void {
    this.write(`${line}\n`);
  }

  /** Reopens the file (after rotation moved it). */
  reopen(): void {
    this.dest.reopen();
  }

  close(): void {
    this.dest.flushSync();
    this.dest.end();
  }
}
