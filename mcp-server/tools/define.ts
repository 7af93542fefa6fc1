import type { CallToolResult, McpServer, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { AppError, toAppError } from '../../shared/errors.js';
import type { CallContext, ServerDeps } from '../context.js';

export interface ToolOutput {
  /** What a person (or the model) reads. */
  text: string;
  /** The same answer as data, for clients and scripts. */
  data: Record<string, unknown>;
}

export interface ToolDef<S extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: S;
  annotations: ToolAnnotations;
  run(args: z.output<S>, call: CallContext, deps: ServerDeps): ToolOutput;
}

/** Keeps each tool's argument types checked against its own schema. */
export function defineTool<S extends z.ZodObject>(def: ToolDef<S>): ToolDef<S> {
  return def;
}

/** Shared argument schemas, with messages that tell a beginner what to send. */
export const TutorialId = z
  .string({ error: 'tutorial_id must be a text id such as "what-is-mcp" (list_tutorials shows them all)' })
  .trim()
  .min(1, 'tutorial_id is empty: send an id such as "what-is-mcp" (list_tutorials shows them all)')
  .max(64, 'tutorial_id is too long: ids are short, such as "what-is-mcp" (list_tutorials shows them all)');

export const StepNumber = z
  .number({ error: 'step must be a whole number such as 1 (leave it out for the step you are on)' })
  .int('step must be a whole number such as 1')
  .min(1, 'steps are numbered from 1')
  .max(50, 'no tutorial has that many steps: leave step out for the step you are on');

function errorResult(err: AppError): CallToolResult {
  const text = err.hint === undefined ? err.message : `${err.message}\nWhat to do: ${err.hint}`;
  return { content: [{ type: 'text', text }], structuredContent: { error: err.toJSON() }, isError: true };
}

type JsonSchema = { properties?: Record<string, { type?: string }>; required?: string[] };

interface Advertised {
  schema: StandardSchemaWithJSON<Record<string, unknown>>;
  /** "tutorial_id (string, required), step (integer, optional)" */
  takes: string;
}

const advertised = new WeakMap<z.ZodObject, Advertised>();

/**
 * What the SDK gets as a tool's input schema: our JSON Schema, converted once per process (not
 * once per request, as the per-request server factory would otherwise do), and a pass-through
 * validator, so that validation happens in `registerTool` below, where a bad argument is logged as
 * a failed `tool_call` and answered in words a beginner can act on.
 */
function advertise(schema: z.ZodObject): Advertised {
  let a = advertised.get(schema);
  if (a) return a;
  const json = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown> & JsonSchema;
  const required = new Set(json.required ?? []);
  const takes = Object.entries(json.properties ?? {})
    .map(([k, v]) => `${k} (${v.type ?? 'value'}, ${required.has(k) ? 'required' : 'optional'})`)
    .join(', ');
  a = {
    schema: {
      '~standard': {
        version: 1,
        vendor: 'mcp-starter',
        validate: (value: unknown) => ({ value: (value ?? {}) as Record<string, unknown> }),
        jsonSchema: { input: () => json, output: () => json },
      },
    },
    takes: takes === '' ? 'no arguments' : takes,
  };
  advertised.set(schema, a);
  return a;
}

function argumentError(def: ToolDef, issues: z.core.$ZodIssue[], takes: string): AppError {
  const problems = issues.map((i) =>
    i.code === 'unrecognized_keys'
      ? `unknown argument${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`
      : i.message,
  );
  return new AppError('E_BAD_PARAMS', `Invalid arguments for ${def.name}: ${problems.join('; ')}.`, {
    hint: `${def.name} takes: ${takes}.`,
  });
}

/** Registers a tool: identity from the transport, activity tracking, `tool_call` logging, errors as `isError` results. */
export function registerTool(server: McpServer, def: ToolDef, call: CallContext, deps: ServerDeps): void {
  const { schema, takes } = advertise(def.inputSchema);
  server.registerTool(
    def.name,
    { title: def.title, description: def.description, inputSchema: schema, annotations: def.annotations },
    (raw: Record<string, unknown>): CallToolResult => {
      const t0 = performance.now();
      let ok = false;
      try {
        if (!call.probe) deps.activity.touch(call.learner, call.transport);
        const parsed = def.inputSchema.safeParse(raw);
        if (!parsed.success) throw argumentError(def, parsed.error.issues, takes);
        const out = def.run(parsed.data, call, deps);
        ok = true;
        return { content: [{ type: 'text', text: out.text }], structuredContent: out.data };
      } catch (err) {
        const appErr = toAppError(err);
        if (appErr.code === 'E_INTERNAL') deps.log.error({ err, tool: def.name }, 'tool failed');
        return errorResult(appErr);
      } finally {
        deps.log[call.probe ? 'debug' : 'info'](
          { event: 'tool_call', tool: def.name, ms: Math.round((performance.now() - t0) * 100) / 100, ok, learner: call.learner.name },
          'tool call',
        );
      }
    },
  );
}
