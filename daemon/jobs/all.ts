import type { Config } from '../../shared/schemas/config.js';
import { JobName, type HealthResult, type LogsRotateResult, type ReportWeeklyResult } from '../../shared/schemas/rpc.js';
import type { JobSpec } from '../scheduler.js';
import { dailyMaintenance, type DailyMaintenanceDeps } from './daily-maintenance.js';
import { healthReport } from './health-report.js';
import { optimizeDb } from './optimize-db.js';
import { rotateLogs } from './rotate-logs.js';
import { weeklyReport } from './weekly-report.js';

export interface JobDeps extends DailyMaintenanceDeps {
  health: () => Promise<HealthResult>;
  rotateLogs: () => Promise<LogsRotateResult>;
  weeklyReport: () => Promise<ReportWeeklyResult>;
}

/** The config key of each job's pattern. */
const SCHEDULE_KEY = {
  'health-report': 'healthReport',
  'rotate-logs': 'rotateLogs',
  'daily-maintenance': 'dailyMaintenance',
  'weekly-report': 'weeklyReport',
  'optimize-db': 'optimizeDb',
} as const satisfies Record<JobName, keyof Config['schedule']>;

/** Every job with its configured pattern. */
export function configuredJobs(schedule: Config['schedule'], deps: JobDeps): JobSpec[] {
  const run: Record<JobName, JobSpec['run']> = {
    'health-report': () => healthReport(deps.health),
    'rotate-logs': () => rotateLogs(deps.rotateLogs),
    'daily-maintenance': dailyMaintenance(deps),
    'weekly-report': () => weeklyReport(deps.weeklyReport),
    'optimize-db': (signal) => optimizeDb(deps.optimize, signal),
  };
  return JobName.options.map((name) => ({ name, pattern: schedule[SCHEDULE_KEY[name]], run: run[name] }));
}
