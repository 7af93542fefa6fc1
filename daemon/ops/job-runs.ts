import type { JobName, JobRunResult } from '../../shared/schemas/rpc.js';
import type { OpsDatabase } from './database.js';

/** The last run of a job, as `jobs.list` shows it. */
export interface LastJobRun {
  at: string;
  ok: boolean;
  ms: number;
  summary: string;
}

/** Owner of ops.db's `job_runs` table: every run of a scheduled job, whatever started it. */
export class JobRunsTable {
  constructor(private readonly ops: OpsDatabase) {}

  record(run: JobRunResult): void {
    this.ops.write('job run', (db) =>
      db
        .prepare('INSERT INTO job_runs (job, started_at, ended_at, ok, ms, summary, error, trigger) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(
          run.name,
          run.startedAt,
          run.endedAt,
          run.ok ? 1 : 0,
          Math.round(run.ms * 10) / 10,
          run.summary.slice(0, 1000),
          run.error?.slice(0, 1000) ?? null,
          run.trigger,
        ),
    );
  }

  /** The job's most recent run (by start), or undefined when it never ran. */
  last(job: JobName): LastJobRun | undefined {
    const row = this.ops.db
      .prepare('SELECT started_at AS at, ok, ms, summary FROM job_runs WHERE job = ? ORDER BY started_at DESC LIMIT 1')
      .get(job) as { at: string; ok: number; ms: number; summary: string } | undefined;
    return row && { at: row.at, ok: row.ok === 1, ms: row.ms, summary: row.summary };
  }

  /** Deletes runs started before `beforeIso`, except each job's latest (which `jobs` shows and the catch-up reads). */
  prune(beforeIso: string): number {
    return (
      this.ops.write(
        'job run pruning',
        (db) =>
          db.prepare('DELETE FROM job_runs WHERE started_at < ? AND id NOT IN (SELECT MAX(id) FROM job_runs GROUP BY job)').run(beforeIso)
            .changes,
      ) ?? 0
    );
  }
}
