import type { ControlServer } from '../control-server.js';
import type { Scheduler } from '../scheduler.js';

/** Job methods of the control API: a thin layer over the scheduler. */
export function registerJobs(control: ControlServer, scheduler: Scheduler): void {
  control.method('jobs.list', () => scheduler.list());
  control.method('jobs.run', (p) => scheduler.run(p.name));
}
