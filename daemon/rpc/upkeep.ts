import type { ControlServer } from '../control-server.js';
import { optimize, type OptimizeDeps } from '../optimize.js';
import { writeWeekly, type WeeklyReportDeps } from '../reports/weekly-writer.js';

/** `optimize` and `report.weekly`: thin layers over daemon/optimize.ts and the weekly report. */
export function registerUpkeep(control: ControlServer, deps: { optimize: OptimizeDeps; weekly: WeeklyReportDeps }): void {
  control.method('optimize', () => optimize(deps.optimize));
  control.method('report.weekly', (p) => writeWeekly(deps.weekly, p?.date));
}
