import type { StepView, TutorialSummary } from '../../shared/schemas/tools.js';

/** A step as a learner reads it: title, text, and the question with how to answer. */
export function renderStep(v: StepView): string {
  const lines = [`# ${v.tutorialTitle} — step ${v.step} of ${v.totalSteps}: ${v.title}`, '', v.body];
  if (v.question) {
    lines.push('', `**Question:** ${v.question.prompt}`);
    if (v.question.choices) lines.push(...v.question.choices);
    lines.push('', v.question.howToAnswer);
  } else {
    lines.push('', `When you are ready, call submit_step with tutorial_id "${v.tutorialId}" to continue.`);
  }
  return lines.join('\n');
}

const STATUS_LABEL = { not_started: 'not started', in_progress: 'in progress', completed: 'completed ✓' } as const;

export function renderTutorialLine(t: TutorialSummary): string {
  const where = t.currentStep !== null ? `, on step ${t.currentStep}/${t.steps}` : '';
  return `- **${t.title}** (id: \`${t.id}\`, ${t.level}, ~${t.estimatedMinutes} min, ${t.steps} steps) — ${STATUS_LABEL[t.status]}${where}\n  ${t.summary}`;
}

export function statusLabel(status: keyof typeof STATUS_LABEL): string {
  return STATUS_LABEL[status];
}
