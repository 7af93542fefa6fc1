import type { EmergencyStopResult, ReloadResult, StatusResult, StopParams } from '../../shared/schemas/rpc.js';
import { SubscribeParams, Topic } from '../../shared/schemas/rpc.js';
import type { ControlServer } from '../control-server.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { z } from 'zod';

export interface LifecycleDeps {
  supervisor: Supervisor;
  status: () => StatusResult;
  emergencyStop: (reason: string) => Promise<EmergencyStopResult>;
  /** Re-reads the config and hands over; throws (E_CONFIG_INVALID, E_CHILD_STATE) and changes nothing on failure. */
  reload: () => Promise<ReloadResult>;
}

/** The lifecycle methods of the control API: a thin layer over the supervisor. */
export function registerLifecycle(control: ControlServer, deps: LifecycleDeps): void {
  const { supervisor } = deps;
  control.method('status', () => deps.status());
  control.method('start', () => supervisor.start());
  control.method('stop', (params) => {
    const p = params as StopParams;
    return supervisor.stop({ timeoutMs: p?.timeoutMs, force: p?.force });
  });
  control.method('restart', async (params) => {
    const p = params as StopParams;
    const stop = await supervisor.stop({ timeoutMs: p?.timeoutMs, force: p?.force });
    return { stop, child: await supervisor.start() };
  });
  control.method('config.reload', () => deps.reload());
  control.method('emergencyStop', (params) =>
    deps.emergencyStop((params as { reason?: string } | undefined)?.reason ?? 'requested by the operator'),
  );
  control.method('subscribe', (params, connection) => {
    const p = params as z.infer<typeof SubscribeParams>;
    const topics = p?.topics ?? [Topic.enum.state];
    for (const t of topics) connection.topics.add(t);
    return { topics };
  });
}
