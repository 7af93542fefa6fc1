import { EXIT } from '../shared/errors.js';
import type { MetricsAnalyzeResult, MetricsHistoryResult } from '../shared/schemas/rpc.js';
import type { ConfigValidateArgs, HoursArgs, LearnerName } from './params.js';
import { ControlClient } from './client.js';
import { argvSchemas, command, type Command, daemon, dataDir, lifecycle, NONE, type Runner, schema, streamCommand } from './command-kit.js';
import { renderConfigValidate } from './render/config.js';
import { renderEmergencyStop } from './render/emergency.js';
import { renderLearnerAdded, renderLearnerRevoked, renderLearners, renderSessionsReset } from './render/learners.js';
import { renderReload, renderRestart, renderStart, renderStop } from './render/lifecycle.js';
import { renderStatus } from './render/status.js';
import { reloadWaiting, restartWaiting, startWaiting, stopWaiting } from './render/waiting.js';
// Imported, not loaded lazily like params.ts and offline.ts: esbuild puts a module that both the
// entry and a lazily loaded chunk use into a chunk of its own, so lazy renderers and `top` would put
// format.ts, status.ts and client.ts on `status`'s path as three more files (bench/ctl.ts). None
// of these loads zod; `top` loads it (for the notifications) when it runs.
import { renderHealth } from './render/health.js';
import { renderMetrics } from './render/metrics.js';
import { renderJobRun, renderJobs } from './render/jobs.js';
import { runTop } from './top.js';
import { reloadBudgetMs, restartBudgetMs, startBudgetMs, STATUS_MS, stopBudgetMs } from './waits.js';
import { LOG_COMMANDS } from './commands-logs.js';
import { DB_COMMANDS } from './commands-db.js';
import { DIAGNOSE_COMMANDS } from './commands-diagnose.js';
import { REPORT_COMMANDS } from './commands-report.js';
import { OPTIMIZE_COMMAND, RECOVER_COMMAND } from './commands-upkeep.js';

export type { Command, Context, Outcome } from './command-kit.js';

/** An emergency stop kills without waiting; its backup of the learning database takes the time. */
const EMERGENCY_MS = 60_000;

/**
 * The health check runs five checks, two of them requests to the server with a 5 s timeout each
 * (the manual's); this is a guard against a wedged daemon, not a wait for anything.
 */
const HEALTH_MS = 30_000;
/** An analysis over a long window reads many samples from ops.db. */
const METRICS_MS = 30_000;
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
  ...LOG_COMMANDS,
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
  ...DB_COMMANDS,
  OPTIMIZE_COMMAND,
  ...DIAGNOSE_COMMANDS,
  RECOVER_COMMAND,
  ...REPORT_COMMANDS,
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
  command({
    name: 'learners reset-sessions',
    usage: 'learners reset-sessions [--json]',
    summary: 'Remove stale learner sessions (idle past sessions.ttlHours, or of missing learners)',
    details:
      'What daily maintenance does to sessions, now (the fix `diagnose` names for stale sessions). A session open\n' +
      'within the idle gap (sessions.idleMinutes: a learner working now) is kept. Progress is never touched.',
    params: NONE,
    run: dataDir(async (_params, ctx) => {
      const { loadConfig } = await import('../shared/config.js');
      const { sessions } = loadConfig({ file: ctx.configFile, env: ctx.env });
      return (await import('./offline.js')).learnersResetSessions(ctx.paths, sessions);
    }),
    render: renderSessionsReset,
  }),
];
