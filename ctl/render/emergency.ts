import type { EmergencyStopResult } from '../../shared/schemas/rpc.js';
import { bytes, paint, rows } from './format.js';

export function renderEmergencyStop(result: EmergencyStopResult): string {
  const title = result.offline
    ? 'Emergency stop done without mcp-starterd (it was not running): acted from the pid file.'
    : 'Emergency stop done.';
  const killed = result.killedPid === null ? 'nothing: no MCP server process was running' : `MCP server pid ${result.killedPid} (SIGKILL)`;
  const backup =
    result.backup === null
      ? paint('red', `none: ${result.backupError ?? 'no backup was taken'}`)
      : `${result.backup.file} (${bytes(result.backup.bytes)}, integrity ${result.backup.integrity})`;
  const facts: Array<[string, string]> = [
    ['killed', killed],
    ['active file', `${result.activeFile} (who was active at the stop)`],
    ['backup', backup],
  ];
  if (result.backup !== null && result.backupError !== null) facts.push(['problem', paint('red', result.backupError)]);
  const next = result.offline
    ? '\u2192 Find the cause in the logs, then start the daemon again: `systemctl start mcp-starter` (or `npm start` in the checkout).'
    : '\u2192 Find the cause in the logs, then start the server again: `mcp-starterctl start`.';
  return [paint('bold', title), rows(facts), `  ${next}`].join('\n');
}
