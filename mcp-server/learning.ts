import { AppError } from '../shared/errors.js';
import type { Question, TutorialFile, TutorialStep } from '../shared/schemas/catalog.js';
import type {
  GetProgressOutput,
  ProgressStatus,
  QuestionView,
  StepView,
  SubmitStepOutput,
  TutorialSummary,
} from '../shared/schemas/tools.js';
import type { StepFacts } from '../shared/store/answers.js';
import { checkAnswer, CHOICE_LETTERS } from './answers.js';
import type { Catalog } from './catalog-loader.js';
import type { ProgressRow, ProgressStore } from './store/progress.js';

function questionView(q: Question): QuestionView {
  if (q.kind === 'choice') {
    return {
      kind: 'choice',
      prompt: q.prompt,
      choices: q.choices.map((c, i) => `${CHOICE_LETTERS[i] ?? String(i + 1)}) ${c}`),
      howToAnswer: `Call submit_step with answer set to the letter of your choice, e.g. "${CHOICE_LETTERS[0]}".`,
    };
  }
  return { kind: 'text', prompt: q.prompt, howToAnswer: 'Call submit_step with answer set to a short answer (a word or two).' };
}

const nowIso = (): string => new Date().toISOString();

/** The learning rules: what a learner may see and do next. Tools are a thin layer over this. */
export class Learning {
  constructor(
    private readonly catalog: Catalog,
    private readonly progress: ProgressStore,
    private readonly locale: string,
  ) {}

  tutorial(id: string): TutorialFile {
    const t = this.catalog.get(id, this.locale);
    if (!t) {
      const ids = this.catalog.tutorials.map((x) => `"${x.id}"`).join(', ');
      throw new AppError('E_UNKNOWN_TUTORIAL', `There is no tutorial "${id}".`, {
        hint: `Use one of these tutorial_id values: ${ids}. The list_tutorials tool shows them with their titles.`,
      });
    }
    return t;
  }

  list(user: number): TutorialSummary[] {
    const rows = this.progress.list(user);
    return this.catalog.tutorials.map((base) => {
      const t = this.catalog.get(base.id, this.locale) ?? base;
      const row = rows.get(t.id);
      const status = row?.status ?? 'not_started';
      return {
        id: t.id,
        title: t.title,
        summary: t.summary,
        level: t.level,
        estimatedMinutes: t.estimatedMinutes,
        steps: t.steps.length,
        status,
        currentStep: status === 'in_progress' && row ? this.clamp(t, row.current_step) + 1 : null,
      };
    });
  }

  /** Starts a tutorial, or resumes it where the learner left off. */
  start(user: number, tutorialId: string): { view: StepView; resumed: boolean; alreadyCompleted: boolean } {
    const t = this.tutorial(tutorialId);
    const started = this.progress.start(user, t.id, nowIso());
    const row = this.row(user, t.id);
    return {
      view: this.view(t, this.clamp(t, row.current_step), row.status),
      resumed: !started && row.status === 'in_progress',
      alreadyCompleted: row.status === 'completed',
    };
  }

  /** A step the learner has reached (the current one by default); later steps stay locked. */
  step(user: number, tutorialId: string, step?: number): StepView {
    const t = this.tutorial(tutorialId);
    const row = this.startedRow(user, t);
    const reached = row.status === 'completed' ? t.steps.length - 1 : this.clamp(t, row.current_step);
    const index = step === undefined ? reached : step - 1;
    this.checkRange(t, index);
    if (index > reached) {
      throw new AppError('E_WRONG_STEP', `Step ${index + 1} of "${t.id}" is not unlocked yet; you are on step ${reached + 1}.`, {
        hint: `Finish step ${reached + 1} first (get_step shows it, submit_step completes it).`,
      });
    }
    return this.view(t, index, row.status);
  }

  /** Submits the current step: checks the answer where the step has a question, then advances. */
  submit(user: number, tutorialId: string, step: number | undefined, answer: string | undefined): SubmitStepOutput {
    const t = this.tutorial(tutorialId);
    const row = this.startedRow(user, t);
    if (row.status === 'completed') {
      if (step !== undefined) this.checkRange(t, step - 1);
      return { correct: true, completed: true, alreadyDone: true, completionTimeSeconds: row.completion_time };
    }
    const current = this.clamp(t, row.current_step);
    const index = step === undefined ? current : step - 1;
    this.checkRange(t, index);
    if (index < current) return { correct: true, completed: false, alreadyDone: true, next: this.view(t, current, row.status) };
    if (index > current) {
      throw new AppError('E_WRONG_STEP', `You are on step ${current + 1} of "${t.id}", not step ${index + 1}.`, {
        hint: `Submit step ${current + 1} first, or leave out "step" to submit the step you are on.`,
      });
    }
    const s = t.steps[index] as TutorialStep;
    const facts: StepFacts = { step: index, stepKey: s.id, totalSteps: t.steps.length, asked: s.question !== undefined };
    if (s.question) {
      if (answer === undefined || answer.trim() === '') {
        throw new AppError('E_ANSWER_REQUIRED', `Step ${index + 1} asks a question: ${s.question.prompt}`, {
          hint: questionView(s.question).howToAnswer,
        });
      }
      const check = checkAnswer(s.question, answer);
      if (!check.correct) {
        this.progress.recordWrongAnswer(user, t.id, facts, nowIso());
        return {
          correct: false,
          completed: false,
          alreadyDone: false,
          hint: s.hint,
          ...(check.understood ? {} : { formatHint: questionView(s.question).howToAnswer }),
        };
      }
    }
    const now = nowIso();
    const explanation = s.question?.explanation;
    if (index === t.steps.length - 1) {
      const done = this.progress.complete(user, t.id, facts, now);
      const after = this.row(user, t.id);
      return {
        correct: true,
        completed: true,
        alreadyDone: !done,
        completionTimeSeconds: after.completion_time,
        ...(explanation ? { explanation } : {}),
      };
    }
    const moved = this.progress.advance(user, t.id, facts, now);
    return {
      correct: true,
      completed: false,
      alreadyDone: !moved,
      next: this.view(t, index + 1, 'in_progress'),
      ...(explanation ? { explanation } : {}),
    };
  }

  /** The hint for the current step (counted, for the learning report). */
  hint(user: number, tutorialId: string): { step: number; hint: string } {
    const t = this.tutorial(tutorialId);
    const row = this.startedRow(user, t);
    const index = row.status === 'completed' ? t.steps.length - 1 : this.clamp(t, row.current_step);
    this.progress.recordHint(user, t.id, nowIso());
    return { step: index + 1, hint: (t.steps[index] as TutorialStep).hint };
  }

  progressOf(user: number, learner: string, tutorialId?: string): GetProgressOutput {
    if (tutorialId !== undefined) this.tutorial(tutorialId);
    const rows = this.progress.list(user);
    const tutorials = this.catalog.tutorials
      .filter((t) => tutorialId === undefined || t.id === tutorialId)
      .map((base) => {
        const t = this.catalog.get(base.id, this.locale) ?? base;
        const r = rows.get(t.id);
        const status = r?.status ?? 'not_started';
        return {
          id: t.id,
          title: t.title,
          status,
          step: status === 'in_progress' && r ? this.clamp(t, r.current_step) + 1 : null,
          totalSteps: t.steps.length,
          wrongAnswers: r?.wrong_answers ?? 0,
          hintsUsed: r?.hints_used ?? 0,
          startedAt: r?.started_at ?? null,
          completedAt: r?.completed_at ?? null,
          completionTimeSeconds: r?.completion_time ?? null,
        };
      });
    const count = (s: ProgressStatus): number => tutorials.filter((x) => x.status === s).length;
    return { learner, completed: count('completed'), inProgress: count('in_progress'), notStarted: count('not_started'), tutorials };
  }

  reset(user: number, tutorialId: string | undefined): number {
    if (tutorialId !== undefined) this.tutorial(tutorialId);
    return this.progress.reset(user, tutorialId, nowIso());
  }

  private row(user: number, id: string): ProgressRow {
    const row = this.progress.get(user, id);
    if (!row) throw new AppError('E_INTERNAL', `Progress for "${id}" vanished while it was written.`);
    return row;
  }

  private startedRow(user: number, t: TutorialFile): ProgressRow {
    const row = this.progress.get(user, t.id);
    if (!row || row.status === 'not_started') {
      throw new AppError('E_NOT_STARTED', `You have not started "${t.id}" yet.`, {
        hint: `Call start_tutorial with tutorial_id "${t.id}" first.`,
      });
    }
    return row;
  }

  /** A step index within the tutorial, even if the tutorial lost steps since the row was written. */
  private clamp(t: TutorialFile, index: number): number {
    return Math.max(0, Math.min(index, t.steps.length - 1));
  }

  private checkRange(t: TutorialFile, index: number): void {
    if (index < 0 || index >= t.steps.length) {
      throw new AppError('E_WRONG_STEP', `"${t.id}" has steps 1 to ${t.steps.length}; there is no step ${index + 1}.`, {
        hint: `Send a step number from 1 to ${t.steps.length}, or leave "step" out for the step you are on.`,
      });
    }
  }

  private view(t: TutorialFile, index: number, status: ProgressStatus): StepView {
    const s = t.steps[index] as TutorialStep;
    return {
      tutorialId: t.id,
      tutorialTitle: t.title,
      step: index + 1,
      totalSteps: t.steps.length,
      stepId: s.id,
      title: s.title,
      body: s.body,
      ...(s.question ? { question: questionView(s.question) } : {}),
      status,
    };
  }
}
