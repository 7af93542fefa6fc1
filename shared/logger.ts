import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** The program or component, logged as `name` on every line. */
  name: string;
  level?: LevelWithSilent;
  /** A file path to append to, or a file descriptor; stderr (fd 2) by default, never stdout. */
  destination?: string | number;
}

/**
 * The one logger factory: JSON lines with an ISO time, the pid and the program name. Writes are
 * synchronous so that a line logged just before a crash or `process.exit` is not lost.
 */
export function createLogger(options: LoggerOptions): Logger {
  const dest = pino.destination({ dest: options.destination ?? 2, sync: true, mkdir: typeof options.destination === 'string' });
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}
