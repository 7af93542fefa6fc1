import { z } from 'zod';
import { GetStepOutput } from '../../shared/schemas/tools.js';
import { defineTool, StepNumber, TutorialId } from './define.js';
import { renderStep } from './render.js';

export const getStep = defineTool({
  name: 'get_step',
  title: 'Show a step',
  description: 'Shows the step you are on in a tutorial, or an earlier step by number (steps count from 1).',
  inputSchema: z.strictObject({ tutorial_id: TutorialId, step: StepNumber.optional() }),
  outputSchema: GetStepOutput,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run(args, call, deps) {
    const view = deps.learning.step(call.learner.id, args.tutorial_id, args.step);
    return { text: renderStep(view), data: { step: view } };
  },
});
