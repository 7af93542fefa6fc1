import type { ControlServer } from '../control-server.js';
import { optimize, type OptimizeDeps } from '../optimize.js';
import { recover, type RecoverDeps } from '../recover.js';
import { writeWeekly, type WeeklyReportDeps } from '../reports/weekly-writer.js';

/** `optimize`, `report.weekly` and `recover`: thin layers over daemon/optimize.ts, the weekly report and daemon/recover.ts. */
export function registerUpkeep(
  control: ControlServer,
  deps: { optimize: OptimizeDeps; weekly: WeeklyReportDeps; recover: RecoverDeps },
): void {
  control.method('optimize', () => optimize(deps.optimize));
  control.method('report.weekly', (p) => writeWeekly(deps.weekly, p?.date));
  control.method('recover', (p) => recover(deps.recover, p));
}
