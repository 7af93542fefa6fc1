import type { ReportWeeklyResult } from '../../shared/schemas/weekly.js';

/** `weekly-report` (Sunday 03:00): writes the week's report files and says where, with the headline figures. */
export async function weeklyReport(write: () => Promise<ReportWeeklyResult>): Promise<string> {
  const { report, markdownFile, htmlFile } = await write();
  const availability = report.server.availability === null ? 'not measured' : `${(report.server.availability * 100).toFixed(2)} %`;
  const actions = report.recommendations.filter((r) => r.severity === 'action').length;
  return (
    `${report.from} to ${report.to}: availability ${availability}, ` +
    `${actions === 0 ? 'no action needed' : `${actions} recommended action${actions === 1 ? '' : 's'}`}; ` +
    `wrote ${markdownFile} and ${htmlFile}`
  );
}
