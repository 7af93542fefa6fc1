import { z } from 'zod';
import { StartTutorialOutput } from '../../shared/schemas/tools.js';
import { defineTool, TutorialId } from './define.js';
import { renderStep } from './render.js';

export const startTutorial = defineTool({
  name: 'start_tutorial',
  title: 'Start a tutorial',
  description: 'Starts a tutorial (or resumes it where you left off) and shows the step you are on.',
  inputSchema: z.strictObject({ tutorial_id: TutorialId }),
  outputSchema: StartTutorialOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run(args, call, deps) {
    const r = deps.learning.start(call.learner.id, args.tutorial_id);
    const intro = r.alreadyCompleted
      ? `You already completed "${r.view.tutorialTitle}". Here is its last step again; reset_progress lets you do it from the start.`
      : r.resumed
        ? `Welcome back: resuming "${r.view.tutorialTitle}" at step ${r.view.step}.`
        : `Started "${r.view.tutorialTitle}".`;
    return { text: `${intro}\n\n${renderStep(r.view)}`, data: { resumed: r.resumed, alreadyCompleted: r.alreadyCompleted, step: r.view } };
  },
});
