import type { z } from 'zod';
import { AppError, EXIT, type ExitCode } from '../shared/errors.js';
import type { DataPaths } from '../shared/paths.js';
import type { MethodName, StatusResult } from '../shared/schemas/rpc.js';
import { UsageError, usageHint, usageMessage } from './args.js';
import { callDaemon, ControlClient, type RpcParams, type RpcResult } from './client.js';
import { STATUS_MS } from './waits.js';

/**
 * How a ctl command is built: its argv schema, how it gets its answer (the daemon, the data dir,
 * or both), how it renders. The command table is commands.ts and the commands-*.ts it spreads.
 */

/** What a command gets besides its params: where the daemon and the data are. */
export interface Context {
  paths: DataPaths;
  socket: string;
  /** --config, else MCP_STARTER_CONFIG: the file the daemon is told to load (undefined: defaults and environment). */
  configFile: string | undefined;
  env: NodeJS.ProcessEnv;
  /** MCP_STARTER_CTL_TIMEOUT_MS: replaces every command's own wait for the daemon. */
  timeoutOverrideMs: number | undefined;
  /** A note for stderr (never stdout, so `--json` output stays one document). */
  warn: (text: string) => void;
  /** Says on the terminal what a wait is for, until the returned function ends it. */
  waiting: (text: string) => () => void;
  /** --json: for a command that owns stdout (`top`), which prints JSON lines itself. */
  json: boolean;
}

export type Outcome =
  /** Printed as JSON (`result`) or as text (`human`). */
  | { kind: 'result'; result: unknown; human: string; exit: ExitCode; jsonWarning: string | undefined }
  /** The command owned stdout itself (connect): only its exit code is left. */
  | { kind: 'exit'; exit: number };

/** How a command gets its answer: from the daemon, from the data dir, or from the daemon with the data dir as fallback. */
export interface Runner<A, R> {
  rpc: MethodName | undefined;
  offline: 'never' | 'always' | 'fallback';
  run(params: A, ctx: Context): Promise<R>;
}

/** One row of the command table, as main.ts and the help text see it. */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  details: string | undefined;
  positionals: readonly string[];
  rpc: MethodName | undefined;
  offline: Runner<unknown, unknown>['offline'];
  execute(input: Record<string, unknown>, ctx: Context): Promise<Outcome>;
}

/**
 * How a command reads argv (its flags, and positionals by name). A command that takes none needs
 * no schema, so `status` never loads zod (issue 7); the others load theirs from params.ts.
 */
export type Params<A> = { kind: 'none'; value: A } | { kind: 'schema'; load: () => Promise<z.ZodType<A>> };

export const NONE: Params<undefined> = { kind: 'none', value: undefined };

/** A command's argv schema, loaded from params.ts when the command runs. */
export function schema<A>(load: () => Promise<z.ZodType<A>>): Params<A> {
  return { kind: 'schema', load };
}

export const argvSchemas = (): Promise<typeof import('./params.js')> => import('./params.js');

export interface Spec<A, R> {
  name: string;
  usage: string;
  summary: string;
  details?: string;
  positionals?: readonly string[];
  params: Params<A>;
  run: Runner<A, R>;
  render: (result: R) => string;
  /** What `--json` prints, when it is not the result itself. */
  json?: (result: R) => unknown;
  /** 0 unless the answer is bad (DESIGN: exit 1). */
  exit?: (result: R) => ExitCode;
  /** Said on stderr with `--json`, where the human text (which says it) is not shown. */
  jsonWarning?: string;
}

type Usage = { name: string; usage: string };

async function readParams<A>(spec: Usage & { params: Params<A> }, input: Record<string, unknown>): Promise<A> {
  const { params } = spec;
  if (params.kind === 'none') {
    const extra = Object.keys(input);
    if (extra.length > 0)
      throw new UsageError(`\`${spec.name}\` does not take ${extra.map((k) => `--${k}`).join(', ')}.`, spec.name, usageHint(spec));
    return params.value;
  }
  const parsed = (await params.load()).safeParse(input);
  if (!parsed.success) throw new UsageError(usageMessage(spec, parsed.error), spec.name, usageHint(spec));
  return parsed.data;
}

/** What every command says about itself, for help and dispatch. */
function describe<A, R>(
  spec: Pick<Spec<A, R>, 'name' | 'usage' | 'summary' | 'details' | 'positionals' | 'run'>,
): Omit<Command, 'execute'> {
  return {
    name: spec.name,
    usage: spec.usage,
    summary: spec.summary,
    details: spec.details,
    positionals: spec.positionals ?? [],
    rpc: spec.run.rpc,
    offline: spec.run.offline,
  };
}

export function command<A, R>(spec: Spec<A, R>): Command {
  return {
    ...describe(spec),
    async execute(input, ctx) {
      const result = await spec.run.run(await readParams(spec, input), ctx);
      return {
        kind: 'result',
        result: spec.json ? spec.json(result) : result,
        human: spec.render(result),
        exit: spec.exit?.(result) ?? EXIT.ok,
        jsonWarning: spec.jsonWarning,
      };
    },
  };
}

/** A command that owns stdout (a protocol bridge): no rendering, its result is the exit code. */
export function streamCommand<A>(spec: Omit<Spec<A, number>, 'render' | 'exit' | 'jsonWarning' | 'json'>): Command {
  return {
    ...describe(spec),
    async execute(input, ctx) {
      return { kind: 'exit', exit: await spec.run.run(await readParams(spec, input), ctx) };
    },
  };
}

/** Asks the daemon; `fallback` answers instead when it is not running (exit 3 otherwise). */
export function daemon<M extends MethodName>(
  method: M,
  budgetMs: number,
  fallback?: (params: RpcParams<M>, ctx: Context) => Promise<RpcResult<M>>,
): Runner<RpcParams<M>, RpcResult<M>> {
  return {
    rpc: method,
    offline: fallback ? 'fallback' : 'never',
    async run(params, ctx) {
      try {
        return await callDaemon(ctx.socket, method, params, ctx.timeoutOverrideMs ?? budgetMs);
      } catch (err) {
        if (!fallback || !(err instanceof AppError) || err.code !== 'E_NOT_RUNNING') throw err;
        ctx.warn(`${err.message} Acting without it, from the files in ${ctx.paths.dataDir}.`);
        return fallback(params, ctx);
      }
    },
  };
}

/**
 * A lifecycle verb: asks `status` first, then waits for the verb as long as the daemon's own
 * timeouts imply (never ctl's guess), saying on a terminal what it waits for.
 */
export function lifecycle<M extends 'start' | 'stop' | 'restart' | 'config.reload'>(
  method: M,
  plan: (params: RpcParams<M>, status: StatusResult) => { budgetMs: number; says: string | undefined },
): Runner<RpcParams<M>, RpcResult<M>> {
  return {
    rpc: method,
    offline: 'never',
    async run(params, ctx) {
      const client = await ControlClient.connect(ctx.socket, ctx.timeoutOverrideMs ?? STATUS_MS);
      let done = (): void => undefined;
      try {
        const status = await client.call('status', undefined, ctx.timeoutOverrideMs ?? STATUS_MS);
        const { budgetMs, says } = plan(params, status);
        if (says !== undefined) done = ctx.waiting(says);
        return await client.call(method, params, ctx.timeoutOverrideMs ?? budgetMs);
      } finally {
        done();
        client.close();
      }
    },
  };
}

/** Works on the data dir directly, daemon up or down (the learning DB takes concurrent writers). */
export function dataDir<A, R>(run: (params: A, ctx: Context) => Promise<R>): Runner<A, R> {
  return { rpc: undefined, offline: 'always', run };
}
