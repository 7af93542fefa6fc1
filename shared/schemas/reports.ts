import { z } from 'zod';

/**
 * The daily learning report (DESIGN.md: `reports/learning_report_YYYY-MM-DD.json`): the manual's
 * keys first (`date`, `total_users`, `completed_tutorials`, `active_learners`, `completion_rate`),
 * then ours. The file holds a LearningReport; `report.learning` answers one with where it came from.
 * Names are snake_case like the manual's keys. Times are seconds, rates percent.
 */

const DATE_MESSAGE = 'a date is YYYY-MM-DD, e.g. 2026-11-25';
/** A calendar date, YYYY-MM-DD (the report's name and `date`). */
export const ReportDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, DATE_MESSAGE);

/** A YYYY-MM-DD that names a real day (params; results only need the shape). */
export const ReportDateParam = ReportDate.refine((d) => {
  const t = new Date(`${d}T00:00:00Z`);
  return !Number.isNaN(t.getTime()) && t.toISOString().startsWith(d);
}, `not a real day; ${DATE_MESSAGE}`);

const Count = z.number().int().min(0);
const Percent = z.number().min(0);
const Seconds = z.number().min(0);

/** The day's figures: the manual's (at the end of the period) and what happened in it. */
const DayFields = {
  date: ReportDate,
  /** Every learner (`users` rows), as the manual counts them. */
  total_users: Count,
  /** `user_progress` rows completed. */
  completed_tutorials: Count,
  /** `user_progress` rows in progress (the manual's query; not `status`'s activeLearners). */
  active_learners: Count,
  /** completed_tutorials / max(total_users, 1) * 100: the manual's, it can exceed 100. */
  completion_rate: Percent,
};

const PeriodFields = {
  /** The 24 hours the activity figures count: [from, to), ISO 8601 UTC. */
  period: z.object({ from: z.string(), to: z.string() }),
  /** Learners added in the period. */
  new_learners: Count,
  /** Tutorials started in the period (a start after a reset counts again). */
  starts: Count,
  /** Tutorials completed in the period. */
  completions: Count,
  /** Answers to step questions in the period, right or wrong. */
  answers: Count,
  wrong_answers: Count,
};

/** The same figures for the 24 hours before, as of the start of the period. */
export const PreviousDay = z.object({ ...DayFields, ...PeriodFields });
export type PreviousDay = z.infer<typeof PreviousDay>;

const TutorialFigures = {
  starts: Count,
  completions: Count,
  /** The manual's: learners who completed it / all learners * 100 (what daily maintenance writes to `tutorials`). */
  completion_rate: Percent,
  /** Mean completion_time of its completions, in seconds; null when nobody completed it. */
  average_time: Seconds.nullable(),
};

export const TutorialReport = z.object({
  id: z.string(),
  title: z.string(),
  /** It left the catalogue; listed while it has progress. */
  retired: z.boolean(),
  ...TutorialFigures,
  previous: z.object(TutorialFigures),
});
export type TutorialReport = z.infer<typeof TutorialReport>;

const StepFields = {
  tutorial_id: z.string(),
  tutorial_title: z.string(),
  /** 1-based, as learners see it. */
  step: z.number().int().min(1),
  step_key: z.string(),
  /** Null when the step has left the catalogue. */
  step_title: z.string().nullable(),
};

/** A step with many wrong answers in the period. */
export const StepWrongAnswers = z.object({
  ...StepFields,
  wrong_answers: Count,
  /** Learners who answered it wrong at least once. */
  learners: Count,
  previous: z.object({ wrong_answers: Count, learners: Count }),
});
export type StepWrongAnswers = z.infer<typeof StepWrongAnswers>;

/** A step learners took long to get past in the period: from reaching it to passing it. */
export const StepDwell = z.object({
  ...StepFields,
  passes: Count,
  average_dwell: Seconds,
  longest_dwell: Seconds,
  previous: z.object({ passes: Count, average_dwell: Seconds.nullable() }),
});
export type StepDwell = z.infer<typeof StepDwell>;

export const LearningReport = z.object({
  ...DayFields,
  generated_at: z.string(),
  ...PeriodFields,
  previous: PreviousDay,
  tutorials: z.array(TutorialReport),
  /** Where learners get stuck: the steps with the most wrong answers and the longest dwell, most first. */
  stuck_steps: z.object({
    most_wrong_answers: z.array(StepWrongAnswers),
    longest_dwell: z.array(StepDwell),
  }),
});
export type LearningReport = z.infer<typeof LearningReport>;

export const ReportLearningParams = z.strictObject({ date: ReportDateParam.optional() }).optional();
export type ReportLearningParams = z.infer<typeof ReportLearningParams>;

/** `report.learning`: the day's report, and whether it is the file daily maintenance wrote or computed now (today, before the file exists). */
export const ReportLearningResult = LearningReport.extend({
  source: z.enum(['file', 'live']),
  /** The report file read; null for a live report, which is not written. */
  file: z.string().nullable(),
});
export type ReportLearningResult = z.infer<typeof ReportLearningResult>;
