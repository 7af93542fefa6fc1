import { AnswersStore, type DwellByStep, type WrongAnswersByStep } from '../store/answers.js';
import { ProgressStore, type TutorialFigures } from '../store/progress.js';
import { UsersStore } from '../store/users.js';
import type { LearningReport, PreviousDay, StepDwell, StepWrongAnswers, TutorialReport } from '../schemas/reports.js';
import type { Db } from '../sqlite.js';

/**
 * The daily learning report (manual 5.1, `generate_learning_report`), computed from the learning
 * database. The manual's figures are taken at `now` with the manual's queries; the period is the
 * 24 hours before `now`; "the day before" is the 24 hours before that, its figures as of the
 * period's start (from the rows' timestamps: a progress reset since then is not seen).
 */

const DAY_MS = 24 * 60 * 60 * 1000;
/** How many steps each "stuck" list shows. */
const STUCK_STEPS = 5;

export interface ReportOptions {
  /** The report's date (YYYY-MM-DD): the day it is written, as the manual names it. */
  date: string;
  /** When it is taken; the period ends here. */
  now?: Date;
  /** The language of step titles, falling back to English, then to any. */
  locale?: string;
}

/** The day before a YYYY-MM-DD date. */
export function dayBefore(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - DAY_MS).toISOString().slice(0, 10);
}

/** The calendar date (YYYY-MM-DD) at `atMs` in `timeZone` (an IANA name), or in local time. */
export function localDate(atMs: number, timeZone?: string): string {
  // en-CA formats a date as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(atMs);
}

/** The manual's report completion_rate: completed tutorial rows / max(learners, 1) * 100. */
function reportRate(completed: number, users: number): number {
  return (completed / Math.max(users, 1)) * 100;
}

/** A tutorial's completion_rate as the manual's UPDATE computes it (0 while there are no learners). */
function tutorialRate(completed: number, users: number): number {
  return users === 0 ? 0 : (completed / users) * 100;
}

interface Window {
  from: string;
  to: string;
  /** The snapshot's moment: null for now (the manual's queries), else the window's end. */
  at: string | null;
}

class ReportReader {
  private readonly users: UsersStore;
  private readonly progress: ProgressStore;
  private readonly answers: AnswersStore;
  private readonly stepTitle;

  constructor(
    db: Db,
    private readonly locale: string,
  ) {
    this.users = new UsersStore(db);
    this.progress = new ProgressStore(db);
    this.answers = new AnswersStore(db);
    this.stepTitle = db
      .prepare(
        `SELECT title FROM tutorial_steps WHERE tutorial_id = ? AND step_key = ?
         ORDER BY locale = ? DESC, locale = 'en' DESC, locale LIMIT 1`,
      )
      .pluck();
  }

  day(w: Window): Omit<PreviousDay, 'date'> & { users: number } {
    const users = this.users.count(w.at);
    const counts = this.progress.counts(w.at);
    const answers = this.answers.counts(w.from, w.to);
    const tutorials = this.progress.tutorialFigures(w.from, w.to, w.at);
    return {
      total_users: users,
      completed_tutorials: counts.completed,
      active_learners: counts.in_progress,
      completion_rate: reportRate(counts.completed, users),
      period: { from: w.from, to: w.to },
      new_learners: this.users.countCreated(w.from, w.to),
      starts: tutorials.reduce((n, t) => n + t.starts, 0),
      completions: tutorials.reduce((n, t) => n + t.completions, 0),
      answers: answers.answers,
      wrong_answers: answers.wrong_answers,
      users,
    };
  }

  /** Each tutorial's figures over the window (rates as of its moment), retired ones only while they have progress. */
  tutorialRows(w: Window, users: number): Array<Omit<TutorialReport, 'previous'>> {
    return this.progress
      .tutorialFigures(w.from, w.to, w.at)
      .filter((t) => t.retired === 0 || t.completed > 0 || t.starts > 0 || t.completions > 0)
      .map((t) => ({ id: t.id, title: t.title, retired: t.retired === 1, ...tutorialFields(t, users) }));
  }

  tutorials(now: Window, before: Window, users: { now: number; before: number }): TutorialReport[] {
    const previous = new Map(this.progress.tutorialFigures(before.from, before.to, before.at).map((t) => [t.id, t]));
    return this.tutorialRows(now, users.now).map((t) => ({ ...t, previous: tutorialFields(previous.get(t.id), users.before) }));
  }

  /** Steps by wrong answers in the window, most first. */
  wrongRows(w: Window, titles: ReadonlyMap<string, string>, limit: number): Array<Omit<StepWrongAnswers, 'previous'>> {
    return this.answers
      .wrongByStep(w.from, w.to)
      .sort(
        (a, b) =>
          b.wrong_answers - a.wrong_answers || b.learners - a.learners || a.tutorial_id.localeCompare(b.tutorial_id) || a.step - b.step,
      )
      .slice(0, limit)
      .map((s) => ({ ...this.stepFields(s, titles), wrong_answers: s.wrong_answers, learners: s.learners }));
  }

  /** Steps by mean dwell in the window, longest first. */
  dwellRows(w: Window, titles: ReadonlyMap<string, string>, limit: number): Array<Omit<StepDwell, 'previous'>> {
    return this.answers
      .dwellByStep(w.from, w.to)
      .sort(
        (a, b) =>
          b.average_seconds - a.average_seconds || b.passes - a.passes || a.tutorial_id.localeCompare(b.tutorial_id) || a.step - b.step,
      )
      .slice(0, limit)
      .map((s) => ({
        ...this.stepFields(s, titles),
        passes: s.passes,
        average_dwell: s.average_seconds,
        longest_dwell: s.longest_seconds,
      }));
  }

  mostWrong(now: Window, before: Window, titles: ReadonlyMap<string, string>): StepWrongAnswers[] {
    const previous = byStep(this.answers.wrongByStep(before.from, before.to));
    return this.wrongRows(now, titles, STUCK_STEPS).map((s) => {
      const p = previous.get(stepId(s));
      return { ...s, previous: { wrong_answers: p?.wrong_answers ?? 0, learners: p?.learners ?? 0 } };
    });
  }

  longestDwell(now: Window, before: Window, titles: ReadonlyMap<string, string>): StepDwell[] {
    const previous = byStep(this.answers.dwellByStep(before.from, before.to));
    return this.dwellRows(now, titles, STUCK_STEPS).map((s) => {
      const p = previous.get(stepId(s));
      return { ...s, previous: { passes: p?.passes ?? 0, average_dwell: p?.average_seconds ?? null } };
    });
  }

  private stepFields(s: { tutorial_id: string; step_key: string; step: number }, titles: ReadonlyMap<string, string>) {
    const title = this.stepTitle.get(s.tutorial_id, s.step_key, this.locale) as string | undefined;
    return {
      tutorial_id: s.tutorial_id,
      tutorial_title: titles.get(s.tutorial_id) ?? s.tutorial_id,
      step: s.step + 1,
      step_key: s.step_key,
      step_title: title ?? null,
    };
  }
}

function tutorialFields(t: TutorialFigures | undefined, learners: number): Omit<TutorialReport, 'id' | 'title' | 'retired' | 'previous'> {
  return {
    starts: t?.starts ?? 0,
    completions: t?.completions ?? 0,
    completion_rate: tutorialRate(t?.completed ?? 0, learners),
    average_time: t?.average_time ?? null,
  };
}

const stepId = (s: { tutorial_id: string; step_key: string }): string => `${s.tutorial_id}\u0000${s.step_key}`;

function byStep<T extends WrongAnswersByStep | DwellByStep>(rows: readonly T[]): Map<string, T> {
  return new Map(rows.map((r) => [stepId(r), r]));
}

/** Computes the report of `date` as of `now` (read-only: it writes nothing). */
export function computeLearningReport(db: Db, options: ReportOptions): LearningReport {
  const nowMs = (options.now ?? new Date()).getTime();
  const reader = new ReportReader(db, options.locale ?? 'en');
  const to = new Date(nowMs).toISOString();
  const from = new Date(nowMs - DAY_MS).toISOString();
  const current: Window = { from, to, at: null };
  const before: Window = { from: new Date(nowMs - 2 * DAY_MS).toISOString(), to: from, at: from };
  // One read transaction: every figure comes from the same state of the database.
  return db.transaction(() => {
    const { users, ...today } = reader.day(current);
    const { users: usersBefore, ...figuresBefore } = reader.day(before);
    const tutorials = reader.tutorials(current, before, { now: users, before: usersBefore });
    const titles = new Map(tutorials.map((t) => [t.id, t.title]));
    return {
      date: options.date,
      total_users: today.total_users,
      completed_tutorials: today.completed_tutorials,
      active_learners: today.active_learners,
      completion_rate: today.completion_rate,
      generated_at: to,
      period: today.period,
      new_learners: today.new_learners,
      starts: today.starts,
      completions: today.completions,
      answers: today.answers,
      wrong_answers: today.wrong_answers,
      previous: { date: dayBefore(options.date), ...figuresBefore },
      tutorials,
      stuck_steps: {
        most_wrong_answers: reader.mostWrong(current, before, titles),
        longest_dwell: reader.longestDwell(current, before, titles),
      },
    };
  })();
}

/** The learning figures of any period, as of its end: what the weekly report needs (its days and its week). */
export interface LearningPeriod extends Omit<PreviousDay, 'date'> {
  tutorials: Array<Omit<TutorialReport, 'previous'>>;
  most_wrong_answers: Array<Omit<StepWrongAnswers, 'previous'>>;
  longest_dwell: Array<Omit<StepDwell, 'previous'>>;
}

/**
 * The report's figures over [from, to), the manual's counts and rates as of `to` (from the rows'
 * timestamps, so a progress reset since then is not seen), the stuck steps `limit` of each.
 */
export function learningPeriod(db: Db, options: { from: Date; to: Date; locale?: string; limit?: number }): LearningPeriod {
  const reader = new ReportReader(db, options.locale ?? 'en');
  const to = options.to.toISOString();
  const w: Window = { from: options.from.toISOString(), to, at: to };
  const limit = options.limit ?? STUCK_STEPS;
  return db.transaction(() => {
    const { users, ...figures } = reader.day(w);
    const tutorials = reader.tutorialRows(w, users);
    const titles = new Map(tutorials.map((t) => [t.id, t.title]));
    return {
      ...figures,
      tutorials,
      most_wrong_answers: reader.wrongRows(w, titles, limit),
      longest_dwell: reader.dwellRows(w, titles, limit),
    };
  })();
}
