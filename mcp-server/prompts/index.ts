import { completable, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { normaliseAnswer } from '../answers.js';
import type { CallContext, ServerDeps } from '../context.js';

const user = (text: string) => ({ messages: [{ role: 'user' as const, content: { type: 'text' as const, text } }] });

// Built once per process: the per-request server factory only registers them.
const ExplainArgs = z.object({
  concept: z
    .string({ error: 'concept must be text, such as "resources"' })
    .trim()
    .min(1, 'name a concept, such as "tools"')
    .max(200, 'keep the concept short'),
});

let tutorialIds: readonly string[] = [];
const QuizArgs = z.object({
  tutorial_id: completable(z.string({ error: 'tutorial_id must be text such as "tools"' }).trim().min(1).max(64), (value) =>
    tutorialIds.filter((id) => id.startsWith(value)),
  ),
});

export function registerPrompts(server: McpServer, call: CallContext, deps: ServerDeps): void {
  if (tutorialIds.length === 0) tutorialIds = deps.catalog.tutorials.map((t) => t.id);

  server.registerPrompt(
    'explain_concept',
    {
      title: 'Explain an MCP concept',
      description:
        'Asks the assistant to explain an MCP concept (tools, resources, transports, …) for a beginner, grounded in the tutorials.',
      argsSchema: ExplainArgs,
    },
    ({ concept }) => {
      deps.activity.touch(call.learner, call.transport);
      const key = normaliseAnswer(concept);
      const related = deps.catalog.tutorials
        .map((t) => deps.catalog.get(t.id, deps.locale) ?? t)
        .filter((t) => normaliseAnswer(`${t.id} ${t.title} ${t.summary}`).includes(key))
        .slice(0, 2);
      const grounding = related.length
        ? `\n\nThe learner's tutorials cover it here:\n${related.map((t) => `- ${t.title} (tutorial://${t.id}): ${t.summary}`).join('\n')}`
        : '';
      return user(
        `Explain the Model Context Protocol concept "${concept}" to a beginner. Use a short everyday analogy, then a concrete example of the JSON-RPC messages involved, and end with one question that checks understanding.${grounding}`,
      );
    },
  );

  server.registerPrompt(
    'quiz_me',
    {
      title: 'Quiz me',
      description: 'Asks the assistant to quiz you on a tutorial, one question at a time.',
      argsSchema: QuizArgs,
    },
    ({ tutorial_id }) => {
      deps.activity.touch(call.learner, call.transport);
      const t = deps.learning.tutorial(tutorial_id);
      const questions = t.steps.flatMap((s) =>
        s.question
          ? [
              s.question.kind === 'choice'
                ? `- ${s.question.prompt} Choices: ${s.question.choices.join(' | ')}. Right answer: ${s.question.choices[s.question.answer] ?? ''}. Why: ${s.question.explanation}`
                : `- ${s.question.prompt} Accepted answers: ${s.question.accept.join(', ')}. Why: ${s.question.explanation}`,
            ]
          : [],
      );
      return user(
        `Quiz me on the MCP tutorial "${t.title}". Ask one question at a time and wait for my answer; tell me whether I was right and why, then ask the next. Do not reveal an answer before I try. Use these questions (answers are for you only), then make up two more on the same material:\n${questions.join('\n')}`,
      );
    },
  );
}
