import { z } from 'zod';
import { ResetProgressOutput } from '../../shared/schemas/tools.js';
import { AppError } from '../../shared/errors.js';
import { defineTool, TutorialId } from './define.js';

export const resetProgress = defineTool({
  name: 'reset_progress',
  title: 'Reset progress',
  description:
    'Resets your progress in one tutorial so you can do it again. To reset every tutorial, leave tutorial_id out and send confirm: true.',
  inputSchema: z.strictObject({
    tutorial_id: TutorialId.optional(),
    confirm: z.boolean({ error: 'confirm must be true or false' }).optional(),
  }),
  outputSchema: ResetProgressOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  run(args, call, deps) {
    if (args.tutorial_id === undefined && args.confirm !== true) {
      throw new AppError('E_BAD_PARAMS', 'Resetting every tutorial needs confirmation.', {
        hint: 'Send tutorial_id to reset one tutorial, or confirm: true to reset all of them.',
      });
    }
    const n = deps.learning.reset(call.learner.id, args.tutorial_id);
    const what = args.tutorial_id === undefined ? 'all tutorials' : `"${args.tutorial_id}"`;
    return {
      text:
        n === 0
          ? `Nothing to reset for ${what}: not started yet.`
          : `Reset ${what} (${n} tutorial${n === 1 ? '' : 's'}). start_tutorial begins again from step 1.`,
      data: { reset: n, tutorialId: args.tutorial_id ?? null },
    };
  },
});
