import type { ChildState } from '../../shared/schemas/rpc.js';
import type { ListenerMode } from '../listener.js';

/** Why the child is (being) stopped: kept apart from the state (systemd's result vs state). */
export type StopReason =
  | 'requested'
  | 'restart'
  | 'memory-limit'
  | 'crash'
  | 'probe-failures'
  | 'hung'
  | 'ready-timeout'
  | 'spawn-failed'
  | 'emergency'
  | 'daemon-shutdown'
  | 'handover'
  | 'restore';

/**
 * A stop that is the first half of a restart (the operator's, over the memory limit, or around a
 * restore's swap of the database): learners wait for the new server.
 */
export function isRestart(reason: StopReason | null): boolean {
  return reason === 'restart' || reason === 'memory-limit' || reason === 'restore';
}

type Held = Exclude<ListenerMode, { kind: 'forward' }>;

const EMERGENCY: Held = {
  kind: 'refuse',
  message: 'The MCP server was stopped in an emergency by its operator.',
  hint: 'Your progress up to the stop is saved. The operator starts it again with `mcp-starterctl start` once the problem is handled.',
};

/**
 * What the port does with a new connection when no child takes it: wait in the queue (a restart
 * is under way, so it will be served) or a 503 that says why. The forward case is the
 * supervisor's: it depends on which child is ready.
 */
export function heldMode(state: ChildState, reason: StopReason | null): Held {
  switch (state) {
    case 'starting':
    case 'backoff':
    case 'running':
    case 'reloading':
      return { kind: 'queue' };
    case 'draining':
      if (isRestart(reason)) return { kind: 'queue' };
      if (reason === 'emergency') return EMERGENCY;
      if (reason === 'daemon-shutdown') {
        return { kind: 'refuse', message: 'The MCP server is shutting down.', hint: 'Retry once it is back; your progress is saved.' };
      }
      return { kind: 'refuse', message: 'The MCP server is stopping.', hint: 'Retry once it is started again; your progress is saved.' };
    case 'stopped':
      // A restart passes through `stopped` on its way back to `starting`: keep the queue.
      if (isRestart(reason)) return { kind: 'queue' };
      if (reason === 'emergency') return EMERGENCY;
      return { kind: 'refuse', message: 'The MCP server is stopped.', hint: 'The operator starts it with `mcp-starterctl start`.' };
    case 'fatal':
      return {
        kind: 'refuse',
        message: 'The MCP server keeps crashing and was stopped.',
        hint: 'The operator can see why with `mcp-starterctl status`.',
      };
  }
}
