import { z } from 'zod';
import { GetHintOutput } from '../../shared/schemas/tools.js';
import { defineTool, TutorialId } from './define.js';

export const getHint = defineTool({
  name: 'get_hint',
  title: 'Get a hint',
  description: 'Gives a hint for the step you are on in a tutorial, without giving the answer away.',
  inputSchema: z.strictObject({ tutorial_id: TutorialId }),
  outputSchema: GetHintOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  run(args, call, deps) {
    const h = deps.learning.hint(call.learner.id, args.tutorial_id);
    return { text: `Hint for step ${h.step}: ${h.hint}`, data: { tutorialId: args.tutorial_id, ...h } };
  },
});
