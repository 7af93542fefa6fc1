import { ResourceTemplate, type McpServer, type ReadResourceResult } from '@modelcontextprotocol/server';
import { AppError } from '../../shared/errors.js';
import type { CallContext, ServerDeps } from '../context.js';

function logAccess(deps: ServerDeps, call: CallContext, uri: string): void {
  if (call.probe) return;
  deps.activity.touch(call.learner, call.transport);
  deps.log.info({ event: 'resource_access', uri, learner: call.learner.name }, 'resource read');
}

function json(uri: string, data: unknown): ReadResourceResult {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(data, null, 2) }] };
}

/** The tutorial as one Markdown document: every step and question, never the answers. */
function tutorialMarkdown(deps: ServerDeps, id: string): string {
  const t = deps.learning.tutorial(id);
  const parts = [`# ${t.title}`, '', t.summary, '', `Level: ${t.level} · about ${t.estimatedMinutes} minutes · ${t.steps.length} steps`];
  t.steps.forEach((s, i) => {
    parts.push('', `## Step ${i + 1}: ${s.title}`, '', s.body);
    if (s.question)
      parts.push(
        '',
        `**Question:** ${s.question.prompt}`,
        ...(s.question.kind === 'choice' ? s.question.choices.map((c, j) => `${'ABCDEF'[j] ?? j + 1}) ${c}`) : []),
      );
  });
  parts.push('', `Work through it with start_tutorial { "tutorial_id": "${t.id}" }.`);
  return parts.join('\n');
}

export function registerResources(server: McpServer, call: CallContext, deps: ServerDeps): void {
  server.registerResource(
    'catalog',
    'tutorials://catalog',
    { title: 'Tutorial catalogue', description: 'Every tutorial with your status in it.', mimeType: 'application/json' },
    (uri) => {
      logAccess(deps, call, uri.href);
      return json(uri.href, { tutorials: deps.learning.list(call.learner.id) });
    },
  );
  server.registerResource(
    'tutorial',
    new ResourceTemplate('tutorial://{id}', {
      list: () => ({
        resources: deps.catalog.tutorials.map((t) => ({
          uri: `tutorial://${t.id}`,
          name: t.id,
          title: deps.catalog.get(t.id, deps.locale)?.title ?? t.title,
          mimeType: 'text/markdown',
        })),
      }),
      complete: { id: (value) => deps.catalog.tutorials.map((t) => t.id).filter((id) => id.startsWith(value)) },
    }),
    { title: 'A tutorial', description: 'One tutorial in full, as Markdown (questions without answers).', mimeType: 'text/markdown' },
    (uri, variables) => {
      logAccess(deps, call, uri.href);
      const id = variables['id'];
      if (typeof id !== 'string' || id === '') {
        throw new AppError('E_UNKNOWN_TUTORIAL', `${uri.href} names no tutorial.`, { hint: 'Read tutorial://what-is-mcp, for example.' });
      }
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: tutorialMarkdown(deps, decodeURIComponent(id)) }] };
    },
  );
  server.registerResource(
    'my-progress',
    'progress://me',
    { title: 'My progress', description: 'Your progress in every tutorial.', mimeType: 'application/json' },
    (uri) => {
      logAccess(deps, call, uri.href);
      return json(uri.href, deps.learning.progressOf(call.learner.id, call.learner.name));
    },
  );
}
