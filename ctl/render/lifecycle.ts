import type { z } from 'zod';
import type { ChildStatus, ReloadResult, RestartResult, StopResult } from '../../shared/schemas/rpc.js';
import { duration, plural } from './format.js';
import { renderChild } from './status.js';

export function renderStart(child: ChildStatus): string {
  return renderChild(child);
}

export function renderStop(stop: StopResult): string {
  if (stop.was === 'stopped' || stop.was === 'fatal') return `The MCP server was not running (${stop.was}); nothing to stop.`;
  const waited = `${plural(stop.activeLearners, 'learner')} active, ${plural(stop.inFlight, 'request')} in flight when the stop began`;
  const how = stop.killed
    ? 'it did not exit in time and was killed (SIGKILL)'
    : stop.drained
      ? 'everything in flight finished first'
      : 'it was stopped without waiting for requests to finish';
  return `Stopped the MCP server in ${duration(stop.ms)}: ${how}.\n  ${waited}.`;
}

export function renderRestart(restart: z.infer<typeof RestartResult>): string {
  return `${renderStop(restart.stop)}\n${renderChild(restart.child)}`;
}

export function renderReload(reload: ReloadResult): string {
  const config = reload.configChanged ? 'the new config is in use' : 'the config had not changed';
  if (reload.newPid === null) return `Reloaded in ${duration(reload.ms)} (${config}); no MCP server is running to take it over.`;
  const from = reload.oldPid === null ? '' : ` took over from pid ${reload.oldPid}`;
  return `Reloaded in ${duration(reload.ms)}: server pid ${reload.newPid}${from}, without dropping connections (${config}).`;
}
