import { basename } from 'node:path';
import { AppError } from '../errors.js';
import { openLearningDb, recomputeTutorialStats, tutorialStats, type TutorialStats } from '../learning-db.js';
import { writeLearningReportFile } from '../reports/learning-file.js';
import { computeLearningReport } from '../reports/learning.js';
import type { LearningReport } from '../schemas/reports.js';
import type { Db } from '../sqlite.js';
import { SessionsStore, type RemovedSession } from '../store/sessions.js';
import { UsersStore } from '../store/users.js';
import { plural, round } from './format.js';

/**
 * Daily maintenance's steps on the learning database (manual 5.1): each takes the open database
 * and returns what it did, `summary` first (the job's record), with the details beside it. Each is
 * one transaction (or, for the report, a read and a file renamed into place), so a step that fails
 * changes nothing and leaves the database to the next step; it throws an AppError saying what it
 * could not do and why, which the job records for that step before going on.
 */

/** Opens the learning database (migrated), runs `work` on it and closes it: how a job step or a worker thread gets its `db`. */
export function onLearningDb<T>(file: string, work: (db: Db) => T): T {
  const db = step(`Cannot open the learning database ${file}`, 'E_DB', () => openLearningDb(file));
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** Runs a step's work, turning what it throws into an AppError that says which work failed. */
function step<T>(what: string, code: 'E_DB' | 'E_DATA_DIR', work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof AppError) throw err;
    const sqlite = (err as { code?: unknown }).code;
    const detail = typeof sqlite === 'string' ? ` (${sqlite})` : '';
    throw new AppError(code, `${what}: ${err instanceof Error ? err.message : String(err)}${detail}.`, {
      hint:
        code === 'E_DB'
          ? '`mcp-starterctl db check` checks the learning database; the log has the details.'
          : 'Check that the data dir\u2019s reports folder is writable and the disk has room (`df -h`).',
      cause: err,
    });
  }
}

export interface ExpireSessionsOptions {
  /** Sessions idle longer than this are removed (config `sessions.ttlHours`, 24 h by default). */
  ttlMs: number;
  now?: Date;
  /**
   * The server's idle gap (config `sessions.idleMinutes`): an open session idle less than this is a
   * learner still working, kept even when the TTL is shorter.
   */
  idleMs?: number;
  /** Learners active now (as the server reports them), by id and by name: their sessions are kept whatever their age. */
  spareUserIds?: readonly number[];
  spareNames?: readonly string[];
}

export interface ExpireSessionsResult {
  summary: string;
  removed: number;
  /** Removed sessions no process had ended: the job logs `session_end` (reason `expired`) for each. */
  unended: RemovedSession[];
  /** Sessions idle past the TTL kept because their learner is active now. */
  kept: number;
  /** Sessions idle since before this were removed. */
  cutoff: string;
}

/** Step 1: removes `user_sessions` idle longer than the TTL, never the session of a learner active now. */
export function expireSessions(db: Db, options: ExpireSessionsOptions): ExpireSessionsResult {
  const nowMs = (options.now ?? new Date()).getTime();
  const cutoff = new Date(nowMs - options.ttlMs).toISOString();
  const openCutoff = new Date(nowMs - Math.max(options.ttlMs, options.idleMs ?? 0)).toISOString();
  const { removed, kept } = step('Cannot remove expired sessions', 'E_DB', () => {
    const sessions = new SessionsStore(db);
    return db
      .transaction(() => {
        const gone = sessions.removeIdle({
          beforeIso: cutoff,
          openBeforeIso: openCutoff,
          spareUserIds: options.spareUserIds ?? [],
          spareNames: options.spareNames ?? [],
        });
        return { removed: gone, kept: sessions.countIdle(cutoff) };
      })
      .immediate();
  });
  const unended = removed.filter((s) => s.ended_at === null);
  const hours = round(options.ttlMs / 3_600_000, 2);
  const notes = [
    unended.length > 0 ? `${unended.length} never ended` : '',
    kept > 0 ? `${plural(kept, 'session')} of learners active now kept` : '',
  ].filter((n) => n !== '');
  return {
    summary: `Cleaned ${plural(removed.length, 'expired session')} (idle over ${hours} h)${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`,
    removed: removed.length,
    unended,
    kept,
    cutoff,
  };
}

export interface TutorialStatsResult {
  summary: string;
  /** Learners the rates are out of. */
  learners: number;
  tutorials: TutorialStats[];
}

/** Step 2: recomputes every tutorial's `completion_rate` and `average_time` (DESIGN.md's definitions). */
export function updateTutorialStats(db: Db): TutorialStatsResult {
  const { learners, tutorials } = step('Cannot update the tutorial statistics', 'E_DB', () =>
    db
      .transaction(() => {
        recomputeTutorialStats(db);
        return { learners: new UsersStore(db).count(null), tutorials: tutorialStats(db) };
      })
      .immediate(),
  );
  const rates = tutorials.map((t) => t.completion_rate);
  const range = rates.length === 0 ? '' : `; completion_rate ${round(Math.min(...rates), 1)}\u2013${round(Math.max(...rates), 1)} %`;
  return {
    summary: `Tutorial statistics updated: ${plural(tutorials.length, 'tutorial')}, ${plural(learners, 'learner')}${range}`,
    learners,
    tutorials,
  };
}

export interface LearningReportResult {
  summary: string;
  file: string;
  report: LearningReport;
}

export interface LearningReportOptions {
  now?: Date;
  /** The language of step titles (config `learner.locale`). */
  locale?: string;
}

/** Step 5: writes `<reportsDir>/learning_report_<date>.json` (replacing one written earlier that day). */
export function writeLearningReport(db: Db, reportsDir: string, date: string, options: LearningReportOptions = {}): LearningReportResult {
  const report = step('Cannot compute the learning report', 'E_DB', () => computeLearningReport(db, { date, ...options }));
  const file = step(`Cannot write the learning report to ${reportsDir}`, 'E_DATA_DIR', () => writeLearningReportFile(reportsDir, report));
  const added = report.new_learners > 0 ? ` (+${report.new_learners} new)` : '';
  return {
    summary:
      `Learning report ${report.date}: ${plural(report.total_users, 'learner')}${added}, ` +
      `${report.completed_tutorials} completed tutorials, ${report.active_learners} in progress, ` +
      `completion_rate ${round(report.completion_rate, 2)} %; written to ${basename(file)}`,
    file,
    report,
  };
}
