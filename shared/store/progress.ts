import type { ProgressStatus } from '../schemas/tools.js';
import type { Db } from '../sqlite.js';
import { AnswersStore, type StepFacts } from './answers.js';

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

/** A progress row with its learner, as the rebuild reads and writes it. */
export interface LearnerProgressRow extends Omit<ProgressRow, 'hints_used'> {
  user_id: number;
  learner: string;
}

/** The fields a rebuild sets; hints_used is not in the answer rows and stays as it is. */
export type RebuiltProgress = Omit<LearnerProgressRow, 'learner' | 'completion_time'>;

/** A tutorial's figures over a window and at its end, for the learning report. */
export interface TutorialFigures {
  id: string;
  title: string;
  retired: number;
  /** Attempts started in the window (a restart after a reset counts again). */
  starts: number;
  /** Completions in the window. */
  completions: number;
  /** Learners who have completed it (at the end of the window). */
  completed: number;
  /** Mean completion_time of those completions, in seconds; null when none. */
  average_time: number | null;
}

/** The manual's two progress counts: completed tutorial rows, and rows in progress. */
export interface ProgressCounts {
  completed: number;
  in_progress: number;
}

const COLUMNS = 'tutorial_id, status, current_step, wrong_answers, hints_used, started_at, completed_at, completion_time';

/**
 * `user_progress`: the one module with SQL for it. A submitted step writes its `user_answers` row
 * in the transaction of the progress change it belongs to (an acknowledged answer is on disk with
 * its progress, or neither is). The server wraps the writes in its disk guard
 * (mcp-server/store/progress.ts); maintenance rebuilds rows from the answers, and reports count them.
 * Statements are prepared once, when the store is built.
 */
export class ProgressStore {
  private readonly answers: AnswersStore;
  private readonly getStmt;
  private readonly listStmt;
  private readonly startStmt;
  private readonly advanceStmt;
  private readonly completeStmt;
  private readonly wrongStmt;
  private readonly hintStmt;
  private readonly resetOne;
  private readonly resetAll;
  private readonly allStmt;
  private readonly overwriteStmt;
  private readonly secondsStmt;
  private readonly countsStmt;
  private readonly figuresStmt;

  constructor(private readonly db: Db) {
    this.answers = new AnswersStore(db);
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
    this.allStmt = db.prepare(`
      SELECT p.user_id, u.name AS learner, p.tutorial_id, p.status, p.current_step, p.wrong_answers,
        p.started_at, p.completed_at, p.completion_time
      FROM user_progress p JOIN users u ON u.id = p.user_id ORDER BY p.user_id, p.tutorial_id`);
    this.overwriteStmt = db.prepare(`
      INSERT INTO user_progress (user_id, tutorial_id, status, current_step, wrong_answers, started_at, completed_at, completion_time, updated_at)
      VALUES (@user_id, @tutorial_id, @status, @current_step, @wrong_answers, @started_at, @completed_at, @completion_time, @now)
      ON CONFLICT (user_id, tutorial_id) DO UPDATE SET status = excluded.status, current_step = excluded.current_step,
        wrong_answers = excluded.wrong_answers, started_at = excluded.started_at, completed_at = excluded.completed_at,
        completion_time = excluded.completion_time, updated_at = excluded.updated_at`);
    // The formula `complete` uses, so a rebuilt completion_time is the one the server would have written.
    this.secondsStmt = db.prepare('SELECT MAX(0, (julianday(?) - julianday(?)) * 86400.0) AS s').pluck();
    // @at NULL: now, with the manual's queries; otherwise as of @at, from the rows' timestamps.
    this.countsStmt = db.prepare(`
      SELECT
        COALESCE(SUM(status = 'completed' AND (@at IS NULL OR completed_at < @at)), 0) AS completed,
        COALESCE(SUM(CASE WHEN @at IS NULL THEN status = 'in_progress'
          ELSE (started_at IS NULL OR started_at < @at) AND (status = 'in_progress' OR (status = 'completed' AND completed_at >= @at)) END), 0) AS in_progress
      FROM user_progress`);
    this.figuresStmt = db.prepare(`
      SELECT t.id, t.title, t.retired_at IS NOT NULL AS retired,
        (SELECT COUNT(*) FROM user_progress p WHERE p.tutorial_id = t.id AND p.started_at >= @from AND p.started_at < @to) AS starts,
        (SELECT COUNT(*) FROM user_progress p WHERE p.tutorial_id = t.id AND p.status = 'completed'
           AND p.completed_at >= @from AND p.completed_at < @to) AS completions,
        (SELECT COUNT(*) FROM user_progress p WHERE p.tutorial_id = t.id AND p.status = 'completed'
           AND (@at IS NULL OR p.completed_at < @at)) AS completed,
        (SELECT AVG(completion_time) FROM user_progress p WHERE p.tutorial_id = t.id AND p.status = 'completed'
           AND (@at IS NULL OR p.completed_at < @at)) AS average_time
      FROM tutorials t ORDER BY t.position, t.id`);
  }

  get(user: number, tutorial: string): ProgressRow | undefined {
    return this.getStmt.get(user, tutorial) as ProgressRow | undefined;
  }

  list(user: number): Map<string, ProgressRow> {
    return new Map((this.listStmt.all(user) as ProgressRow[]).map((r) => [r.tutorial_id, r]));
  }

  /** Starts (or restarts after a reset) a tutorial; returns false when it was already under way. */
  start(user: number, tutorial: string, now: string): boolean {
    return this.startStmt.run({ user, tutorial, now }).changes > 0;
  }

  /** Moves past step `facts.step` and records it passed; false when the learner was not on that step (a repeated submit). */
  advance(user: number, tutorial: string, facts: StepFacts, now: string): boolean {
    return this.passStep(this.advanceStmt, user, tutorial, facts, now);
  }

  /** Completes the tutorial from its last step `facts.step`, recording the step passed. */
  complete(user: number, tutorial: string, facts: StepFacts, now: string): boolean {
    return this.passStep(this.completeStmt, user, tutorial, facts, now);
  }

  /** Counts a wrong answer to step `facts.step` and records it, together. */
  recordWrongAnswer(user: number, tutorial: string, facts: StepFacts, now: string): void {
    this.db
      .transaction(() => {
        this.wrongStmt.run({ user, tutorial, now });
        this.answers.record(user, tutorial, facts, false, now);
      })
      .immediate();
  }

  recordHint(user: number, tutorial: string, now: string): void {
    this.hintStmt.run({ user, tutorial, now });
  }

  /** Resets one tutorial, or all of them; returns how many were reset. Answer rows stay: they belong to the attempt that ended. */
  reset(user: number, tutorial: string | undefined, now: string): number {
    return tutorial === undefined ? this.resetAll.run({ user, now }).changes : this.resetOne.run({ user, tutorial, now }).changes;
  }

  /** Every progress row with its learner's name. */
  all(): LearnerProgressRow[] {
    return this.allStmt.all() as LearnerProgressRow[];
  }

  /** A rebuilt row with the completion_time `complete` would have written for its started_at and completed_at. */
  withCompletionTime(row: RebuiltProgress): Omit<LearnerProgressRow, 'learner'> {
    const seconds = row.completed_at === null || row.started_at === null ? null : this.secondsStmt.get(row.completed_at, row.started_at);
    return { ...row, completion_time: seconds as number | null };
  }

  /** Writes a rebuilt row, creating it when missing; hints_used stays as it is. */
  overwrite(row: Omit<LearnerProgressRow, 'learner'>, now: string): void {
    this.overwriteStmt.run({ ...row, now });
  }

  /** Completed rows and rows in progress: now (the manual's queries) or, with `atIso`, as of then. */
  counts(atIso: string | null): ProgressCounts {
    return this.countsStmt.get({ at: atIso }) as ProgressCounts;
  }

  /** Each tutorial's starts and completions in [from, to), and its completions now (`atIso` null) or as of `atIso`. */
  tutorialFigures(fromIso: string, toIso: string, atIso: string | null): TutorialFigures[] {
    return this.figuresStmt.all({ from: fromIso, to: toIso, at: atIso }) as TutorialFigures[];
  }

  private passStep(stmt: typeof this.advanceStmt, user: number, tutorial: string, facts: StepFacts, now: string): boolean {
    return this.db
      .transaction(() => {
        const moved = stmt.run({ user, tutorial, from: facts.step, now }).changes > 0;
        if (moved) this.answers.record(user, tutorial, facts, true, now);
        return moved;
      })
      .immediate();
  }
}
