import { backupDatabase } from '../shared/backup.js';
import { writeActiveLearnersFile } from '../shared/emergency.js';
import type { Logger } from '../shared/logger.js';
import type { DataPaths } from '../shared/paths.js';
import type { EmergencyStopResult } from '../shared/schemas/rpc.js';
import type { PortListener } from './listener.js';
import type { Supervisor } from './supervisor/supervisor.js';

/**
 * The manual's emergency stop: refuse new connections at once, record who was active and what
 * was in flight, SIGKILL the server, then take a checked backup of the learning database.
 */
export async function emergencyStop(
  supervisor: Supervisor,
  listener: PortListener,
  paths: DataPaths,
  log: Logger,
  reason: string,
): Promise<EmergencyStopResult> {
  listener.setMode({
    kind: 'refuse',
    message: 'The MCP server was stopped in an emergency.',
    hint: 'The operator restarts it with `mcp-starterctl start`.',
  });
  const stats = supervisor.child?.stats;
  const activeFile = writeActiveLearnersFile(paths.dataDir, paths.learningDb, {
    reason,
    inFlight: stats?.inFlight ?? null,
    activeLearnersReported: stats?.activeLearners ?? null,
  });
  const killedPid = await supervisor.kill();
  let backup: EmergencyStopResult['backup'] = null;
  let backupError: string | null = null;
  try {
    backup = await backupDatabase(paths.learningDb, paths.backupsDir, 'emergency');
  } catch (err) {
    backupError = (err as Error).message;
  }
  log.error({ event: 'alert', kind: 'emergency_stop', reason, killedPid, activeFile, backup, backupError }, 'emergency stop');
  return { killedPid, activeFile, backup, backupError, offline: false };
}
