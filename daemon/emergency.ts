import { checkedBackup } from '../shared/backup.js';
import { runDbTask } from './maintenance/run-task.js';
import { writeActiveLearnersFile } from '../shared/emergency.js';
import type { Logger } from '../shared/logger.js';
import type { DataPaths } from '../shared/paths.js';
import type { EmergencyStopResult } from '../shared/schemas/rpc.js';
import type { Supervisor } from './supervisor/supervisor.js';

/**
 * The manual's emergency stop: record who was active and what was in flight, SIGKILL the server
 * (the supervisor pre-empts any operation and the port answers with the emergency 503), then take
 * a checked backup of the learning database. A backup that fails its check is a failure.
 */
export async function emergencyStop(supervisor: Supervisor, paths: DataPaths, log: Logger, reason: string): Promise<EmergencyStopResult> {
  const stats = supervisor.child?.stats;
  const activeFile = writeActiveLearnersFile(paths.dataDir, paths.learningDb, {
    reason,
    inFlight: stats?.inFlight ?? null,
    activeLearnersReported: stats?.activeLearners ?? null,
  });
  const killedPid = await supervisor.kill();
  // In a worker thread, so the port keeps answering with the emergency 503 meanwhile; inline if no worker can start.
  const { learningDb, backupsDir } = paths;
  const { backup, backupError } = await runDbTask({ kind: 'checked-backup', learningDb, backupsDir, label: 'emergency' }).catch(() =>
    checkedBackup(learningDb, backupsDir, 'emergency'),
  );
  log.error(
    { event: 'alert', kind: 'emergency_stop', reason, killedPid, activeFile, backup, backupError },
    backupError === null ? 'emergency stop' : 'emergency stop; the backup FAILED',
  );
  return { killedPid, activeFile, backup, backupError, offline: false };
}
