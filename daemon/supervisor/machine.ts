import type { ChildState } from '../../shared/schemas/rpc.js';

export type { ChildState };

/**
 * What happens to the child: `start` (asked to run), `ready` (the child being brought up sent
 * ready and passed the MCP probe; in `reloading` that is the handover), `exit` (the serving child
 * ended), `crashloop` (it ended once too often within the window), `stop` (drain requested, or an
 * emergency kill), `retry` (the backoff wait is over), `reload` (a new child starts beside the
 * serving one), `abort` (the reload's new child failed: the old one keeps serving).
 */
export type ChildEvent = 'start' | 'ready' | 'exit' | 'crashloop' | 'stop' | 'retry' | 'reload' | 'abort';

/** The only legal edges. Anything else is a bug and is refused loudly. */
export const NEXT: Record<ChildState, Partial<Record<ChildEvent, ChildState>>> = {
  stopped: { start: 'starting' },
  starting: { ready: 'running', exit: 'backoff', crashloop: 'fatal', stop: 'draining' },
  running: { exit: 'backoff', crashloop: 'fatal', stop: 'draining', reload: 'reloading' },
  // The old child dying mid-handover leaves the new one, which is still starting.
  reloading: { ready: 'running', abort: 'running', exit: 'starting', crashloop: 'fatal', stop: 'draining' },
  draining: { exit: 'stopped' },
  backoff: { retry: 'starting', start: 'starting', stop: 'stopped' },
  fatal: { start: 'starting', stop: 'stopped' },
};

export class IllegalTransition extends Error {
  constructor(
    readonly from: ChildState,
    readonly event: ChildEvent,
  ) {
    super(`illegal child transition: ${event} in state ${from}`);
    this.name = 'IllegalTransition';
  }
}

/** The state after `event`, or an IllegalTransition. */
export function nextState(from: ChildState, event: ChildEvent): ChildState {
  const to = NEXT[from][event];
  if (to === undefined) throw new IllegalTransition(from, event);
  return to;
}
