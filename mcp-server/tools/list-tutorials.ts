import { z } from 'zod';
import { ListTutorialsOutput } from '../../shared/schemas/tools.js';
import { defineTool } from './define.js';
import { renderTutorialLine } from './render.js';

export const listTutorials = defineTool({
  name: 'list_tutorials',
  title: 'List tutorials',
  description: 'Lists the MCP tutorials in order, with your status in each. Start here, then call start_tutorial with a tutorial id.',
  inputSchema: z.strictObject({}),
  outputSchema: ListTutorialsOutput,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run(_args, call, deps) {
    const tutorials = deps.learning.list(call.learner.id);
    const text = [
      `${tutorials.length} tutorials about MCP, in the suggested order:`,
      '',
      ...tutorials.map(renderTutorialLine),
      '',
      'Call start_tutorial with a tutorial_id to begin (or to resume where you left off).',
    ].join('\n');
    return { text, data: { tutorials } };
  },
});
