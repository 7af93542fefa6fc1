import { z } from 'zod';
import { GetProgressOutput } from '../../shared/schemas/tools.js';
import { defineTool, TutorialId } from './define.js';
import { statusLabel } from './render.js';

export const getProgress = defineTool({
  name: 'get_progress',
  title: 'Show my progress',
  description: 'Shows your progress in every tutorial, or in one tutorial when tutorial_id is given.',
  inputSchema: z.strictObject({ tutorial_id: TutorialId.optional() }),
  outputSchema: GetProgressOutput,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run(args, call, deps) {
    const p = deps.learning.progressOf(call.learner.id, call.learner.name, args.tutorial_id);
    const lines = [
      `Progress for ${p.learner}: ${p.completed} completed, ${p.inProgress} in progress, ${p.notStarted} not started.`,
      ...p.tutorials.map(
        (t) => `- ${t.title} (\`${t.id}\`): ${statusLabel(t.status)}${t.step !== null ? `, step ${t.step}/${t.totalSteps}` : ''}`,
      ),
    ];
    return { text: lines.join('\n'), data: { ...p } };
  },
});
