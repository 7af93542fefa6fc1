import { z } from 'zod';
import { AppError, EXIT, type ExitCode } from '../shared/errors.js';
import type { DataPaths } from '../shared/paths.js';
import { EmergencyStopParams, StopParams, type MethodName } from '../shared/schemas/rpc.js';
import { UsageError, usageHint, usageMessage } from './args.js';
import { callDaemon, type RpcParams, type RpcResult } from './client.js';
import { renderEmergencyStop } from './render/emergency.js';
import { renderLearnerAdded, renderLearnerRevoked, renderLearners } from './render/learners.js';
import { renderReload, renderRestart, renderStart, renderStop } from './render/lifecycle.js';
import { renderStatus } from './render/status.js';

/** What a command gets besides its params: where the daemon and the data are. */
export interface Context {
  paths: DataPaths;
  socket: string;
  /** MCP_STARTER_CTL_TIMEOUT_MS: replaces every command's own wait for the daemon. */
  timeoutOverrideMs: number | undefined;
  /** A note for stderr (never stdout, so `--json` output stays one document). */
  warn: (text: string) => void;
}

export type Outcome =
  /** Printed as JSON (`result`) or as text (`human`). */
  | { kind: 'result'; result: unknown; human: string; exit: ExitCode; jsonWarning: string | undefined }
  /** The command owned stdout itself (connect): only its exit code is left. */
  | { kind: 'exit'; exit: number };

/** How a command gets its answer: from the daemon, from the data dir, or from the daemon with the data dir as fallback. */
interface Runner<A, R> {
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

interface Spec<A, R> {
  name: string;
  usage: string;
  summary: string;
  details?: string;
  positionals?: readonly string[];
  /** argv (flags, and positionals by name) → params; strict, so a flag the command does not take is a usage error. */
  params: z.ZodType<A>;
  run: Runner<A, R>;
  render: (result: R) => string;
  /** 0 unless the answer is bad (DESIGN: exit 1). */
  exit?: (result: R) => ExitCode;
  /** Said on stderr with `--json`, where the human text (which says it) is not shown. */
  jsonWarning?: string;
}

function parseParams<A>(spec: { name: string; usage: string; params: z.ZodType<A> }, input: Record<string, unknown>): A {
  const parsed = spec.params.safeParse(input);
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

function command<A, R>(spec: Spec<A, R>): Command {
  return {
    ...describe(spec),
    async execute(input, ctx) {
      const result = await spec.run.run(parseParams(spec, input), ctx);
      return { kind: 'result', result, human: spec.render(result), exit: spec.exit?.(result) ?? EXIT.ok, jsonWarning: spec.jsonWarning };
    },
  };
}

/** A command that owns stdout (a protocol bridge): no rendering, its result is the exit code. */
function streamCommand<A>(spec: Omit<Spec<A, number>, 'render' | 'exit' | 'jsonWarning'>): Command {
  return {
    ...describe(spec),
    async execute(input, ctx) {
      return { kind: 'exit', exit: await spec.run.run(parseParams(spec, input), ctx) };
    },
  };
}

// How long to wait for the daemon. ctl does not read the daemon's config, so these follow
// DESIGN's defaults (drain 30 s, kill 5 s, ready 15 s) plus a margin; MCP_STARTER_CTL_TIMEOUT_MS
// replaces them when a daemon is configured with longer ones.
const STATUS_MS = 5_000;
const DRAIN_MS = 30_000;
const KILL_MS = 5_000;
const READY_MS = 15_000;
const MARGIN_MS = 15_000;

/** Asks the daemon; `fallback` answers instead when it is not running (exit 3 otherwise). */
function daemon<M extends MethodName>(
  method: M,
  budgetMs: (params: RpcParams<M>) => number,
  fallback?: (params: RpcParams<M>, ctx: Context) => Promise<RpcResult<M>>,
): Runner<RpcParams<M>, RpcResult<M>> {
  return {
    rpc: method,
    offline: fallback ? 'fallback' : 'never',
    async run(params, ctx) {
      try {
        return await callDaemon(ctx.socket, method, params, ctx.timeoutOverrideMs ?? budgetMs(params));
      } catch (err) {
        if (!fallback || !(err instanceof AppError) || err.code !== 'E_NOT_RUNNING') throw err;
        ctx.warn(`${err.message} Acting without it, from the files in ${ctx.paths.dataDir}.`);
        return fallback(params, ctx);
      }
    },
  };
}

/** Works on the data dir directly, daemon up or down (the learning DB takes concurrent writers). */
function dataDir<A, R>(run: (params: A, ctx: Context) => Promise<R>): Runner<A, R> {
  return { rpc: undefined, offline: 'always', run };
}

const NoParams = z.strictObject({}).transform(() => undefined);

function seconds(flag: string) {
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/, `--${flag} takes a number of seconds, e.g. --${flag} 30.`)
    .transform(Number)
    .refine((s) => s <= 3600, `--${flag} can be at most 3600 seconds (one hour).`)
    .transform((s) => Math.round(s * 1000));
}

const StopArgs = z
  .strictObject({ timeout: seconds('timeout').optional(), force: z.boolean().optional() })
  .transform((a): z.input<typeof StopParams> => ({ timeoutMs: a.timeout, force: a.force }))
  .pipe(StopParams.unwrap());

const LearnerName = z.strictObject({
  name: z.string({ error: 'Say which learner: NAME, e.g. alice.' }),
});
type LearnerName = z.output<typeof LearnerName>;

const isUp = (state: string): boolean => state === 'running' || state === 'starting';
const stopBudgetMs = (params: RpcParams<'stop'>): number => (params?.timeoutMs ?? DRAIN_MS) + KILL_MS + MARGIN_MS;

/** The command table: everything ctl does is a row here. */
/**
 * The supervised server's URL from the daemon. With the daemon down, the default address: the
 * bridge then answers each request with "cannot reach … is mcp-starterd running?", which the
 * client shows, instead of a process that exits before it said anything.
 */
async function supervisedUrl(ctx: Context): Promise<string> {
  try {
    return (await callDaemon(ctx.socket, 'status', undefined, ctx.timeoutOverrideMs ?? STATUS_MS)).url;
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'E_NOT_RUNNING') throw err;
    const url = `http://127.0.0.1:${process.env['MCP_STARTER_SERVER_PORT'] ?? '8000'}/mcp`;
    ctx.warn(`${err.message} Bridging to ${url}; requests fail until the daemon is started.`);
    return url;
  }
}

export const COMMANDS: readonly Command[] = [
  command({
    name: 'status',
    usage: 'status [--json]',
    summary: 'Show the MCP server\u2019s state, URL and active learners',
    details: 'Exit code 0 when the MCP server is running, 1 in any other state (stopped, starting, draining, backoff, fatal).',
    params: NoParams,
    run: daemon('status', () => STATUS_MS),
    render: renderStatus,
    exit: (r) => (r.child.state === 'running' ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'start',
    usage: 'start [--json]',
    summary: 'Start the MCP server (also after a crash loop stopped it)',
    details: 'Exit code 1 when the server did not come up (it is in backoff or fatal: `status` says why).',
    params: NoParams,
    run: daemon('start', () => READY_MS + MARGIN_MS),
    render: renderStart,
    exit: (r) => (isUp(r.state) ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'stop',
    usage: 'stop [--timeout S] [--force] [--json]',
    summary: 'Stop the MCP server safely: let learners and requests finish first',
    details:
      '--timeout S  wait up to S seconds for in-flight requests and active learners (default: the daemon\u2019s drain timeout, 30 s)\n' +
      '--force      do not wait: SIGTERM at once, SIGKILL after the kill timeout',
    params: StopArgs,
    run: daemon('stop', stopBudgetMs),
    render: renderStop,
  }),
  command({
    name: 'restart',
    usage: 'restart [--timeout S] [--force] [--json]',
    summary: 'Stop the MCP server safely, then start it again',
    details: 'Takes the same --timeout and --force as stop. Exit code 1 when the server did not come back up.',
    params: StopArgs,
    run: daemon('restart', (p) => stopBudgetMs(p) + READY_MS),
    render: renderRestart,
    exit: (r) => (isUp(r.child.state) ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'reload',
    usage: 'reload [--json]',
    summary: 'Re-read the config and hand over to a new server process with no downtime',
    params: NoParams,
    run: daemon('config.reload', () => DRAIN_MS + KILL_MS + READY_MS + MARGIN_MS),
    render: renderReload,
  }),
  command({
    name: 'emergency-stop',
    usage: 'emergency-stop [--reason TEXT] [--json]',
    summary: 'Kill the MCP server now, record who was active, back up the database',
    details:
      'With mcp-starterd down this still works: it kills the server named by the pid file (only if that\n' +
      'process really is mcp-starter-server), writes the active-learners file and takes the backup itself.\n' +
      'Exit code 1 when the backup failed.',
    params: z
      .strictObject({ reason: z.string().max(500, '--reason can be at most 500 characters.').optional() })
      .transform((a): z.input<typeof EmergencyStopParams> => ({ reason: a.reason }))
      .pipe(EmergencyStopParams.unwrap()),
    run: daemon(
      'emergencyStop',
      () => 30_000,
      async (params, ctx) => (await import('./offline.js')).emergencyStopOffline(ctx.paths, params?.reason, ctx.warn),
    ),
    render: renderEmergencyStop,
    exit: (r) => (r.backupError === null ? EXIT.ok : EXIT.bad),
  }),
  streamCommand({
    name: 'connect',
    usage: 'connect [--url URL] [--token TOKEN]',
    summary: 'Bridge a stdio MCP client to the supervised HTTP server',
    details:
      'For clients that only launch servers over stdio: put `mcp-starterctl connect` in their config.\n' +
      'Without --url it asks mcp-starterd for the server\u2019s URL. stdout carries the protocol only.',
    params: z.strictObject({
      url: z.string().min(1, '--url needs the server\u2019s address, e.g. http://127.0.0.1:8000/mcp').optional(),
      token: z.string().min(1, '--token needs the token `learners add` printed').optional(),
    }),
    run: {
      rpc: 'status',
      offline: 'never',
      async run(params, ctx) {
        const { runConnect } = await import('./connect.js');
        return runConnect({ url: params.url ?? (await supervisedUrl(ctx)), token: params.token });
      },
    },
  }),
  command({
    name: 'learners add',
    usage: 'learners add NAME [--json]',
    summary: 'Add a learner and print their access token (shown once)',
    positionals: ['name'],
    params: LearnerName,
    run: dataDir(async ({ name }: LearnerName, ctx) => (await import('./offline.js')).learnersAdd(ctx.paths, name)),
    render: renderLearnerAdded,
    jsonWarning: 'The token in this output is shown only once: store it now (only its hash is kept).',
  }),
  command({
    name: 'learners list',
    usage: 'learners list [--json]',
    summary: 'List learners with their token state and last activity',
    params: NoParams,
    run: dataDir(async (_params, ctx) => (await import('./offline.js')).learnersList(ctx.paths)),
    render: renderLearners,
  }),
  command({
    name: 'learners revoke',
    usage: 'learners revoke NAME [--json]',
    summary: 'Revoke a learner\u2019s token at once (their progress is kept)',
    positionals: ['name'],
    params: LearnerName,
    run: dataDir(async ({ name }: LearnerName, ctx) => (await import('./offline.js')).learnersRevoke(ctx.paths, name)),
    render: renderLearnerRevoked,
  }),
];
