import { recomputeTutorialStats } from '../learning-db.js';
import type { ProgressStatus } from '../schemas/tools.js';
import type { Db } from '../sqlite.js';
import { AnswersStore, type AttemptSummary } from '../store/answers.js';
import { ProgressStore, type LearnerProgressRow, type RebuiltProgress } from '../store/progress.js';
import { plural } from './format.js';

/** The fields of a progress row the rebuild sets. */
export interface ProgressState {
  status: ProgressStatus;
  current_step: number;
  wrong_answers: number;
  started_at: string | null;
  completed_at: string | null;
  completion_time: number | null;
}

export interface ProgressChange {
  userId: number;
  learner: string;
  tutorialId: string;
  /** Null when the row was missing and rebuilt from the answers alone. */
  before: ProgressState | null;
  after: ProgressState;
}

export interface RecomputeProgressResult {
  summary: string;
  /** Progress rows looked at (a reset row, not started, is left as it is). */
  checked: number;
  /** Rows whose attempt has answer rows, so the answers decide them. */
  fromAnswers: number;
  changed: ProgressChange[];
  /** Tutorials whose statistics were recomputed afterwards. */
  tutorials: number;
}

const state = (r: Omit<LearnerProgressRow, 'learner' | 'user_id' | 'tutorial_id'>): ProgressState => ({
  status: r.status,
  current_step: r.current_step,
  wrong_answers: r.wrong_answers,
  started_at: r.started_at,
  completed_at: r.completed_at,
  completion_time: r.completion_time,
});

const same = (a: ProgressState, b: ProgressState): boolean => (Object.keys(a) as Array<keyof ProgressState>).every((k) => a[k] === b[k]);

/**
 * What an attempt's answer rows say: the learner is past every step answered right and on the
 * step last answered wrong, and completed the tutorial at the first right answer to its last step.
 * Answer rows start with the migration that added them; an attempt begun before it keeps the wrong
 * answers its row counted then (the larger count wins).
 */
function fromAttempt(
  a: AttemptSummary,
  row: Pick<LearnerProgressRow, 'user_id' | 'tutorial_id' | 'wrong_answers'> | undefined,
): RebuiltProgress {
  const completed = a.completed_at !== null;
  return {
    user_id: a.user_id,
    tutorial_id: a.tutorial_id,
    status: completed ? 'completed' : 'in_progress',
    current_step: completed ? Math.max(0, a.reached - 1) : a.reached,
    wrong_answers: Math.max(row?.wrong_answers ?? 0, a.wrong),
    started_at: a.attempt_started_at,
    completed_at: a.completed_at,
  };
}

const key = (user: number, tutorial: string): string => `${user}\u0000${tutorial}`;

/**
 * `ctl recover --recompute-progress` (manual 4.1, learning data out of step: "recompute learning
 * progress"): rebuilds each progress row of a started attempt from its answer rows, creates the row
 * of an attempt whose progress row is missing, then recomputes the tutorials' statistics. A row
 * reset to not_started stays so (the answers of the attempt it ended are history); a row whose
 * attempt has no answer rows (progress from before answers were recorded) is kept as it is. One
 * transaction: the server's writes wait for it (busy timeout) and see all of it or none.
 */
export function recomputeProgress(db: Db, options: { now?: Date } = {}): RecomputeProgressResult {
  const now = (options.now ?? new Date()).toISOString();
  const progress = new ProgressStore(db);
  const answers = new AnswersStore(db);
  return db
    .transaction((): RecomputeProgressResult => {
      const attempts = new Map<string, AttemptSummary[]>();
      for (const a of answers.attempts()) {
        const k = key(a.user_id, a.tutorial_id);
        attempts.set(k, [...(attempts.get(k) ?? []), a]);
      }
      const rows = progress.all();
      const changed: ProgressChange[] = [];
      let fromAnswers = 0;
      for (const row of rows) {
        if (row.status === 'not_started') continue;
        const own = attempts.get(key(row.user_id, row.tutorial_id)) ?? [];
        // A started row always has started_at; one without it takes its latest attempt.
        const attempt = row.started_at === null ? latest(own) : own.find((a) => a.attempt_started_at === row.started_at);
        if (!attempt) continue;
        fromAnswers++;
        const next = progress.withCompletionTime(fromAttempt(attempt, row));
        if (same(state(row), state(next))) continue;
        progress.overwrite(next, now);
        changed.push({ userId: row.user_id, learner: row.learner, tutorialId: row.tutorial_id, before: state(row), after: state(next) });
      }
      const present = new Set(rows.map((r) => key(r.user_id, r.tutorial_id)));
      for (const [k, own] of attempts) {
        const attempt = latest(own);
        if (present.has(k) || !attempt) continue;
        fromAnswers++;
        const next = progress.withCompletionTime(fromAttempt(attempt, undefined));
        progress.overwrite(next, now);
        changed.push({
          userId: attempt.user_id,
          learner: attempt.learner,
          tutorialId: attempt.tutorial_id,
          before: null,
          after: state(next),
        });
      }
      const tutorials = recomputeTutorialStats(db);
      const created = changed.filter((c) => c.before === null).length;
      return {
        summary:
          `Progress recomputed from the answers: ${plural(rows.length, 'progress row')} checked, ${fromAnswers} with answers, ` +
          `${changed.length - created} corrected, ${created} restored; statistics of ${plural(tutorials, 'tutorial')} updated`,
        checked: rows.length,
        fromAnswers,
        changed,
        tutorials,
      };
    })
    .immediate();
}

function latest(attempts: readonly AttemptSummary[]): AttemptSummary | undefined {
  return attempts.reduce<AttemptSummary | undefined>(
    (a, b) => (a === undefined || b.attempt_started_at > a.attempt_started_at ? b : a),
    undefined,
  );
}
