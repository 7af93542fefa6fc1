import type { McpServer } from '@modelcontextprotocol/server';
import type { CallContext, ServerDeps } from '../context.js';
import { registerTool, type ToolDef } from './define.js';
import { getHint } from './get-hint.js';
import { getProgress } from './get-progress.js';
import { getStep } from './get-step.js';
import { listTutorials } from './list-tutorials.js';
import { resetProgress } from './reset-progress.js';
import { startTutorial } from './start-tutorial.js';
import { submitStep } from './submit-step.js';

/** Every tool, in the order a learner meets them. */
export const TOOLS = [
  listTutorials,
  startTutorial,
  getStep,
  submitStep,
  getHint,
  getProgress,
  resetProgress,
] as unknown as readonly ToolDef[];

export function registerTools(server: McpServer, call: CallContext, deps: ServerDeps): void {
  for (const def of TOOLS) registerTool(server, def, call, deps);
}
