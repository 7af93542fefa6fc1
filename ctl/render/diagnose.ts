import type { DiagnoseCategory, DiagnoseFinding, DiagnoseResult, DiagnoseSeverity } from '../../shared/schemas/rpc.js';
import { localTime, paint, plural, type Color } from './format.js';

/** The manual's 4.1 categories (接続エラー, パフォーマンス低下, 学習データ不整合), then the install. */
const CATEGORY_TITLE: Record<DiagnoseCategory, string> = {
  connection: 'Connection errors',
  slowdown: 'Slow responses',
  learning_data: 'Learning data inconsistency',
  installation: 'Installation',
};
const CATEGORY_ORDER: readonly DiagnoseCategory[] = ['connection', 'slowdown', 'learning_data', 'installation'];
const SEVERITY_ORDER: readonly DiagnoseSeverity[] = ['critical', 'error', 'warning'];
const SEVERITY_COLOR: Record<DiagnoseSeverity, Color> = { critical: 'red', error: 'red', warning: 'yellow' };

const rank = (s: DiagnoseSeverity): number => SEVERITY_ORDER.indexOf(s);

function daemonSays(result: DiagnoseResult): string {
  switch (result.daemon) {
    case 'running':
      return 'asked mcp-starterd';
    case 'down':
      return 'mcp-starterd down: checked the files';
    case 'not_answering':
      return 'mcp-starterd not answering: checked the files';
  }
}

function findingLines(f: DiagnoseFinding): string[] {
  const label = paint(SEVERITY_COLOR[f.severity], f.severity.toUpperCase().padEnd(8));
  return [
    `  ${label}  ${paint('bold', f.title)}`,
    `            cause  ${f.cause}`,
    `            fix    ${paint('bold', f.fix)}`,
    ...f.details.map((d) => `                   ${paint('dim', d)}`),
  ];
}

/** Categories in the order of their most serious finding; findings within one most serious first. */
function byCategory(findings: readonly DiagnoseFinding[]): Array<[DiagnoseCategory, DiagnoseFinding[]]> {
  const groups = CATEGORY_ORDER.map((c): [DiagnoseCategory, DiagnoseFinding[]] => [
    c,
    findings.filter((f) => f.category === c).sort((a, b) => rank(a.severity) - rank(b.severity)),
  ]).filter(([, list]) => list.length > 0);
  const worst = (list: DiagnoseFinding[]): number => Math.min(...list.map((f) => rank(f.severity)));
  return groups.sort((a, b) => worst(a[1]) - worst(b[1]));
}

function headline(result: DiagnoseResult): string {
  const when = `(${daemonSays(result)}, ${localTime(result.checkedAt)}, ${(result.ms / 1000).toFixed(1)} s)`;
  if (result.ok) {
    const passed = result.checks.filter((c) => c.status === 'pass').length;
    const skipped = result.checks.length - passed;
    return `${paint('green', '\u2713 nothing wrong found')}: ${plural(passed, 'check')} passed${skipped > 0 ? `, ${skipped} skipped` : ''} ${when}`;
  }
  const counts = SEVERITY_ORDER.map((s) => [s, result.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return `${paint('red', `\u2717 ${plural(result.findings.length, 'problem')} found`)} (${counts.join(', ')}) ${when}`;
}

function checkLines(result: DiagnoseResult): string[] {
  const ids = (status: string): string[] => result.checks.filter((c) => c.status === status).map((c) => c.id);
  const passed = ids('pass');
  const skipped = result.checks.filter((c) => c.status === 'skipped').map((c) => `${c.id} (${c.summary})`);
  return [
    ...(passed.length > 0 ? [paint('dim', `  passed: ${passed.join(', ')}`)] : []),
    ...(skipped.length > 0 ? [paint('dim', `  skipped: ${skipped.join('; ')}`)] : []),
  ];
}

function errorLines(result: DiagnoseResult): string[] {
  if (result.recentErrors.length === 0) return ['', 'No error lines in the log.'];
  return [
    '',
    paint('bold', `The log's last ${plural(result.recentErrors.length, 'error line')}, newest first:`),
    ...result.recentErrors.map((l) => `  ${l.time === null ? '?' : localTime(l.time)}  ${l.level.padEnd(5)}  ${l.source}  ${l.message}`),
  ];
}

/** `ctl diagnose`: the findings under their category with cause and fix, most serious first; a short all-clear otherwise. */
export function renderDiagnose(result: DiagnoseResult, options: { showErrors: boolean }): string {
  const body = byCategory(result.findings).flatMap(([category, list]) => [
    '',
    paint('bold', CATEGORY_TITLE[category]),
    ...list.flatMap(findingLines),
  ]);
  return [
    headline(result),
    ...body,
    ...(result.ok ? [] : ['']),
    ...checkLines(result),
    ...(options.showErrors ? errorLines(result) : []),
  ].join('\n');
}
