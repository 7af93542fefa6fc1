import type { CallToolResult, McpServer, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { AppError, toAppError } from '../../shared/errors.js';
import { TOOL_ERROR_META_KEY, type ToolError, type ToolName } from '../../shared/schemas/tools.js';
import { diskFaultOf } from '../../shared/sqlite.js';
import type { CallContext, ServerDeps } from '../context.js';
import { diskFaultError } from '../store/disk-guard.js';

export interface ToolOutput<O extends z.ZodObject = z.ZodObject> {
  /** What a person (or the model) reads. */
  text: string;
  /** The same answer as data, for clients and scripts: the tool's output schema. */
  data: z.input<O>;
}

export interface ToolDef<S extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: ToolName;
  title: string;
  description: string;
  inputSchema: S;
  /** The shape of `structuredContent` on success (shared/schemas/tools.ts). */
  outputSchema: O;
  annotations: ToolAnnotations;
  run(args: z.output<S>, call: CallContext, deps: ServerDeps): ToolOutput<O>;
}

/** Keeps each tool's argument and result types checked against its own schemas. */
export function defineTool<S extends z.ZodObject, O extends z.ZodObject>(def: ToolDef<S, O>): ToolDef<S, O> {
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

/**
 * A tool error the learner can act on. The code travels in `_meta`, not in `structuredContent`:
 * clients may check `structuredContent` against the tool's output schema even on an error (the
 * v1 SDK client does), and an error object matches no success schema.
 */
function errorResult(err: AppError): CallToolResult {
  const text = err.hint === undefined ? err.message : `${err.message}\nWhat to do: ${err.hint}`;
  const error: ToolError = err.toJSON();
  return { content: [{ type: 'text', text }], isError: true, _meta: { [TOOL_ERROR_META_KEY]: error } };
}

type JsonSchema = { properties?: Record<string, { type?: string }>; required?: string[] };

type Schema = StandardSchemaWithJSON<Record<string, unknown>>;

interface Advertised {
  input: Schema;
  output: Schema;
  /** "tutorial_id (string, required), step (integer, optional)" */
  takes: string;
}

const advertised = new WeakMap<ToolDef, Advertised>();

/** A JSON Schema as the SDK takes it, with a pass-through validator. */
function passThrough(json: Record<string, unknown>): Schema {
  return {
    '~standard': {
      version: 1,
      vendor: 'mcp-starter',
      validate: (value: unknown) => ({ value: (value ?? {}) as Record<string, unknown> }),
      jsonSchema: { input: () => json, output: () => json },
    },
  };
}

/**
 * What the SDK gets as a tool's input and output schemas: our JSON Schemas, converted once per
 * process (not once per request, as the per-request server factory would otherwise do), with
 * pass-through validators, so that validation happens in `registerTool` below: a bad argument is
 * logged as a failed `tool_call` and answered in words a beginner can act on, and a result is
 * parsed against its output schema before it leaves.
 */
function advertise(def: ToolDef): Advertised {
  let a = advertised.get(def);
  if (a) return a;
  const json = z.toJSONSchema(def.inputSchema, { io: 'input' }) as Record<string, unknown> & JsonSchema;
  const required = new Set(json.required ?? []);
  const takes = Object.entries(json.properties ?? {})
    .map(([k, v]) => `${k} (${v.type ?? 'value'}, ${required.has(k) ? 'required' : 'optional'})`)
    .join(', ');
  a = {
    input: passThrough(json),
    output: passThrough(z.toJSONSchema(def.outputSchema, { io: 'output' })),
    takes: takes === '' ? 'no arguments' : takes,
  };
  advertised.set(def, a);
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

/**
 * The error a tool call answers with. Writes come through the store's disk guard already as the
 * learner's "not saved, your progress is safe" error; a read the disk fails gets the same kind of
 * answer here, never "this is a bug".
 */
function toolError(err: unknown, def: ToolDef, deps: ServerDeps): AppError {
  if (err instanceof AppError) return err;
  const fault = diskFaultOf(err);
  if (!fault) return toAppError(err);
  deps.log.warn({ err, tool: def.name, kind: fault.kind, code: fault.code }, 'the disk failed a read');
  return diskFaultError(fault, 'request');
}

/** Registers a tool: identity from the transport, activity tracking, `tool_call` logging, errors as `isError` results. */
export function registerTool(server: McpServer, def: ToolDef, call: CallContext, deps: ServerDeps): void {
  const { input, output, takes } = advertise(def);
  server.registerTool(
    def.name,
    { title: def.title, description: def.description, inputSchema: input, outputSchema: output, annotations: def.annotations },
    (raw: Record<string, unknown>): CallToolResult => {
      const t0 = performance.now();
      let ok = false;
      try {
        if (!call.probe) deps.activity.touch(call.learner, call.transport);
        const parsed = def.inputSchema.safeParse(raw);
        if (!parsed.success) throw argumentError(def, parsed.error.issues, takes);
        const out = def.run(parsed.data, call, deps);
        // The advertised schema has additionalProperties: false, so what leaves is the parsed value.
        const data = def.outputSchema.safeParse(out.data);
        if (!data.success) {
          throw new AppError(
            'E_INTERNAL',
            `${def.name} built a result that does not match its output schema: ${z.prettifyError(data.error)}`,
            {
              hint: 'This is a bug in mcp-starter, not in your call: please report it with the server log.',
            },
          );
        }
        ok = true;
        return { content: [{ type: 'text', text: out.text }], structuredContent: data.data };
      } catch (err) {
        const appErr = toolError(err, def, deps);
        if (appErr.code === 'E_INTERNAL') deps.log.error({ err, tool: def.name }, 'tool failed');
        return errorResult(appErr);
      } finally {
        // The daemon's probe is not a learner: at debug level its calls are logged, marked so analysis skips them.
        const ms = Math.round((performance.now() - t0) * 100) / 100;
        if (call.probe) deps.log.debug({ event: 'tool_call', tool: def.name, ms, ok, probe: true }, 'probe tool call');
        else deps.log.info({ event: 'tool_call', tool: def.name, ms, ok, learner: call.learner.name }, 'tool call');
      }
    },
  );
}
