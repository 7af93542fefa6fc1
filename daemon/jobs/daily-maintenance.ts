import type { BackupCreateResult, DbOptimizeResult } from '../../shared/schemas/backup.js';
import { describeBackup, describeOptimize } from './db-summaries.js';
import { runSteps, type JobStep } from './steps.js';

export interface DailyMaintenanceDeps {
  backup: (signal: AbortSignal) => Promise<BackupCreateResult>;
  optimize: (signal: AbortSignal) => Promise<DbOptimizeResult>;
  /** The steps on learning data (daemon/jobs/learning-steps.ts). */
  learning: { expire: JobStep; stats: JobStep; report: JobStep };
}

/**
 * The steps of `daily-maintenance` (manual 5.1, 02:00), in the manual's order: expired sessions,
 * tutorial statistics, a verified backup, the optimisation, the day's learning report.
 */
export function dailyMaintenanceSteps(deps: DailyMaintenanceDeps): JobStep[] {
  return [
    deps.learning.expire,
    deps.learning.stats,
    { name: 'backup', run: async (signal) => describeBackup(await deps.backup(signal)) },
    { name: 'optimize', run: async (signal) => describeOptimize(await deps.optimize(signal)) },
    deps.learning.report,
  ];
}

/** `daily-maintenance`: every step runs; the run fails (naming the step and why) when one does. */
export function dailyMaintenance(deps: DailyMaintenanceDeps): (signal: AbortSignal) => Promise<string> {
  return (signal) => runSteps(dailyMaintenanceSteps(deps), signal);
}
