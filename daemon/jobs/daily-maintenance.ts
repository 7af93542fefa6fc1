import type { BackupCreateResult, DbOptimizeResult } from '../../shared/schemas/backup.js';
import { describeBackup, describeOptimize } from './db-summaries.js';
import { runSteps, type JobStep } from './steps.js';

export interface DailyMaintenanceDeps {
  backup: (signal: AbortSignal) => Promise<BackupCreateResult>;
  optimize: (signal: AbortSignal) => Promise<DbOptimizeResult>;
}

/**
 * The steps of `daily-maintenance` (manual 5.1, 02:00), in the manual's order. This issue brings
 * the backup and the optimisation; expired sessions, tutorial statistics and the learning report
 * (issue 10) go into this list in their places.
 */
export function dailyMaintenanceSteps(deps: DailyMaintenanceDeps): JobStep[] {
  return [
    { name: 'backup', run: async (signal) => describeBackup(await deps.backup(signal)) },
    { name: 'optimize', run: async (signal) => describeOptimize(await deps.optimize(signal)) },
  ];
}

/** `daily-maintenance`: every step runs; the run fails (naming the step and why) when one does. */
export function dailyMaintenance(deps: DailyMaintenanceDeps): (signal: AbortSignal) => Promise<string> {
  return (signal) => runSteps(dailyMaintenanceSteps(deps), signal);
}
