import type {
  BackupCreateResult,
  BackupInfo,
  BackupListResult,
  BackupRestoreResult,
  DbCheckResult,
  DbOptimizeReport,
  DbOptimizeResult,
  DbSizes,
} from '../../shared/schemas/rpc.js';
import { bytes, duration, localTime, paint, plural, relative, rows, table } from './format.js';

const name = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
/** 12 ms, 0.8 s … : lock times are often well under a second. */
const ms = (n: number): string => (n < 1000 ? `${Math.round(n)} ms` : duration(n));
const folder = (path: string): string => path.slice(0, path.lastIndexOf('/'));

function integrity(text: string): string {
  if (text === 'ok') return paint('green', 'ok');
  if (text === 'unchecked') return paint('yellow', 'unchecked');
  return paint('red', `FAILED: ${text.slice(0, 120)}`);
}

const offlineNote = paint('dim', '(mcp-starterd was not running: done by mcp-starterctl itself)');

/** `ctl backup`: the checked backup, and what retention deleted. */
export function renderBackup(b: BackupCreateResult): string {
  const lines = [
    paint('green', `\u2713 backup written and checked in ${duration(b.ms)}`) + (b.offline ? ` ${offlineNote}` : ''),
    rows([
      ['file', b.file],
      ['size', bytes(b.bytes)],
      ['integrity', integrity(b.integrity)],
      [
        'retention',
        b.pruned.length === 0 ? `keeps ${b.keep}; nothing deleted` : `keeps ${b.keep}; deleted ${b.pruned.map(name).join(', ')}`,
      ],
    ]),
  ];
  return lines.join('\n');
}

/** `ctl backups`: newest first, with size, time and the check recorded when each was written. */
export function renderBackups(list: BackupListResult): string {
  if (list.length === 0) return 'No backups yet. `mcp-starterctl backup` takes one (the daily-maintenance job takes one at 02:00).';
  const body = list.map((b: BackupInfo) => [
    name(b.file),
    b.label ?? '',
    bytes(b.bytes),
    `${localTime(b.at)} (${relative(b.at)})`,
    integrity(b.integrity),
  ]);
  const good = list.find((b) => b.integrity === 'ok');
  return [
    table(['file', 'label', 'size', 'taken', 'integrity'], body),
    paint('dim', `in ${folder(list[0]?.file ?? '')}; ${plural(list.length, 'backup')}`),
    good
      ? `newest good backup: ${name(good.file)}  (restore it: mcp-starterctl restore ${name(good.file)})`
      : paint('red', 'No backup passed its check.'),
  ].join('\n');
}

/** `ctl restore FILE`: what was restored, where the old database went, and the server's health. */
export function renderRestore(r: BackupRestoreResult): string {
  const healthy = r.health?.status === 'healthy';
  const head = r.offline
    ? paint('green', `\u2713 restored ${name(r.restored.file)} (the daemon was not running; start it to serve it)`)
    : healthy
      ? paint('green', `\u2713 restored ${name(r.restored.file)}; the server is back and healthy`)
      : paint(
          'red',
          `\u2717 restored ${name(r.restored.file)}, but the server is ${r.child?.state ?? 'not running'}${r.health ? ' and unhealthy' : ''}`,
        );
  const facts: Array<[string, string]> = [
    ['restored', `${r.restored.file} (${bytes(r.restored.bytes)}, taken ${localTime(r.restored.at)}, integrity ${r.restored.integrity})`],
    ['replaced', r.keptAs === null ? 'nothing (there was no database)' : `kept as ${r.keptAs}`],
  ];
  if (r.child)
    facts.push(['server', `${r.child.state}${r.child.pid === null ? '' : `, pid ${r.child.pid}`}; learners waited ${duration(r.downMs)}`]);
  if (r.health)
    facts.push([
      'health',
      r.health.status === 'healthy' ? paint('green', 'healthy') : paint('red', `unhealthy: ${r.health.failing.join(', ')}`),
    ]);
  const lines = [head, rows(facts)];
  if (r.hint !== null) lines.push(`  \u2192 ${r.hint}`);
  return lines.join('\n');
}

/** `ctl db check`: each check, then the problems with what to do. */
export function renderDbCheck(r: DbCheckResult): string {
  const head = r.ok
    ? paint('green', `\u2713 ${r.file} is sound`)
    : paint('red', `\u2717 ${r.file}: ${plural(r.problems.length, 'problem')}`);
  const fk = r.foreignKeys.violations === 0 ? paint('green', 'ok') : paint('red', `${r.foreignKeys.violations} rows without their parent`);
  const schema =
    r.schema.version === r.schema.expected
      ? `version ${r.schema.version}`
      : `version ${r.schema.version} (this release: ${r.schema.expected})`;
  const lines = [
    head + (r.offline ? ` ${offlineNote}` : ''),
    rows([
      ['integrity', integrity(r.integrity)],
      ['foreign keys', fk],
      ['schema', schema],
      ['size', sizes(r.sizes)],
    ]),
  ];
  for (const p of r.problems) lines.push(paint('red', `  \u2717 ${p.what}`), `    \u2192 ${p.hint}`);
  for (const n of r.notes) lines.push(`  \u2022 ${n}`);
  return lines.join('\n');
}

function sizes(s: DbSizes): string {
  return `${bytes(s.dbBytes)} file, ${bytes(s.walBytes)} WAL, ${bytes(s.freeBytes)} free pages`;
}

function report(title: string, r: DbOptimizeReport): string[] {
  const lines = [paint('bold', `${title} (${r.file})`), `  before  ${sizes(r.before)}`, `  after   ${sizes(r.after)}`];
  for (const s of r.steps) {
    const timing = s.ran ? `${ms(s.ms)}, lock ${ms(s.lockMs)}` : 'skipped';
    lines.push(`  ${s.ran ? '\u2713' : '-'} ${s.name.padEnd(15)} ${timing.padEnd(20)} ${s.detail}`);
  }
  return lines;
}

/** `ctl db optimize`: sizes before and after, each step, and how long writers waited. */
export function renderDbOptimize(r: DbOptimizeResult): string {
  const pruned = Object.entries(r.ops.pruned).filter(([, n]) => n > 0);
  const probe =
    r.writers.probeLongestWaitMs === null
      ? 'no probe write was made'
      : `a probe write every 100 ms (${r.writers.probeWrites} of them) took at most ${ms(r.writers.probeLongestWaitMs)}`;
  return [
    paint('green', `\u2713 optimised in ${duration(r.ms)}`),
    ...report('learning database', r.learning),
    ...report('ops.db', r.ops),
    `  pruned  ${pruned.length === 0 ? 'nothing past the retention' : pruned.map(([t, n]) => `${t} ${n}`).join(', ')}`,
    paint('bold', 'writers'),
    `  the longest write lock a step held was ${ms(r.writers.longestLockMs)}; ${probe}`,
  ].join('\n');
}
