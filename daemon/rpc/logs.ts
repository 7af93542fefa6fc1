import { dirname } from 'node:path';
import { analyzeLogs } from '../../shared/log-analyze.js';
import { recentLines } from '../../shared/log-recent.js';
import { LOG_LEVELS } from '../../shared/log-line.js';
import type { ControlServer } from '../control-server.js';
import type { LogWriter } from '../logs/writer.js';

/**
 * Log methods of the control API: a thin layer over the log writer (rotation) and the shared
 * readers (tail, analysis), which read the files the writer writes, in its folder.
 */
export function registerLogs(control: ControlServer, logs: LogWriter): void {
  const logsDir = dirname(logs.file);
  control.method('logs.rotate', () => logs.rotateNow());
  control.method('logs.tail', (p) =>
    recentLines(logsDir, { count: p.lines, minLevel: p.level === undefined ? undefined : LOG_LEVELS[p.level], isLive: true }),
  );
  control.method('logs.analyze', (p) => analyzeLogs(logsDir, { hours: p.hours, isLive: true }));
}
