import type { ControlServer } from '../control-server.js';
import type { LogWriter } from '../logs/writer.js';

/** Log methods of the control API: a thin layer over the log writer. */
export function registerLogs(control: ControlServer, logs: LogWriter): void {
  control.method('logs.rotate', () => logs.rotateNow());
}
