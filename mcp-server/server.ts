import { McpServer, type McpRequestContext, type McpServerFactory } from '@modelcontextprotocol/server';
import type { Learner } from '../shared/store/users.js';
import { version } from '../shared/version.js';
import type { CallContext, ServerDeps } from './context.js';
import { registerPrompts } from './prompts/index.js';
import { registerResources } from './resources/index.js';
import { registerTools } from './tools/index.js';

const INSTRUCTIONS = `This server teaches the Model Context Protocol (MCP) itself, with short interactive tutorials.
Start with list_tutorials, then start_tutorial with a tutorial_id. Read each step, then call submit_step
(with an answer when the step asks a question). get_hint helps when stuck; get_progress shows how far you are.
Progress is saved on the server, so you can stop and come back at any time.`;

/**
 * What we advertise, stated rather than left to the SDK, which would claim `listChanged` for
 * tools, resources and prompts as soon as one is registered. Our lists are fixed for the life of
 * a process and no resource is subscribable, so a `subscriptions/listen` request is honoured
 * for nothing: the SDK then acknowledges it with an empty filter and closes the stream at once,
 * instead of holding an idle SSE stream (and its memory) open for a client (SDK issue #2650).
 */
const CAPABILITIES = {
  tools: { listChanged: false },
  resources: { listChanged: false },
  prompts: { listChanged: false },
} as const;

/** One MCP server instance with every tool, resource and prompt, for one caller. Cheap: no I/O. */
export function buildServer(call: CallContext, deps: ServerDeps): McpServer {
  const server = new McpServer(
    { name: 'mcp-starter', title: 'MCP Starter — learn MCP by using it', version: version() },
    { instructions: INSTRUCTIONS, capabilities: CAPABILITIES },
  );
  registerTools(server, call, deps);
  registerResources(server, call, deps);
  registerPrompts(server, call, deps);
  return server;
}

/** Reads the learner the HTTP layer put into `authInfo.extra` (it always does, after authentication). */
export function learnerFromAuth(ctx: McpRequestContext): Learner | undefined {
  const extra = ctx.authInfo?.extra;
  const id = extra?.['learnerId'];
  const name = extra?.['learnerName'];
  return typeof id === 'number' && typeof name === 'string' ? { id, name } : undefined;
}

function isProbe(ctx: McpRequestContext): boolean {
  return ctx.authInfo?.extra?.['probe'] === true;
}

/**
 * The factory both transports serve: per HTTP request or per stdio connection. The learner comes
 * from the transport (the token's learner over HTTP, the local learner over stdio), never from a
 * tool argument.
 */
export function serverFactory(deps: ServerDeps, localLearner: Learner): McpServerFactory {
  return (ctx) => {
    if (ctx.requestInfo === undefined) return buildServer({ learner: localLearner, transport: 'stdio' }, deps);
    const learner = learnerFromAuth(ctx);
    // The HTTP layer authenticates every request before it gets here; refuse rather than guess.
    if (!learner) throw new Error('HTTP request reached the MCP handler without an authenticated learner');
    return buildServer({ learner, transport: 'http', probe: isProbe(ctx) }, deps);
  };
}
