import { basename } from 'node:path';
import type { BackupCreateResult, DbOptimizeResult, DbSizes } from '../../shared/schemas/backup.js';

const MiB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const total = (s: DbSizes): number => s.dbBytes + s.walBytes;

/** A backup in a line, for a job's summary. */
export function describeBackup(b: BackupCreateResult): string {
  const pruned = b.pruned.length > 0 ? `, ${b.pruned.length} old deleted (keep ${b.keep})` : '';
  return `${basename(b.file)} (${MiB(b.bytes)}, integrity ${b.integrity}) in ${(b.ms / 1000).toFixed(1)} s${pruned}`;
}

/** An optimize in a line: sizes before and after, what ran or was skipped, how long writers waited. */
export function describeOptimize(r: DbOptimizeResult): string {
  const ran = r.learning.steps.filter((s) => s.ran).map((s) => s.name);
  const skipped = r.learning.steps.filter((s) => !s.ran).map((s) => `${s.name} ${s.detail.split(':')[0] ?? 'skipped'}`);
  const rows = Object.values(r.ops.pruned).reduce((a, b) => a + b, 0);
  const probe =
    r.writers.probeLongestWaitMs === null ? '' : `, a probe write waited at most ${Math.round(r.writers.probeLongestWaitMs)} ms`;
  return (
    `learning db ${MiB(total(r.learning.before))} → ${MiB(total(r.learning.after))} (${ran.join(', ')}` +
    `${skipped.length > 0 ? `; ${skipped.join(', ')}` : ''}); ops.db ${MiB(total(r.ops.before))} → ${MiB(total(r.ops.after))}, ` +
    `${rows} rows pruned; writers held at most ${Math.round(r.writers.longestLockMs)} ms${probe}`
  );
}
