import type { ReportLearningResult, StepDwell, StepWrongAnswers, TutorialReport } from '../../shared/schemas/reports.js';
import { duration, localTime, paint, plural, table } from './format.js';

const percent = (n: number): string => `${n.toFixed(1)} %`;
/** A difference of two percentages, in percentage points. */
const points = (n: number): string => `${n.toFixed(1)} pt`;
const seconds = (s: number | null): string => (s === null ? '-' : duration(s * 1000));

/** "12 (+2)": a figure with its change since the day before. */
function withChange(now: number, before: number, show: (n: number) => string = String, showDelta = show): string {
  const delta = now - before;
  if (Math.abs(delta) < 1e-9) return show(now);
  const sign = delta > 0 ? '+' : '\u2212';
  return `${show(now)} (${sign}${showDelta(Math.abs(delta))})`;
}

/** "3 (1)": a figure with the day before's (table cells stay plain: colour codes would break the column widths). */
const beside = (now: string, before: string): string => `${now} (${before})`;

function source(r: ReportLearningResult): string {
  if (r.source === 'file') return paint('dim', `from ${r.file ?? 'the report file'}`);
  return paint(
    'yellow',
    'computed now from the learning database: daily maintenance has not written today\u2019s file yet (nothing was written)',
  );
}

function overview(r: ReportLearningResult): string {
  const p = r.previous;
  const body: Array<[string, string, string]> = [
    ['learners (total_users)', withChange(r.total_users, p.total_users), String(p.total_users)],
    ['new learners', String(r.new_learners), String(p.new_learners)],
    ['completed_tutorials', withChange(r.completed_tutorials, p.completed_tutorials), String(p.completed_tutorials)],
    ['in progress (active_learners)', withChange(r.active_learners, p.active_learners), String(p.active_learners)],
    ['completion_rate', withChange(r.completion_rate, p.completion_rate, percent, points), percent(p.completion_rate)],
    ['tutorials started', String(r.starts), String(p.starts)],
    ['tutorials completed', String(r.completions), String(p.completions)],
    ['answers (wrong)', `${r.answers} (${r.wrong_answers})`, `${p.answers} (${p.wrong_answers})`],
  ];
  return table(['', r.date, p.date], body);
}

function tutorials(list: readonly TutorialReport[]): string {
  if (list.length === 0) return paint('dim', '  no tutorials in the database yet');
  const body = list.map((t) => [
    t.retired ? `${t.id} (retired)` : t.id,
    beside(String(t.starts), String(t.previous.starts)),
    beside(String(t.completions), String(t.previous.completions)),
    beside(percent(t.completion_rate), percent(t.previous.completion_rate)),
    beside(seconds(t.average_time), seconds(t.previous.average_time)),
  ]);
  return table(['tutorial', 'starts', 'completions', 'completion_rate', 'average_time'], body);
}

const passes = (n: number): string => `${n} ${n === 1 ? 'pass' : 'passes'}`;

const stepName = (s: StepWrongAnswers | StepDwell): string =>
  `${s.tutorial_id} step ${s.step}${s.step_title === null ? '' : ` \u201c${s.step_title}\u201d`}`;

function stuck(r: ReportLearningResult): string[] {
  const { most_wrong_answers: wrong, longest_dwell: dwell } = r.stuck_steps;
  const lines = ['Most wrong answers:'];
  if (wrong.length === 0) lines.push(paint('dim', '  none in this period'));
  for (const s of wrong) {
    lines.push(
      `  ${stepName(s)}: ${plural(s.wrong_answers, 'wrong answer')} by ${plural(s.learners, 'learner')}` +
        paint('dim', ` (day before: ${s.previous.wrong_answers} by ${s.previous.learners})`),
    );
  }
  lines.push('Longest dwell (from reaching a step to passing it):');
  if (dwell.length === 0) lines.push(paint('dim', '  no step passed in this period'));
  for (const s of dwell) {
    const before =
      s.previous.average_dwell === null ? 'not passed' : `${seconds(s.previous.average_dwell)} over ${passes(s.previous.passes)}`;
    lines.push(
      `  ${stepName(s)}: ${seconds(s.average_dwell)} on average over ${passes(s.passes)}, longest ${seconds(s.longest_dwell)}` +
        paint('dim', ` (day before: ${before})`),
    );
  }
  return lines;
}

/** `ctl report learning`: the manual's figures beside the day before, each tutorial, and where learners get stuck. */
export function renderLearningReport(r: ReportLearningResult): string {
  return [
    paint('bold', `Learning report ${r.date}`),
    source(r),
    paint('dim', `period ${localTime(r.period.from)} \u2013 ${localTime(r.period.to)} (local time), beside the 24 hours before`),
    '',
    overview(r),
    '',
    paint('bold', 'Tutorials') + paint('dim', ' (day before in brackets)'),
    tutorials(r.tutorials),
    '',
    paint('bold', 'Where learners get stuck'),
    ...stuck(r),
  ].join('\n');
}
