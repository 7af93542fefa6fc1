import { z } from 'zod';
import { ReportDateParam } from './reports.js';

/**
 * The weekly report (`weekly-report` job, `ctl report weekly`, RPC `report.weekly`): the figures
 * behind `reports/weekly_report_YYYY-MM-DD.md` and `.html` (DESIGN.md, JSON that scripts read).
 * The manual's sections: server operation, learning activity, errors and warnings, recommended
 * actions. Re-exported by rpc.ts.
 */

const Share = z.number().min(0).max(1);

/** One day of the week (local calendar day in the report's timezone). */
export const WeeklyDay = z.object({
  date: z.string(),
  /** Up ÷ (up + down) that day; null when nothing was measured (the daemon was not running). */
  availability: Share.nullable(),
  /** Learners' response time that day, ms (the samples' p95, at their 95th percentile). */
  p95Ms: z.number().min(0).nullable(),
  cpuPercent: z.number().min(0).nullable(),
  memoryPercent: z.number().min(0).nullable(),
  /** Tutorials completed that day. */
  completions: z.number().int().min(0).nullable(),
});
export type WeeklyDay = z.infer<typeof WeeklyDay>;

export const WeeklyServer = z.object({
  availability: Share.nullable(),
  availabilityGoal: Share,
  /** Time the server was down (not planned) over the week, ms. */
  downMs: z.number().min(0),
  /** Time it was stopped on purpose, ms (left out of availability). */
  plannedMs: z.number().min(0),
  cpuPercent: z.number().min(0).nullable(),
  memoryPercent: z.number().min(0).nullable(),
  p50Ms: z.number().min(0).nullable(),
  p95Ms: z.number().min(0).nullable(),
  responseGoalMs: z.number().min(0),
  /** Days whose p95 was over the response goal. */
  slowDays: z.number().int().min(0),
  samples: z.number().int().min(0),
  /** Times the daemon itself was found not running after it had not stopped on purpose. */
  daemonDownCount: z.number().int().min(0),
  /** Each way the server went down or was restarted, with how often: `crash`, `probe-failures`, `restart`, … */
  restarts: z.array(z.object({ cause: z.string(), count: z.number().int().min(1), planned: z.boolean() })),
});
export type WeeklyServer = z.infer<typeof WeeklyServer>;

export const WeeklyTutorial = z.object({
  id: z.string(),
  title: z.string(),
  starts: z.number().int().min(0),
  completions: z.number().int().min(0),
  /** The manual's completion_rate (completed ÷ all learners × 100), at the week's end. */
  completionRate: z.number().min(0).nullable(),
  averageTimeSeconds: z.number().min(0).nullable(),
});

export const WeeklyStuckStep = z.object({
  tutorial: z.string(),
  step: z.number().int(),
  wrongAnswers: z.number().int().min(0),
  /** Mean time learners spent on the step before moving on, seconds (null when unknown). */
  dwellSeconds: z.number().min(0).nullable(),
});

export const WeeklyLearning = z.object({
  totalLearners: z.number().int().min(0),
  newLearners: z.number().int().min(0),
  completions: z.number().int().min(0),
  activeLearners: z.number().int().min(0),
  tutorials: z.array(WeeklyTutorial),
  stuck: z.array(WeeklyStuckStep),
});
export type WeeklyLearning = z.infer<typeof WeeklyLearning>;

export const WeeklyErrors = z.object({
  errors: z.number().int().min(0),
  warnings: z.number().int().min(0),
  topErrors: z.array(z.object({ message: z.string(), count: z.number().int().min(1) })),
  alerts: z.array(z.object({ rule: z.string(), raisedAt: z.string(), clearedAt: z.string().nullable(), message: z.string() })),
  /** Scheduled job runs that failed this week. */
  failedJobs: z.array(z.object({ job: z.string(), at: z.string(), error: z.string() })),
});
export type WeeklyErrors = z.infer<typeof WeeklyErrors>;

export const Recommendation = z.object({
  severity: z.enum(['action', 'watch', 'ok']),
  text: z.string(),
  /** The command that acts on it (null for an all-clear). */
  command: z.string().nullable(),
});
export type Recommendation = z.infer<typeof Recommendation>;

export const WeeklyReport = z.object({
  /** The report's date: the last day of the week it covers (YYYY-MM-DD). */
  date: z.string(),
  from: z.string(),
  to: z.string(),
  timezone: z.string(),
  generatedAt: z.string(),
  days: z.array(WeeklyDay),
  server: WeeklyServer,
  /** null when the learning database could not be read (said in `notes`). */
  learning: WeeklyLearning.nullable(),
  errors: WeeklyErrors,
  recommendations: z.array(Recommendation),
  /** What could not be measured, and why. */
  notes: z.array(z.string()),
});
export type WeeklyReport = z.infer<typeof WeeklyReport>;

export const ReportWeeklyParams = z
  .strictObject({
    /** The week ending on this day (YYYY-MM-DD); the last 7 days by default. */
    date: ReportDateParam.optional(),
  })
  .optional();

export const ReportWeeklyResult = z.object({
  report: WeeklyReport,
  markdownFile: z.string(),
  htmlFile: z.string(),
});
export type ReportWeeklyResult = z.infer<typeof ReportWeeklyResult>;
