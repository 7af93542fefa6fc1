import { z } from 'zod';
import { SubmitStepOutput } from '../../shared/schemas/tools.js';
import { defineTool, StepNumber, TutorialId } from './define.js';
import { renderStep } from './render.js';

export const submitStep = defineTool({
  name: 'submit_step',
  title: 'Submit a step',
  description:
    'Completes the step you are on. If the step asks a question, send your answer: a letter such as "B" for multiple choice, or a word or two. A right answer moves you to the next step; the last step completes the tutorial.',
  inputSchema: z.strictObject({
    tutorial_id: TutorialId,
    answer: z
      .string({ error: 'answer must be text, such as "B" or "stdio"' })
      .max(2_000, 'answer is too long: send a letter such as "B", or a word or two')
      .optional(),
    step: StepNumber.optional().describe('Optional safety check: the step number you are answering. Leave it out for the step you are on.'),
  }),
  outputSchema: SubmitStepOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  run(args, call, deps) {
    const r = deps.learning.submit(call.learner.id, args.tutorial_id, args.step, args.answer);
    const lines: string[] = [];
    if (!r.correct) {
      lines.push('Not quite — try again.', `Hint: ${r.hint ?? ''}`);
      if (r.formatHint) lines.push(r.formatHint);
    } else if (r.completed) {
      lines.push(r.alreadyDone ? 'This tutorial is already completed.' : '🎉 Correct — and that was the last step: tutorial completed!');
      if (r.explanation) lines.push(r.explanation);
      lines.push('list_tutorials shows what to learn next.');
    } else {
      lines.push(
        r.alreadyDone ? 'That step was already done; here is the step you are on.' : r.explanation ? `Correct! ${r.explanation}` : 'Done.',
      );
      if (r.next) lines.push('', renderStep(r.next));
    }
    return { text: lines.join('\n'), data: { ...r } };
  },
});
