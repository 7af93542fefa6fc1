import { command, type Command, daemon, schema } from './command-kit.js';
import { renderLearningReport } from './render/report.js';
import { renderWeeklyReport } from './render/upkeep.js';

/** A live report is a few aggregate queries; a report file is read whole. */
const REPORT_MS = 30_000;
/** A week's report reads a week of samples, the week's logs and the learning database. */
const WEEKLY_MS = 5 * 60_000;

/** `report learning` and `report weekly`. */
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
  command({
    name: 'report weekly',
    usage: 'report weekly [--date YYYY-MM-DD] [--json]',
    summary: 'Write and show the weekly report: operation, learning, errors, recommended actions',
    details:
      '--date D  the week ending on day D (default: the 7 days ending yesterday, in schedule.timezone or local time)\n' +
      'Writes reports/weekly_report_D.md and a self-contained .html with charts (as the weekly-report job does on\n' +
      'Sundays at 03:00) and prints the headline figures and the recommended actions, each with its command.',
    params: schema(async () => (await import('./params-upkeep.js')).ReportWeeklyArgs),
    run: daemon('report.weekly', WEEKLY_MS),
    render: renderWeeklyReport,
  }),
];
