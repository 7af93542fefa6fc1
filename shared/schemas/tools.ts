import { z } from 'zod';
import { TutorialFile } from './catalog.js';

/**
 * What the MCP tools answer: the `structuredContent` of a successful `tools/call` result, one
 * schema per tool, advertised as the tool's `outputSchema` in `tools/list`. Clients and the
 * daemon's probe parse results with these instead of casting them.
 */

const Count = z.number().int().nonnegative();
/** Steps count from 1, as a learner counts them. */
const StepNo = z.number().int().min(1);
const IsoTime = z.string();

/** A learner's state in one tutorial. */
export const ProgressStatus = z.enum(['not_started', 'in_progress', 'completed']);
export type ProgressStatus = z.infer<typeof ProgressStatus>;

/** A step's question as a learner sees it: never the answer. */
export const QuestionView = z.object({
  kind: z.enum(['choice', 'text']),
  prompt: z.string(),
  /** "A) …" labels, for choice questions. */
  choices: z.array(z.string()).optional(),
  howToAnswer: z.string(),
});
export type QuestionView = z.infer<typeof QuestionView>;

/** One step of a tutorial as a learner reads it. */
export const StepView = z.object({
  tutorialId: z.string(),
  tutorialTitle: z.string(),
  step: StepNo,
  totalSteps: StepNo,
  stepId: z.string(),
  title: z.string(),
  body: z.string(),
  question: QuestionView.optional(),
  status: ProgressStatus,
});
export type StepView = z.infer<typeof StepView>;

/** One row of `list_tutorials` (and of the `tutorials://catalog` resource). */
export const TutorialSummary = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  level: TutorialFile.shape.level,
  estimatedMinutes: z.number().int().positive(),
  /** How many steps the tutorial has. */
  steps: StepNo,
  status: ProgressStatus,
  /** The step the learner is on, while in progress. */
  currentStep: StepNo.nullable(),
});
export type TutorialSummary = z.infer<typeof TutorialSummary>;

/** `list_tutorials`: every tutorial in the suggested order, with the caller's status in each. */
export const ListTutorialsOutput = z.object({ tutorials: z.array(TutorialSummary) });
export type ListTutorialsOutput = z.infer<typeof ListTutorialsOutput>;

/** `start_tutorial`: the step the learner is on after starting or resuming. */
export const StartTutorialOutput = z.object({
  resumed: z.boolean(),
  alreadyCompleted: z.boolean(),
  step: StepView,
});
export type StartTutorialOutput = z.infer<typeof StartTutorialOutput>;

/** `get_step`. */
export const GetStepOutput = z.object({ step: StepView });
export type GetStepOutput = z.infer<typeof GetStepOutput>;

/** `submit_step`: whether the answer was right, and what comes next. */
export const SubmitStepOutput = z.object({
  correct: z.boolean(),
  /** Set when the answer named none of the choices: how to answer. */
  formatHint: z.string().optional(),
  /** The step's hint, after a wrong answer. */
  hint: z.string().optional(),
  /** Why the answer is right, after a right one. */
  explanation: z.string().optional(),
  completed: z.boolean(),
  /** The step submitted was already done (a repeated call): nothing changed. */
  alreadyDone: z.boolean(),
  /** The step the learner is on now, unless the tutorial is completed. */
  next: StepView.optional(),
  /** Seconds from start to completion, once completed. */
  completionTimeSeconds: z.number().nonnegative().nullable().optional(),
});
export type SubmitStepOutput = z.infer<typeof SubmitStepOutput>;

/** `get_hint`. */
export const GetHintOutput = z.object({ tutorialId: z.string(), step: StepNo, hint: z.string() });
export type GetHintOutput = z.infer<typeof GetHintOutput>;

/** One tutorial in `get_progress`. */
export const TutorialProgress = z.object({
  id: z.string(),
  title: z.string(),
  status: ProgressStatus,
  /** The step the learner is on, while in progress. */
  step: StepNo.nullable(),
  totalSteps: StepNo,
  wrongAnswers: Count,
  hintsUsed: Count,
  startedAt: IsoTime.nullable(),
  completedAt: IsoTime.nullable(),
  completionTimeSeconds: z.number().nonnegative().nullable(),
});
export type TutorialProgress = z.infer<typeof TutorialProgress>;

/** `get_progress` (and the `progress://me` resource). */
export const GetProgressOutput = z.object({
  learner: z.string(),
  completed: Count,
  inProgress: Count,
  notStarted: Count,
  tutorials: z.array(TutorialProgress),
});
export type GetProgressOutput = z.infer<typeof GetProgressOutput>;

/** `reset_progress`: how many tutorials were reset. */
export const ResetProgressOutput = z.object({ reset: Count, tutorialId: z.string().nullable() });
export type ResetProgressOutput = z.infer<typeof ResetProgressOutput>;

/** Every tool's output schema, by tool name. */
export const TOOL_OUTPUTS = {
  list_tutorials: ListTutorialsOutput,
  start_tutorial: StartTutorialOutput,
  get_step: GetStepOutput,
  submit_step: SubmitStepOutput,
  get_hint: GetHintOutput,
  get_progress: GetProgressOutput,
  reset_progress: ResetProgressOutput,
} as const;
export type ToolName = keyof typeof TOOL_OUTPUTS;

/**
 * A tool error a learner can fix (an `isError` result), in the result's `_meta` under
 * {@link TOOL_ERROR_META_KEY}. Not in `structuredContent`: clients check that against the
 * tool's `outputSchema` even on errors (v1 SDK clients do), and an error matches none.
 */
export const ToolError = z.object({ code: z.string(), message: z.string(), hint: z.string().optional() });
export type ToolError = z.infer<typeof ToolError>;

/** The `_meta` key of a tool error result that holds its {@link ToolError}. */
export const TOOL_ERROR_META_KEY = 'mcp-starter/error';

/** The `_meta` of a tool error result (other keys, such as the SDK's, pass through). */
export const ToolErrorMeta = z.looseObject({ [TOOL_ERROR_META_KEY]: ToolError });
