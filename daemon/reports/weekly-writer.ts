import { analyzeLogs } from '../../shared/log-analyze.js';
import type { DataPaths } from '../../shared/paths.js';
import type { Config } from '../../shared/schemas/config.js';
import type { ReportWeeklyResult } from '../../shared/schemas/weekly.js';
import type { Db } from '../../shared/sqlite.js';
import type { MetricsSample } from '../../shared/schemas/rpc.js';
import { localTimezone } from './calendar.js';
import { buildWeeklyReport, writeWeeklyReport, type WeeklySources } from './weekly.js';
import { weeklyLearning } from './weekly-learning.js';

export interface WeeklyReportDeps {
  paths: DataPaths;
  /** The config in force now (thresholds, timezone, locale). */
  config: () => Config;
  ops: Db;
  samples: (fromIso: string, toIso: string) => MetricsSample[];
}

/** The log analysis of [fromMs, toMs]. */
function weeklyLogs(logsDir: string): WeeklySources['logs'] {
  return async (fromMs, toMs) => {
    const r = await analyzeLogs(logsDir, { hours: (toMs - fromMs) / 3_600_000, nowMs: toMs, isLive: true });
    return { errors: r.errors, warnings: r.warnings, topErrors: r.top_errors.map(({ message, count }) => ({ message, count })) };
  };
}

/**
 * `weekly-report` (Sunday 03:00) and `report.weekly`: builds the week ending `date` (yesterday by
 * default) and writes `reports/weekly_report_<date>.md` and `.html`.
 */
export async function writeWeekly(deps: WeeklyReportDeps, date?: string): Promise<ReportWeeklyResult> {
  const config = deps.config();
  const report = await buildWeeklyReport(
    {
      ops: deps.ops,
      samples: deps.samples,
      learning: weeklyLearning(deps.paths.learningDb, config.learner.locale),
      logs: weeklyLogs(deps.paths.logsDir),
      thresholds: config.thresholds,
      timezone: config.schedule.timezone ?? localTimezone(),
    },
    date,
  );
  return writeWeeklyReport(report, deps.paths.reportsDir);
}
