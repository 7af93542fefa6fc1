import type { ProgressStatus } from '../../shared/schemas/tools.js';
import type { Db } from '../../shared/sqlite.js';
import type { DiskGuard } from './disk-guard.js';

export interface ProgressRow {
  tutorial_id: string;
  status: ProgressStatus;
  current_step: number;
  wrong_answers: number;
  hints_used: number;
  started_at: string | null;
  completed_at: string | null;
  completion_time: number | null;
}

const COLUMNS = 'tutorial_id, status, current_step, wrong_answers, hints_used, started_at, completed_at, completion_time';

/**
 * `user_progress`. Every write is one statement or one transaction on a synchronous=FULL
 * database, so what a tool call acknowledges is on disk before the answer leaves. Writes go
 * through the disk guard: one the disk refuses is rolled back whole and becomes the learner's
 * "not saved, your progress is safe" error; the hint and wrong-answer counters are best effort.
 */
export class ProgressStore {
  private readonly getStmt;
  private readonly listStmt;
  private readonly startStmt;
  private readonly advanceStmt;
  private readonly completeStmt;
  private readonly wrongStmt;
  private readonly hintStmt;
  private readonly resetOne;
  private readonly resetAll;

  constructor(
    db: Db,
    private readonly guard: DiskGuard,
  ) {
    this.getStmt = db.prepare(`SELECT ${COLUMNS} FROM user_progress WHERE user_id = ? AND tutorial_id = ?`);
    this.listStmt = db.prepare(`SELECT ${COLUMNS} FROM user_progress WHERE user_id = ?`);
    this.startStmt = db.prepare(`
      INSERT INTO user_progress (user_id, tutorial_id, status, current_step, started_at, updated_at)
      VALUES (@user, @tutorial, 'in_progress', 0, @now, @now)
      ON CONFLICT (user_id, tutorial_id) DO UPDATE SET status = 'in_progress', current_step = 0,
        wrong_answers = 0, hints_used = 0, started_at = @now, completed_at = NULL, completion_time = NULL, updated_at = @now
      WHERE status = 'not_started'`);
    // The `current_step = @from` guard makes a repeated submit of the same step a no-op.
    this.advanceStmt = db.prepare(`
      UPDATE user_progress SET current_step = @from + 1, updated_at = @now
      WHERE user_id = @user AND tutorial_id = @tutorial AND status = 'in_progress' AND current_step = @from`);
    this.completeStmt = db.prepare(`
      UPDATE user_progress SET status = 'completed', current_step = @from, completed_at = @now, updated_at = @now,
        completion_time = MAX(0, (julianday(@now) - julianday(started_at)) * 86400.0)
      WHERE user_id = @user AND tutorial_id = @tutorial AND status = 'in_progress' AND current_step = @from`);
    this.wrongStmt = db.prepare(`
      UPDATE user_progress SET wrong_answers = wrong_answers + 1, updated_at = @now
      WHERE user_id = @user AND tutorial_id = @tutorial`);
    this.hintStmt = db.prepare(`
      UPDATE user_progress SET hints_used = hints_used + 1, updated_at = @now
      WHERE user_id = @user AND tutorial_id = @tutorial`);
    this.resetOne = db.prepare(`
      UPDATE user_progress SET status = 'not_started', current_step = 0, wrong_answers = 0, hints_used = 0,
        started_at = NULL, completed_at = NULL, completion_time = NULL, updated_at = @now
      WHERE user_id = @user AND tutorial_id = @tutorial AND status <> 'not_started'`);
    this.resetAll = db.prepare(`
      UPDATE user_progress SET status = 'not_started', current_step = 0, wrong_answers = 0, hints_used = 0,
        started_at = NULL, completed_at = NULL, completion_time = NULL, updated_at = @now
      WHERE user_id = @user AND status <> 'not_started'`);
  }

  get(user: number, tutorial: string): ProgressRow | undefined {
    return this.getStmt.get(user, tutorial) as ProgressRow | undefined;
  }

  list(user: number): Map<string, ProgressRow> {
    return new Map((this.listStmt.all(user) as ProgressRow[]).map((r) => [r.tutorial_id, r]));
  }

  /** Starts (or restarts after a reset) a tutorial; returns false when it was already under way. */
  start(user: number, tutorial: string, now: string): boolean {
    return this.guard.write(() => this.startStmt.run({ user, tutorial, now }).changes > 0);
  }

  /** Moves past step `from`; false when the learner was not on that step (a repeated submit). */
  advance(user: number, tutorial: string, from: number, now: string): boolean {
    return this.guard.write(() => this.advanceStmt.run({ user, tutorial, from, now }).changes > 0);
  }

  /** Completes the tutorial from its last step `from`. */
  complete(user: number, tutorial: string, from: number, now: string): boolean {
    return this.guard.write(() => this.completeStmt.run({ user, tutorial, from, now }).changes > 0);
  }

  recordWrongAnswer(user: number, tutorial: string, now: string): void {
    this.guard.soft(() => this.wrongStmt.run({ user, tutorial, now }), undefined);
  }

  recordHint(user: number, tutorial: string, now: string): void {
    this.guard.soft(() => this.hintStmt.run({ user, tutorial, now }), undefined);
  }

  /** Resets one tutorial, or all of them; returns how many were reset. */
  reset(user: number, tutorial: string | undefined, now: string): number {
    return this.guard.write(() =>
      tutorial === undefined ? this.resetAll.run({ user, now }).changes : this.resetOne.run({ user, tutorial, now }).changes,
    );
  }
}
