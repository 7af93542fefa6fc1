import type { Db } from '../sqlite.js';

/** What the server knows about the step a learner submitted, besides who, which tutorial and when. */
export interface StepFacts {
  /** 0-based index of the step, as `user_progress.current_step`. */
  step: number;
  /** The step's id in the catalogue (positions move when a tutorial's steps change). */
  stepKey: string;
  /** The tutorial's step count when the step was submitted: the last step completes it. */
  totalSteps: number;
  /** The step asks a question (a step without one is submitted to move on, always "correct"). */
  asked: boolean;
}

/** One attempt (a start of a tutorial, up to a reset or a new start) as its answer rows tell it. */
export interface AttemptSummary {
  user_id: number;
  learner: string;
  tutorial_id: string;
  attempt_started_at: string;
  /** The step the rows put the learner on: past each right answer, on each wrong one (0-based). */
  reached: number;
  wrong: number;
  /** The first right answer to the last step: when the tutorial was completed, if it was. */
  completed_at: string | null;
}

/** Wrong answers on one step over a window. */
export interface WrongAnswersByStep {
  tutorial_id: string;
  step_key: string;
  /** 0-based, as last answered. */
  step: number;
  wrong_answers: number;
  learners: number;
}

/** How long learners took from reaching a step to getting past it, over a window. */
export interface DwellByStep {
  tutorial_id: string;
  step_key: string;
  step: number;
  passes: number;
  average_seconds: number;
  longest_seconds: number;
}

export interface AnswerCounts {
  /** Answers to steps that ask a question, right or wrong. */
  answers: number;
  wrong_answers: number;
}

/**
 * `user_answers`, one row per step a learner submitted (DESIGN.md, Data): the one module with SQL
 * for it. The server adds rows inside the transaction of the progress change they belong to
 * (shared/store/progress.ts); reports and the progress rebuild read them.
 */
export class AnswersStore {
  private readonly insertStmt;
  private readonly attemptsStmt;
  private readonly wrongStmt;
  private readonly dwellStmt;
  private readonly countsStmt;

  constructor(db: Db) {
    // The attempt is the progress row's started_at, read in the same statement: an answer with no started attempt is not recorded.
    this.insertStmt = db.prepare(`
      INSERT INTO user_answers (user_id, tutorial_id, step, step_key, total_steps, asked, correct, attempt_started_at, answered_at)
      SELECT @user, @tutorial, @step, @stepKey, @totalSteps, @asked, @correct, started_at, @now
      FROM user_progress WHERE user_id = @user AND tutorial_id = @tutorial AND started_at IS NOT NULL`);
    this.attemptsStmt = db.prepare(`
      SELECT a.user_id, u.name AS learner, a.tutorial_id, a.attempt_started_at,
        MAX(CASE WHEN a.correct = 1 THEN a.step + 1 ELSE a.step END) AS reached,
        SUM(a.correct = 0) AS wrong,
        MIN(CASE WHEN a.correct = 1 AND a.step >= a.total_steps - 1 THEN a.answered_at END) AS completed_at
      FROM user_answers a JOIN users u ON u.id = a.user_id
      GROUP BY a.user_id, a.tutorial_id, a.attempt_started_at`);
    this.wrongStmt = db.prepare(`
      SELECT tutorial_id, step_key, MAX(step) AS step, COUNT(*) AS wrong_answers, COUNT(DISTINCT user_id) AS learners
      FROM user_answers WHERE correct = 0 AND answered_at >= @from AND answered_at < @to
      GROUP BY tutorial_id, step_key`);
    // A pass of step k is its right answer; the learner reached k at the right answer to k-1 in the
    // same attempt, or at the attempt's start for the first step. A pass whose step before has no
    // row (answered before answers were recorded) has no known dwell and is left out. Only the
    // window's passes are read, each looking its step before up through the attempt index.
    this.dwellStmt = db.prepare(`
      WITH dwell AS (
        SELECT r.tutorial_id, r.step_key, r.step,
          (julianday(r.answered_at) - julianday(CASE WHEN r.step = 0 THEN r.attempt_started_at ELSE (
            SELECT MIN(b.answered_at) FROM user_answers b
            WHERE b.user_id = r.user_id AND b.tutorial_id = r.tutorial_id AND b.attempt_started_at = r.attempt_started_at
              AND b.correct = 1 AND b.step = r.step - 1) END)) * 86400.0 AS seconds
        FROM user_answers r
        WHERE r.correct = 1 AND r.answered_at >= @from AND r.answered_at < @to
      )
      SELECT tutorial_id, step_key, MAX(step) AS step, COUNT(*) AS passes,
        AVG(MAX(seconds, 0)) AS average_seconds, MAX(MAX(seconds, 0)) AS longest_seconds
      FROM dwell WHERE seconds IS NOT NULL GROUP BY tutorial_id, step_key`);
    this.countsStmt = db.prepare(`
      SELECT COUNT(*) AS answers, COALESCE(SUM(correct = 0), 0) AS wrong_answers
      FROM user_answers WHERE asked = 1 AND answered_at >= @from AND answered_at < @to`);
  }

  /** Adds the row for a submitted step; call it inside the transaction of the progress change. */
  record(user: number, tutorial: string, facts: StepFacts, correct: boolean, now: string): void {
    this.insertStmt.run({
      user,
      tutorial,
      step: facts.step,
      stepKey: facts.stepKey,
      totalSteps: facts.totalSteps,
      asked: facts.asked ? 1 : 0,
      correct: correct ? 1 : 0,
      now,
    });
  }

  /** Every attempt that has answer rows, as the rows tell it. */
  attempts(): AttemptSummary[] {
    return this.attemptsStmt.all() as AttemptSummary[];
  }

  /** Wrong answers per step answered in [from, to). */
  wrongByStep(fromIso: string, toIso: string): WrongAnswersByStep[] {
    return this.wrongStmt.all({ from: fromIso, to: toIso }) as WrongAnswersByStep[];
  }

  /** Dwell per step passed in [from, to), in seconds. */
  dwellByStep(fromIso: string, toIso: string): DwellByStep[] {
    return this.dwellStmt.all({ from: fromIso, to: toIso }) as DwellByStep[];
  }

  /** Answers to questions in [from, to). */
  counts(fromIso: string, toIso: string): AnswerCounts {
    return this.countsStmt.get({ from: fromIso, to: toIso }) as AnswerCounts;
  }
}
