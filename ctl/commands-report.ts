import { command, type Command, daemon, schema } from './command-kit.js';
import { renderLearningReport } from './render/report.js';

/** A live report is a few aggregate queries; a report file is read whole. */
const REPORT_MS = 30_000;

/** `report learning` (and, later, `report weekly`). */
export const REPORT_COMMANDS: readonly Command[] = [
  command({
    name: 'report learning',
    usage: 'report learning [--date YYYY-MM-DD] [--json]',
    summary: 'Show a day\u2019s learning report: learners, completions, where learners get stuck',
    details:
      '--date D  the report of day D (default: today, in schedule.timezone or local time)\n' +
      'daily-maintenance writes reports/learning_report_D.json each day (02:00 by default); before it has, today\u2019s\n' +
      'report is computed from the learning database (and not written), and says so. Each figure is shown beside\n' +
      'the 24 hours before.\n' +
      '--json prints the report as the file holds it, with source ("file" or "live") and file.',
    params: schema(async () => (await import('./params-report.js')).ReportLearningArgs),
    run: daemon('report.learning', REPORT_MS, async (params, ctx) => {
      const { loadConfig } = await import('../shared/config.js');
      const { learningReportFor } = await import('../shared/reports/learning-file.js');
      const config = loadConfig({ file: ctx.configFile, env: ctx.env });
      return learningReportFor(ctx.paths, { date: params?.date, timeZone: config.schedule.timezone, locale: config.learner.locale });
    }),
    render: renderLearningReport,
  }),
];
