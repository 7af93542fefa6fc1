import type { ControlServer } from '../control-server.js';
import type { Monitor } from '../monitor.js';

/** Health and metrics methods of the control API: a thin layer over the monitor. */
export function registerMonitoring(control: ControlServer, monitor: Monitor): void {
  control.method('health', () => monitor.health());
  control.method('metrics.current', () => monitor.current());
  control.method('metrics.history', (p) => monitor.history(p?.hours ?? 24));
  control.method('metrics.analyze', (p) => monitor.analyze(p?.hours ?? 24));
}
