import type { OperationName, StatusResult } from '../../shared/schemas/rpc.js';
import type { RpcParams } from '../client.js';
import { duration, plural } from './format.js';

/**
 * What a lifecycle verb is waiting for, said on a terminal (stderr) while it waits: the manual
 * warns about active learners before its 30 s wait. undefined when there is nothing to wait for.
 */

const OPERATION: Record<OperationName, string> = {
  start: 'A start',
  stop: 'A stop',
  restart: 'A restart',
  reload: 'A reload',
  'emergency-stop': 'An emergency stop',
  'crash-restart': 'A restart after a crash',
  'probe-restart': 'A restart after failed health probes',
  'memory-restart': 'A restart of the server over its memory limit',
  shutdown: 'The daemon\u2019s shutdown',
  restore: 'A restore of a backup',
};

/** "A reload is in progress (for 3.2 s): it finishes first. " */
function ahead(status: StatusResult, nowMs: number): string {
  const op = status.operation;
  if (op === null) return '';
  const since = Date.parse(op.since);
  const age = Number.isNaN(since) ? '' : ` (for ${duration(nowMs - since)})`;
  return `${OPERATION[op.name]} is in progress${age}: it finishes first. `;
}

function isDown(status: StatusResult): boolean {
  return status.child.state === 'stopped' || status.child.state === 'fatal';
}

/** "waiting up to 30 s for 2 active learners and 1 request in flight to finish" */
function drainText(params: RpcParams<'stop'>, status: StatusResult): string {
  const { activeLearners, inFlight } = status;
  const drainMs = params?.timeoutMs ?? status.daemon.timeouts.drainMs;
  if (activeLearners === 0 && inFlight === 0) return `no learners active, no requests in flight: waiting for the server to exit`;
  return `waiting up to ${duration(drainMs)} for ${plural(activeLearners, 'active learner')} and ${plural(inFlight, 'request')} in flight to finish`;
}

function forcedText(status: StatusResult): string {
  return `at once (--force): SIGTERM now, SIGKILL after ${duration(status.daemon.timeouts.killMs)}`;
}

export function stopWaiting(params: RpcParams<'stop'>, status: StatusResult, nowMs = Date.now()): string | undefined {
  if (isDown(status) && status.operation === null) return undefined;
  const how = params?.force === true ? `Stopping ${forcedText(status)}` : `Stopping: ${drainText(params, status)}`;
  return `${ahead(status, nowMs)}${how}\u2026`;
}

export function restartWaiting(params: RpcParams<'stop'>, status: StatusResult, nowMs = Date.now()): string | undefined {
  const ready = `up to ${duration(status.daemon.timeouts.readyMs)} for the new server to be ready`;
  if (isDown(status)) return `${ahead(status, nowMs)}Restarting: the server is ${status.child.state}; waiting ${ready}\u2026`;
  const stop = params?.force === true ? `stopping ${forcedText(status)}` : drainText(params, status);
  return `${ahead(status, nowMs)}Restarting: ${stop}, then ${ready}\u2026`;
}

export function startWaiting(status: StatusResult, nowMs = Date.now()): string | undefined {
  const isServing = status.child.state === 'running' || status.child.state === 'reloading';
  if (isServing && status.operation === null) return undefined;
  return `${ahead(status, nowMs)}Starting: waiting up to ${duration(status.daemon.timeouts.readyMs)} for the MCP server to be ready\u2026`;
}

export function reloadWaiting(status: StatusResult, nowMs = Date.now()): string | undefined {
  if (isDown(status) && status.operation === null) return undefined;
  const { readyMs, drainMs } = status.daemon.timeouts;
  const old =
    status.inFlight === 0 ? 'then stops' : `then has up to ${duration(drainMs)} to finish ${plural(status.inFlight, 'request')} in flight`;
  return `${ahead(status, nowMs)}Reloading: waiting up to ${duration(readyMs)} for a new server to be ready; the old one ${old}\u2026`;
}

/**
 * Shows `text` on stderr while a wait lasts, with the seconds so far when the line fits the
 * terminal; returns the function that ends it. Only on a terminal: scripts and `--json` readers
 * never see it on stdout, and a log file gets no carriage returns.
 */
export function showWaiting(text: string, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => undefined;
  const line = `mcp-starterctl: ${text}`;
  const startedMs = performance.now();
  stream.write(line);
  // Rewriting a line that wrapped would leave its first part behind: tick only when it fits.
  const canTick = line.length + 10 < (stream.columns || 80);
  const timer = canTick
    ? setInterval(() => stream.write(`\r\u001b[K${line} ${Math.round((performance.now() - startedMs) / 1000)} s`), 1000)
    : undefined;
  timer?.unref();
  return () => {
    clearInterval(timer);
    stream.write('\n');
  };
}
