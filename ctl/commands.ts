import type { z } from 'zod';
import { AppError, EXIT, type ExitCode } from '../shared/errors.js';
import type { DataPaths } from '../shared/paths.js';
import type { MethodName, MetricsAnalyzeResult, MetricsHistoryResult, StatusResult } from '../shared/schemas/rpc.js';
import { UsageError, usageHint, usageMessage } from './args.js';
import type { ConfigValidateArgs, HoursArgs, LearnerName } from './params.js';
import { callDaemon, ControlClient, type RpcParams, type RpcResult } from './client.js';
import { renderConfigValidate } from './render/config.js';
import { renderEmergencyStop } from './render/emergency.js';
import { renderLearnerAdded, renderLearnerRevoked, renderLearners } from './render/learners.js';
import { renderReload, renderRestart, renderStart, renderStop } from './render/lifecycle.js';
import { renderStatus } from './render/status.js';
import { reloadWaiting, restartWaiting, startWaiting, stopWaiting } from './render/waiting.js';
// Imported, not loaded lazily like params.ts and offline.ts: esbuild puts a module that both the
// entry and a lazily loaded chunk use into a chunk of its own, so lazy renderers and `top` would put
// format.ts, status.ts and client.ts on `status`'s path as three more files (bench/ctl.ts). None
// of these loads zod; `top` loads it (for the notifications) when it runs.
import { renderHealth } from './render/health.js';
import { renderMetrics } from './render/metrics.js';
import { renderLogsRotate } from './render/logs.js';
import { renderJobRun, renderJobs } from './render/jobs.js';
import { runTop } from './top.js';
import { reloadBudgetMs, restartBudgetMs, startBudgetMs, STATUS_MS, stopBudgetMs } from './waits.js';

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

/**
 * How a command reads argv (its flags, and positionals by name). A command that takes none needs
 * no schema, so `status` never loads zod (issue 7); the others load theirs from params.ts.
 */
type Params<A> = { kind: 'none'; value: A } | { kind: 'schema'; load: () => Promise<z.ZodType<A>> };

const NONE: Params<undefined> = { kind: 'none', value: undefined };

/** A command's argv schema, loaded from params.ts when the command runs. */
function schema<A>(load: () => Promise<z.ZodType<A>>): Params<A> {
  return { kind: 'schema', load };
}

const argvSchemas = (): Promise<typeof import('./params.js')> => import('./params.js');

interface Spec<A, R> {
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

function command<A, R>(spec: Spec<A, R>): Command {
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
function streamCommand<A>(spec: Omit<Spec<A, number>, 'render' | 'exit' | 'jsonWarning' | 'json'>): Command {
  return {
    ...describe(spec),
    async execute(input, ctx) {
      return { kind: 'exit', exit: await spec.run.run(await readParams(spec, input), ctx) };
    },
  };
}

/** An emergency stop kills without waiting; its backup of the learning database takes the time. */
const EMERGENCY_MS = 60_000;

/** Asks the daemon; `fallback` answers instead when it is not running (exit 3 otherwise). */
function daemon<M extends MethodName>(
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
function lifecycle<M extends 'start' | 'stop' | 'restart' | 'config.reload'>(
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
function dataDir<A, R>(run: (params: A, ctx: Context) => Promise<R>): Runner<A, R> {
  return { rpc: undefined, offline: 'always', run };
}

/**
 * The health check runs five checks, two of them requests to the server with a 5 s timeout each
 * (the manual's); this is a guard against a wedged daemon, not a wait for anything.
 */
const HEALTH_MS = 30_000;
/** An analysis over a long window reads many samples from ops.db. */
const METRICS_MS = 30_000;
/** A rotation is instant; its answer waits for the compression it starts (about a second per 100 MB). */
const LOGS_ROTATE_MS = 60_000;
/** `jobs run` waits for the run itself, which its time limit (10 min) ends at the latest. */
const JOB_RUN_MS = 11 * 60_000;

/** `metrics.analyze` for the figures and the rules, `metrics.history` for the sparklines, on one connection. */
function metrics(): Runner<HoursArgs, { analyze: MetricsAnalyzeResult; history: MetricsHistoryResult }> {
  return {
    rpc: 'metrics.analyze',
    offline: 'never',
    async run(params, ctx) {
      const budgetMs = ctx.timeoutOverrideMs ?? METRICS_MS;
      const client = await ControlClient.connect(ctx.socket, budgetMs);
      try {
        const analyze = await client.call('metrics.analyze', params, budgetMs);
        return { analyze, history: await client.call('metrics.history', params, budgetMs) };
      } finally {
        client.close();
      }
    },
  };
}

/** Running, or on the way there: what `start` and `restart` count as success. */
const isUp = (state: string): boolean => state === 'running' || state === 'starting' || state === 'reloading';
/** Serving learners: a reload's old server serves until the new one takes over. */
const isServing = (state: string): boolean => state === 'running' || state === 'reloading';

/** The command table: everything ctl does is a row here. */
export const COMMANDS: readonly Command[] = [
  command({
    name: 'status',
    usage: 'status [--json]',
    summary: 'Show the MCP server\u2019s state, URL and active learners',
    details:
      'Exit code 0 when the MCP server serves learners (running, or reloading: the old server serves until the new one\n' +
      'takes over), 1 in any other state (stopped, starting, draining, backoff, fatal).',
    params: NONE,
    run: daemon('status', STATUS_MS),
    render: renderStatus,
    exit: (r) => (isServing(r.child.state) ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'start',
    usage: 'start [--json]',
    summary: 'Start the MCP server (also after a crash loop stopped it)',
    details:
      'Waits as long as the daemon\u2019s ready timeout allows. Exit code 1 when the server did not come up\n' +
      '(it is in backoff or fatal: `status` says why).',
    params: NONE,
    run: lifecycle('start', (_params, status) => ({ budgetMs: startBudgetMs(status), says: startWaiting(status) })),
    render: renderStart,
    exit: (r) => (isUp(r.state) ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'stop',
    usage: 'stop [--timeout S] [--force] [--json]',
    summary: 'Stop the MCP server safely: let learners and requests finish first',
    details:
      '--timeout S  wait up to S seconds for in-flight requests and active learners (default: the daemon\u2019s drain\n' +
      '             timeout, drain.timeoutMs, 30 s unless configured)\n' +
      '--force      do not wait: SIGTERM at once, SIGKILL after the kill timeout\n' +
      'ctl waits as long as the daemon\u2019s timeouts imply (from `status`), and on a terminal says what for.',
    params: schema(async () => (await argvSchemas()).StopArgs),
    run: lifecycle('stop', (params, status) => ({ budgetMs: stopBudgetMs(params, status), says: stopWaiting(params, status) })),
    render: renderStop,
  }),
  command({
    name: 'restart',
    usage: 'restart [--timeout S] [--force] [--json]',
    summary: 'Stop the MCP server safely, then start it again',
    details: 'Takes the same --timeout and --force as stop. Exit code 1 when the server did not come back up.',
    params: schema(async () => (await argvSchemas()).StopArgs),
    run: lifecycle('restart', (params, status) => ({
      budgetMs: restartBudgetMs(params, status),
      says: restartWaiting(params, status),
    })),
    render: renderRestart,
    exit: (r) => (isUp(r.child.state) ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'reload',
    usage: 'reload [--json]',
    summary: 'Re-read the config and hand over to a new server process with no downtime',
    params: NONE,
    run: lifecycle('config.reload', (_params, status) => ({ budgetMs: reloadBudgetMs(status), says: reloadWaiting(status) })),
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
    params: schema(async () => (await argvSchemas()).EmergencyStopArgs),
    run: daemon('emergencyStop', EMERGENCY_MS, async (params, ctx) =>
      (await import('./offline.js')).emergencyStopOffline(ctx.paths, params?.reason, ctx.warn),
    ),
    render: renderEmergencyStop,
    exit: (r) => (r.backupError === null ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'health',
    usage: 'health [--json]',
    summary: 'Run the full health check: server, database, memory, learning system, MCP probe',
    details:
      'Shows each check (pass, fail or error) with its time and what it found, what to do for each one that did not\n' +
      'pass, and availability over 24 h and 7 d against the 99 % goal. Exit code 0 when healthy, 1 when not.',
    params: NONE,
    run: daemon('health', HEALTH_MS),
    render: renderHealth,
    exit: (r) => (r.status === 'healthy' ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'metrics',
    usage: 'metrics [--hours H] [--json]',
    summary: 'Show resource and response-time figures over the last H hours, with the alert rules',
    details:
      '--hours H  the window, in hours (default 24, as the manual; 0.5 is half an hour; at most 87600)\n' +
      'Shows each series now, its average, p95 and maximum with a sparkline, the alert rules that fire over the\n' +
      'window (the share of samples over the line and their average) and the active alerts. No samples yet is\n' +
      'not an error. --json prints the `metrics.analyze` result: {current, analysis, alerts}.',
    params: schema(async () => (await argvSchemas()).HoursArgs),
    run: metrics(),
    render: renderMetrics,
    json: (r) => r.analyze,
  }),
  streamCommand({
    name: 'top',
    usage: 'top [--once] [--count N] [--json]',
    summary: 'Watch the metrics, alerts and the server\u2019s state live',
    details:
      '--once     print the current view and exit\n' +
      '--count N  exit after N samples\n' +
      'On a terminal the view is redrawn in place; q or Ctrl-C quits. Otherwise one line per sample (state changes\n' +
      'and alerts go to stderr); --json prints each sample as one JSON object per line. Exit code 3 when\n' +
      'mcp-starterd ends the stream or goes away.',
    params: schema(async () => (await argvSchemas()).TopArgs),
    run: {
      rpc: 'subscribe',
      offline: 'never',
      run: runTop,
    },
  }),
  command({
    name: 'logs rotate',
    usage: 'logs rotate [--json]',
    summary: 'Rotate the daemon\u2019s log file now',
    details:
      'The current file becomes mcp-starterd.log.1 and a fresh one starts; older rotated files move up a slot and\n' +
      'are gzip-compressed (.2.gz \u2026), keeping logs.keep of them within logs.maxTotalBytes (the oldest go first).\n' +
      'Prints where the file went, what was compressed and deleted, and the room the logs take now.',
    params: NONE,
    run: daemon('logs.rotate', LOGS_ROTATE_MS),
    render: renderLogsRotate,
  }),
  command({
    name: 'jobs',
    usage: 'jobs [--json]',
    summary: 'List the scheduled jobs with their schedule, next run and last result',
    details:
      'The schedules are the config\u2019s schedule.* cron patterns, in local time unless schedule.timezone is set.\n' +
      'A job missed while the daemon was down runs once when it starts (catch-up).',
    params: NONE,
    run: daemon('jobs.list', STATUS_MS),
    render: renderJobs,
  }),
  command({
    name: 'jobs run',
    usage: 'jobs run NAME [--json]',
    summary: 'Run a scheduled job now and print its result',
    details: 'NAME is one of health-report, rotate-logs, daily-maintenance, weekly-report, optimize-db.\nExit code 1 when the job failed.',
    positionals: ['name'],
    params: schema(async () => (await argvSchemas()).JobRunArgs),
    run: daemon('jobs.run', JOB_RUN_MS),
    render: renderJobRun,
    exit: (r) => (r.ok ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'config validate',
    usage: 'config validate [FILE] [--json]',
    summary: 'Check a config file (or the config the daemon would load) without the daemon',
    details:
      'With FILE: checks that file as written. Without: the file from --config or MCP_STARTER_CONFIG (none: the\n' +
      'defaults) with the MCP_STARTER_<KEY> environment overrides applied, as mcp-starterd would load it.\n' +
      'Lists every problem with its key and what to do. Exit code 2 when there is any.',
    positionals: ['file'],
    params: schema(async () => (await argvSchemas()).ConfigValidateArgs),
    run: dataDir(async (params: ConfigValidateArgs, ctx) => (await import('./config-validate.js')).validateConfig(params, ctx)),
    render: renderConfigValidate,
    json: (r) => r.result,
    exit: (r) => (r.result.valid ? EXIT.ok : EXIT.usage),
  }),
  streamCommand({
    name: 'connect',
    usage: 'connect [--url URL] [--token-file FILE]',
    summary: 'Bridge a stdio MCP client to the supervised HTTP server',
    details:
      'For clients that only launch servers over stdio: put `mcp-starterctl connect` in their config.\n' +
      'Without --url it asks mcp-starterd for the server\u2019s URL; with the daemon down it bridges to the address in\n' +
      'the config (--config or MCP_STARTER_CONFIG; server.host and server.port, 127.0.0.1:8000 by default).\n' +
      'A learner token comes from MCP_STARTER_TOKEN or --token-file FILE (--token TOKEN works too, but any user\n' +
      'on the machine can read it in the process list). stdout carries the protocol only.',
    params: schema(async () => (await argvSchemas()).ConnectArgs),
    run: {
      rpc: 'status',
      offline: 'fallback',
      async run(params, ctx) {
        const target = await (await import('./connect-target.js')).connectTarget(params, ctx);
        const { runConnect } = await import('./connect.js');
        return runConnect(target);
      },
    },
  }),
  command({
    name: 'learners add',
    usage: 'learners add NAME [--json]',
    summary: 'Add a learner and print their access token (shown once)',
    positionals: ['name'],
    params: schema(async () => (await argvSchemas()).LearnerName),
    run: dataDir(async ({ name }: LearnerName, ctx) => (await import('./offline.js')).learnersAdd(ctx.paths, name)),
    render: renderLearnerAdded,
    jsonWarning: 'The token in this output is shown only once: store it now (only its hash is kept).',
  }),
  command({
    name: 'learners list',
    usage: 'learners list [--json]',
    summary: 'List learners with their token state and last activity',
    params: NONE,
    run: dataDir(async (_params, ctx) => (await import('./offline.js')).learnersList(ctx.paths)),
    render: renderLearners,
  }),
  command({
    name: 'learners revoke',
    usage: 'learners revoke NAME [--json]',
    summary: 'Revoke a learner\u2019s token at once (their progress is kept)',
    positionals: ['name'],
    params: schema(async () => (await argvSchemas()).LearnerName),
    run: dataDir(async ({ name }: LearnerName, ctx) => (await import('./offline.js')).learnersRevoke(ctx.paths, name)),
    render: renderLearnerRevoked,
  }),
];
