import type { ChildStatus, EmergencyStopResult, ReloadResult, StatusResult } from '../../shared/schemas/rpc.js';
import type { ControlServer } from '../control-server.js';
import type { Supervisor } from '../supervisor/supervisor.js';

export interface LifecycleDeps {
  supervisor: Supervisor;
  status: () => StatusResult;
  emergencyStop: (reason: string) => Promise<EmergencyStopResult>;
  /** Re-reads the config and hands over; throws (E_CONFIG_INVALID, E_CHILD_STATE, E_BUSY) and changes nothing on failure. */
  reload: () => Promise<ReloadResult>;
  /** Starts the server (and leaves minimal mode). */
  start: () => Promise<ChildStatus>;
}

/** The lifecycle methods of the control API: a thin layer over the supervisor. */
export function registerLifecycle(control: ControlServer, deps: LifecycleDeps): void {
  const { supervisor } = deps;
  control.method('status', () => deps.status());
  control.method('start', () => deps.start());
  control.method('stop', (p) => supervisor.stop({ timeoutMs: p?.timeoutMs, force: p?.force }));
  control.method('restart', (p) => supervisor.restart({ timeoutMs: p?.timeoutMs, force: p?.force }));
  control.method('config.reload', () => deps.reload());
  control.method('emergencyStop', (p) => deps.emergencyStop(p?.reason ?? 'requested by the operator'));
  control.method('subscribe', (p, connection) => {
    const topics = p?.topics ?? ['state'];
    for (const t of topics) connection.topics.add(t);
    return { topics };
  });
}
