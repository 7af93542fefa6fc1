import type { StatusResult } from '../shared/schemas/rpc.js';
import type { RpcParams } from './client.js';

/**
 * How long ctl waits for a lifecycle verb, derived from the timeouts the daemon reports in
 * `status` (DESIGN: "ctl derives how long to wait for a stop from `timeouts`, never from its own
 * constants"). Each budget is the longest the daemon's own deadlines allow, plus a margin for the
 * round trips and the daemon's bookkeeping (it waits 2 s for an exit after a drain before SIGTERM).
 */
export const MARGIN_MS = 10_000;

/** `status` answers at once; this is only a guard against a wedged daemon. */
export const STATUS_MS = 5_000;

/** What a stop waits for: the drain (unless forced), then SIGTERM and the kill timeout. */
function stopMs(params: RpcParams<'stop'>, status: StatusResult): number {
  const { drainMs, killMs } = status.daemon.timeouts;
  return (params?.force === true ? 0 : (params?.timeoutMs ?? drainMs)) + killMs;
}

/** An operation already in progress goes first (the daemon serialises them): the longest one, a restart. */
function aheadMs(status: StatusResult): number {
  if (status.operation === null) return 0;
  const { drainMs, killMs, readyMs } = status.daemon.timeouts;
  return drainMs + killMs + readyMs;
}

export function stopBudgetMs(params: RpcParams<'stop'>, status: StatusResult): number {
  return aheadMs(status) + stopMs(params, status) + MARGIN_MS;
}

export function startBudgetMs(status: StatusResult): number {
  return aheadMs(status) + status.daemon.timeouts.readyMs + MARGIN_MS;
}

export function restartBudgetMs(params: RpcParams<'stop'>, status: StatusResult): number {
  return aheadMs(status) + stopMs(params, status) + status.daemon.timeouts.readyMs + MARGIN_MS;
}

/** A reload starts the new server (ready timeout), then the old one drains and may be killed. */
export function reloadBudgetMs(status: StatusResult): number {
  const { drainMs, killMs, readyMs } = status.daemon.timeouts;
  return aheadMs(status) + readyMs + drainMs + killMs + MARGIN_MS;
}
