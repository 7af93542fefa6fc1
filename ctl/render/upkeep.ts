import type { OptimizeResult, RecoverResult, ReportWeeklyResult } from '../../shared/schemas/rpc.js';
import { duration, paint } from './format.js';

const MARK = { action: paint('red', '\u26a0'), watch: paint('yellow', '\u2022'), ok: paint('green', '\u2713') } as const;

/** `ctl optimize`: one line per part, what it did or why it could not, and what to do then. */
export function renderOptimize(r: OptimizeResult): string {
  const lines = r.parts.map((p) => {
    const head = `${p.ok ? paint('green', '\u2713') : paint('red', '\u2717')} ${p.part.padEnd(11)} ${p.summary}`;
    return p.hint === undefined ? head : `${head}\n  ${paint('dim', '\u2192')} ${p.hint}`;
  });
  const failed = r.parts.filter((p) => !p.ok).length;
  lines.push(
    failed === 0
      ? `done in ${duration(r.ms)}`
      : paint('yellow', `${failed} of ${r.parts.length} parts did not run (see above); done in ${duration(r.ms)}`),
  );
  return lines.join('\n');
}

const pct = (share: number | null): string => (share === null ? 'not measured' : `${(Math.floor(share * 10_000) / 100).toFixed(2)} %`);
const ms = (v: number | null): string => (v === null ? 'no requests' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);

/** `ctl report weekly`: the headline figures and the recommended actions, and where the full report is. */
export function renderWeeklyReport(r: ReportWeeklyResult): string {
  const { report } = r;
  const s = report.server;
  const met = (ok: boolean): string => (ok ? paint('green', 'met') : paint('red', 'NOT met'));
  const lines = [
    `Weekly report ${report.from} to ${report.to} (days in ${report.timezone})`,
    `  availability  ${pct(s.availability)} (goal ${pct(s.availabilityGoal)}: ${s.availability === null ? '-' : met(s.availability >= s.availabilityGoal)})`,
    `  response p95  ${ms(s.p95Ms)} (goal ${ms(s.responseGoalMs)}: ${s.p95Ms === null ? '-' : met(s.p95Ms <= s.responseGoalMs)})`,
    `  restarts      ${s.restarts.length === 0 ? 'none' : s.restarts.map((x) => `${x.cause} \u00d7${x.count}${x.planned ? ' (planned)' : ''}`).join(', ')}`,
  ];
  if (report.learning !== null) {
    const l = report.learning;
    lines.push(`  learning      ${l.newLearners} new learners, ${l.completions} tutorials completed, ${l.activeLearners} in progress`);
  }
  lines.push(
    `  errors        ${report.errors.errors} error lines, ${report.errors.warnings} warnings, ${report.errors.alerts.length} alerts`,
  );
  lines.push('', 'Recommended actions:');
  for (const x of report.recommendations)
    lines.push(`  ${MARK[x.severity]} ${x.text}${x.command === null ? '' : `\n      ${paint('dim', '$')} ${x.command}`}`);
  for (const note of report.notes) lines.push(paint('yellow', `note: ${note}`));
  lines.push('', `Full report: ${r.htmlFile}`, `             ${r.markdownFile}`);
  return lines.join('\n');
}

const STEP_MARK: Record<RecoverResult['steps'][number]['status'], string> = {
  ok: paint('green', '\u2713'),
  done: paint('green', '\u2713'),
  offered: paint('yellow', '?'),
  skipped: paint('dim', '-'),
  failed: paint('red', '\u2717'),
};

/** `ctl recover`: each step with what it did and, when it did not succeed, what to do; then the command that goes on. */
export function renderRecover(r: RecoverResult): string {
  const lines = [r.offline ? 'mcp-starterd is not running: the steps on files were done here.' : 'Minimal recovery (manual 4.2):'];
  for (const s of r.steps) {
    lines.push(`${STEP_MARK[s.status]} ${s.step.padEnd(9)} ${s.summary}`);
    for (const d of s.details) lines.push(`    ${paint('dim', d)}`);
    if (s.fix !== null && s.status !== 'ok' && s.status !== 'done') lines.push(`    ${paint('dim', '\u2192')} ${s.fix}`);
  }
  if (r.next !== null) lines.push('', `${r.ok ? 'Next' : 'To go on'}: ${r.next}`);
  return lines.join('\n');
}
