import { learningReportFor } from '../../shared/reports/learning-file.js';
import type { DataPaths } from '../../shared/paths.js';
import type { Config } from '../../shared/schemas/config.js';
import type { ControlServer } from '../control-server.js';

export interface ReportsDeps {
  paths: DataPaths;
  /** The config in force now: "today" is the schedule's timezone's (the daily job names its report by it), titles in `learner.locale`. */
  config: () => Config;
}

/**
 * Report methods of the control API. `report.learning`: the day's report file, or today's computed
 * from the learning database before daily maintenance writes it (a few queries on the daemon's
 * thread; the report reads indexed columns and aggregates, milliseconds at this project's scale).
 */
export function registerReports(control: ControlServer, deps: ReportsDeps): void {
  control.method('report.learning', (p) => {
    const config = deps.config();
    return learningReportFor(deps.paths, { date: p?.date, timeZone: config.schedule.timezone, locale: config.learner.locale });
  });
}
