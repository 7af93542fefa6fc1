import { z } from 'zod';
import {
  BackupCreateResult,
  BackupInfo,
  BackupListResult,
  BackupRestoreParams,
  BackupRestoreResult,
  DbCheckResult,
  DbOptimizeResult,
} from './backup.js';
import { LogsAnalyzeParams, LogsAnalyzeResult, LogsTailParams, LogsTailResult } from './logs.js';

import { DiagnoseResult } from './diagnose.js';
import { ReportLearningParams, ReportLearningResult } from './reports.js';
import { OptimizeResult } from './optimize.js';
import { RecoverParams, RecoverResult } from './recover.js';
import { ReportWeeklyParams, ReportWeeklyResult } from './weekly.js';

export * from './backup.js';
export * from './diagnose.js';
export * from './logs.js';
export * from './optimize.js';
export * from './recover.js';
export * from './weekly.js';

/**
 * The control API (Unix socket, JSON-RPC 2.0, one JSON object per line): every method's params
 * and result. The daemon parses params with these; ctl renders the results; scripts read the
 * same objects through `mcp-starterctl ... --json`.
 */

export const CONTROL_MAX_LINE_BYTES = 1024 * 1024;

/** Params may be omitted entirely (`null`/absent) for methods that take none. */
const NoParams = z.strictObject({}).optional();

/** DESIGN.md, Child lifecycle. `reloading`: a new child starts beside the old one, which drains once the new one runs. */
export const ChildState = z.enum(['stopped', 'starting', 'running', 'reloading', 'draining', 'backoff', 'fatal']);
export type ChildState = z.infer<typeof ChildState>;

export const LastExit = z
  .object({
    code: z.number().int().nullable(),
    signal: z.string().nullable(),
    at: z.string(),
    /** Why it stopped: requested, crash, probe-failures, ready-timeout, crash-loop, emergency, daemon-shutdown. */
    reason: z.string(),
  })
  .nullable();
export type LastExit = z.infer<typeof LastExit>;

export const ChildStatus = z.object({
  state: ChildState,
  pid: z.number().int().nullable(),
  restarts: z.number().int(),
  startedAt: z.string().nullable(),
  lastExit: LastExit,
  /** The child's last stderr lines that were not JSON log lines (what it printed before dying). */
  lastStderr: z.array(z.string()),
  /** What to do, when the state calls for it (fatal, backoff). */
  hint: z.string().nullable(),
  /** When a backoff ends and the next start is tried. */
  nextStartAt: z.string().nullable(),
  /** Other server processes alive: a reload's new one still starting, old ones still draining after a handover. */
  otherPids: z.array(z.number().int()),
});
export type ChildStatus = z.infer<typeof ChildStatus>;

/** The lifecycle operations the supervisor serialises (DESIGN.md, Child lifecycle). */
export const OperationName = z.enum([
  'start',
  'stop',
  'restart',
  'reload',
  'emergency-stop',
  'crash-restart',
  'probe-restart',
  'memory-restart',
  'shutdown',
  'restore',
]);
export type OperationName = z.infer<typeof OperationName>;
export const Operation = z.object({ name: OperationName, since: z.string() }).nullable();
export type Operation = z.infer<typeof Operation>;

/** The daemon's own timeouts: ctl derives how long to wait for a stop or a start from these, never from constants of its own. */
export const DaemonTimeouts = z.object({
  /** How long a stop lets in-flight requests and active learners finish. */
  drainMs: z.number().int().min(0),
  /** After SIGTERM, how long before SIGKILL. */
  killMs: z.number().int().min(0),
  /** How long a new child may take to be ready and pass its probe. */
  readyMs: z.number().int().min(0),
});
export type DaemonTimeouts = z.infer<typeof DaemonTimeouts>;

/** Something the operator should act on, active now: what, since when, and what to do. */
export const Alert = z.object({
  /** Stable name of the condition (e.g. `log_writes`). */
  rule: z.string(),
  since: z.string(),
  message: z.string(),
  hint: z.string(),
});
export type Alert = z.infer<typeof Alert>;

/**
 * DESIGN.md, Data: time the server answered ÷ (window − planned downtime), 0..1, from ops.db (a
 * daemon restart does not reset it). Null while the window holds no measured time yet.
 */
export const Availability = z.object({
  h24: z.number().min(0).max(1).nullable(),
  d7: z.number().min(0).max(1).nullable(),
  /** The manual's goal (1.3): 99 %. */
  goal: z.number(),
});
export type Availability = z.infer<typeof Availability>;

export const StatusResult = z.object({
  daemon: z.object({
    pid: z.number().int(),
    version: z.string(),
    uptimeMs: z.number(),
    socket: z.string(),
    dataDir: z.string(),
    timeouts: DaemonTimeouts,
  }),
  child: ChildStatus,
  /** The lifecycle operation in progress, if any. */
  operation: Operation,
  url: z.string(),
  /**
   * `minimal`: the manual's minimal recovery mode (`mcp-starterd --minimal`, or `ctl recover`): the
   * server logs at debug, no scheduled jobs, no alert command, no Prometheus. `ctl start` ends it.
   */
  mode: z.enum(['normal', 'minimal']),
  activeLearners: z.number().int(),
  inFlight: z.number().int(),
  availability: Availability,
  /** Active alerts: the service runs, degraded, until each is resolved. */
  alerts: z.array(Alert),
});
export type StatusResult = z.infer<typeof StatusResult>;

export const StopParams = z
  .strictObject({
    /** How long to let in-flight requests and active learners finish; the drain timeout by default. */
    timeoutMs: z.number().int().min(0).max(3_600_000).optional(),
    /** Skip the drain: SIGTERM at once, SIGKILL after the kill timeout. */
    force: z.boolean().optional(),
  })
  .optional();
export type StopParams = z.infer<typeof StopParams>;

export const StopResult = z.object({
  /** State before the stop. */
  was: ChildState,
  activeLearners: z.number().int(),
  inFlight: z.number().int(),
  drained: z.boolean(),
  /** SIGKILL had to be used. */
  killed: z.boolean(),
  ms: z.number(),
});
export type StopResult = z.infer<typeof StopResult>;

export const StartResult = ChildStatus;
export const RestartResult = z.object({ stop: StopResult, child: ChildStatus });

export const ReloadResult = z.object({
  oldPid: z.number().int().nullable(),
  newPid: z.number().int().nullable(),
  ms: z.number(),
  configChanged: z.boolean(),
});
export type ReloadResult = z.infer<typeof ReloadResult>;

export const EmergencyStopParams = z.strictObject({ reason: z.string().max(500).optional() }).optional();
export const EmergencyStopResult = z.object({
  killedPid: z.number().int().nullable(),
  /** JSON file with the active learners and in-flight requests at the moment of the stop. */
  activeFile: z.string(),
  backup: BackupInfo.nullable(),
  backupError: z.string().nullable(),
  /** The daemon was down and ctl acted from the pid files. */
  offline: z.boolean(),
});
export type EmergencyStopResult = z.infer<typeof EmergencyStopResult>;

/** The manual's health check (2.2) and ours: DESIGN.md, JSON (`health`). */
export const HealthCheckName = z.enum(['server_response', 'database_connection', 'memory_usage', 'learning_system', 'mcp_probe']);
export type HealthCheckName = z.infer<typeof HealthCheckName>;
export const HealthCheck = z.object({
  /** `fail`: checked, and not good; `error`: could not be checked at all. */
  status: z.enum(['pass', 'fail', 'error']),
  /** Seconds the check took (the manual's unit). */
  response_time: z.number().min(0),
  /** What was found, in the manual's words (`Users: N`; `Tutorials: N, Active learners: M`). */
  details: z.string(),
  /** For a check that did not pass: what to do. */
  hint: z.string().optional(),
});
export type HealthCheck = z.infer<typeof HealthCheck>;
export const HealthResult = z.object({
  timestamp: z.string(),
  /** `healthy` only when every check passes. */
  status: z.enum(['healthy', 'unhealthy']),
  checks: z.object({
    server_response: HealthCheck,
    database_connection: HealthCheck,
    memory_usage: HealthCheck,
    learning_system: HealthCheck,
    mcp_probe: HealthCheck,
  }),
  availability: Availability,
});
export type HealthResult = z.infer<typeof HealthResult>;

/** One metrics sample: the machine (the manual's psutil figures), the server process, and the server's own figures. */
export const MetricsSample = z.object({
  at: z.string(),
  cpu_percent: z.number().min(0),
  memory_percent: z.number().min(0),
  /** Use of the filesystem that holds the data dir. */
  disk_percent: z.number().min(0),
  /** The server process (null while none runs). */
  child_cpu_percent: z.number().min(0).nullable(),
  memory_rss_mb: z.number().min(0).nullable(),
  /** Milliseconds, learners' requests answered in the sample interval (the probe's excluded); null when there were none. */
  response_time_p50: z.number().min(0).nullable(),
  response_time_p95: z.number().min(0).nullable(),
  response_time_max: z.number().min(0).nullable(),
  requests: z.number().int().min(0),
  active_connections: z.number().int().min(0),
  in_flight: z.number().int().min(0),
  active_learners: z.number().int().min(0),
});
export type MetricsSample = z.infer<typeof MetricsSample>;

/** The numeric series of a sample, by name. */
export const SERIES = [
  'cpu_percent',
  'memory_percent',
  'disk_percent',
  'child_cpu_percent',
  'memory_rss_mb',
  'response_time_p50',
  'response_time_p95',
  'response_time_max',
  'requests',
  'active_connections',
  'in_flight',
  'active_learners',
] as const;
export type SeriesName = (typeof SERIES)[number];
const Figure = z.number().nullable();
/** A figure per series; null when the window has no value for it. */
export const SeriesFigures = z.object(Object.fromEntries(SERIES.map((name) => [name, Figure])) as Record<SeriesName, typeof Figure>);
export type SeriesFigures = z.infer<typeof SeriesFigures>;

/** The manual's alert rules (3.1). */
export const MetricsRule = z.enum(['cpu', 'memory', 'response_time', 'disk']);
export type MetricsRule = z.infer<typeof MetricsRule>;
export const RuleOutcome = z.object({
  rule: MetricsRule,
  /** Share of the samples over the line (0..1). */
  share: z.number().min(0).max(1),
  /** The line: percent, or milliseconds for response_time. */
  threshold: z.number(),
  /** The share above which the rule fires (0.1 for CPU and memory, 0.05 for response time, 0 for disk: its latest sample). */
  limitShare: z.number().min(0).max(1),
  /** Average of the samples over the line; null when none is. */
  average: z.number().nullable(),
  message: z.string(),
});
export type RuleOutcome = z.infer<typeof RuleOutcome>;

export const MetricsAnalysis = z.object({
  hours: z.number(),
  samples: z.number().int().min(0),
  averages: SeriesFigures,
  maxima: SeriesFigures,
  p95: SeriesFigures,
  /** The rules that fire over the window, each with its share and average (empty: all within the lines). */
  alerts: z.array(RuleOutcome),
});
export type MetricsAnalysis = z.infer<typeof MetricsAnalysis>;

export const HoursParams = z
  .strictObject({
    hours: z
      .number()
      .positive()
      .max(24 * 3_650)
      .default(24),
  })
  .optional();
export type HoursParams = z.infer<typeof HoursParams>;

export const MetricsCurrentResult = z.object({
  /** The latest sample; null before the first one (or with sampling off). */
  current: MetricsSample.nullable(),
  /** Alerts active now (the same list as `status`). */
  alerts: z.array(Alert),
});
export const MetricsAnalyzeResult = z.object({
  current: MetricsSample.nullable(),
  analysis: MetricsAnalysis,
  alerts: z.array(Alert),
});
export type MetricsAnalyzeResult = z.infer<typeof MetricsAnalyzeResult>;
export const MetricsHistoryResult = z.object({
  hours: z.number(),
  /** `raw`: the samples as taken; `hour`: hourly averages (older than the retention, or to keep the answer small). */
  resolution: z.enum(['raw', 'hour', 'bucket']),
  samples: z.array(MetricsSample),
});
export type MetricsHistoryResult = z.infer<typeof MetricsHistoryResult>;

/** `alerts` notification: an alert raised or cleared. */
export const AlertNotification = z.object({ action: z.enum(['raised', 'cleared']), at: z.string(), alert: Alert });
export type AlertNotification = z.infer<typeof AlertNotification>;

export const Topic = z.enum(['state', 'stats', 'logs', 'metrics', 'alerts', 'jobs']);
export const SubscribeParams = z.strictObject({ topics: z.array(Topic).min(1).default(['state']) }).optional();
export const SubscribeResult = z.object({ topics: z.array(Topic) });

/** `state` notification: one per transition. */
export const StateNotification = z.object({
  state: ChildState,
  from: ChildState,
  event: z.string(),
  pid: z.number().int().nullable(),
  reason: z.string().nullable(),
  at: z.string(),
});
export type StateNotification = z.infer<typeof StateNotification>;

/** `logs.rotate`: what a rotation now did, once the compression it started has finished. */
export const LogsRotateResult = z.object({
  /** False when there was nothing to rotate (the current file is empty). */
  rotated: z.boolean(),
  /** The current log file (fresh after a rotation). */
  file: z.string(),
  /** Where the rotated file went (`….log.1`); null when nothing was rotated. */
  rotatedTo: z.string().nullable(),
  /** Size of the file rotated. */
  bytes: z.number().int().min(0),
  /** Rotated files gzip-compressed meanwhile (their `.gz` names). */
  compressed: z.array(z.string()),
  /** Old rotated files deleted (past `logs.keep` or the `logs.maxTotalBytes` cap). */
  deleted: z.array(z.string()),
  /** All log files together, after it. */
  totalBytes: z.number().int().min(0),
});
export type LogsRotateResult = z.infer<typeof LogsRotateResult>;

/** DESIGN.md, JSON (`jobs`): the scheduled jobs, by name. */
export const JobName = z.enum(['health-report', 'rotate-logs', 'daily-maintenance', 'weekly-report', 'optimize-db']);
export type JobName = z.infer<typeof JobName>;
/** What started a run: its schedule, `jobs.run`, or the catch-up at start for a run missed while the daemon was down. */
export const JobTrigger = z.enum(['schedule', 'manual', 'catch-up']);
export type JobTrigger = z.infer<typeof JobTrigger>;

/** One run of a job, as recorded in ops.db, answered by `jobs.run` and pushed on the `jobs` topic. */
export const JobRunResult = z.object({
  name: JobName,
  trigger: JobTrigger,
  startedAt: z.string(),
  endedAt: z.string(),
  ok: z.boolean(),
  ms: z.number().min(0),
  /** What the run did, in a line. */
  summary: z.string(),
  /** Why it failed ("timed out after 600 s", the job's error); null when it succeeded. */
  error: z.string().nullable(),
});
export type JobRunResult = z.infer<typeof JobRunResult>;

export const JobInfo = z.object({
  name: JobName,
  /** The cron pattern (config `schedule.*`). */
  schedule: z.string(),
  /** The configured timezone, or null for the machine's local time. */
  timezone: z.string().nullable(),
  nextRun: z.string().nullable(),
  /** When the run in progress started; null when none is running. */
  runningSince: z.string().nullable(),
  lastRun: z.object({ at: z.string(), ok: z.boolean(), ms: z.number().min(0), summary: z.string() }).nullable(),
});
export type JobInfo = z.infer<typeof JobInfo>;
export const JobsListResult = z.array(JobInfo);
export type JobsListResult = z.infer<typeof JobsListResult>;
export const JobsRunParams = z.strictObject({ name: JobName });

/** Method name → [params schema, result schema]. */
export const METHODS = {
  status: [NoParams, StatusResult],
  start: [NoParams, StartResult],
  stop: [StopParams, StopResult],
  restart: [StopParams, RestartResult],
  'config.reload': [NoParams, ReloadResult],
  emergencyStop: [EmergencyStopParams, EmergencyStopResult],
  subscribe: [SubscribeParams, SubscribeResult],
  health: [NoParams, HealthResult],
  'metrics.current': [NoParams, MetricsCurrentResult],
  'metrics.history': [HoursParams, MetricsHistoryResult],
  'metrics.analyze': [HoursParams, MetricsAnalyzeResult],
  'logs.rotate': [NoParams, LogsRotateResult],
  'jobs.list': [NoParams, JobsListResult],
  'jobs.run': [JobsRunParams, JobRunResult],
  'logs.tail': [LogsTailParams, LogsTailResult],
  'logs.analyze': [LogsAnalyzeParams, LogsAnalyzeResult],
  'backup.create': [NoParams, BackupCreateResult],
  'backup.list': [NoParams, BackupListResult],
  'backup.restore': [BackupRestoreParams, BackupRestoreResult],
  'db.check': [NoParams, DbCheckResult],
  'db.optimize': [NoParams, DbOptimizeResult],
  diagnose: [NoParams, DiagnoseResult],
  'report.learning': [ReportLearningParams, ReportLearningResult],
  'report.weekly': [ReportWeeklyParams, ReportWeeklyResult],
  optimize: [NoParams, OptimizeResult],
  recover: [RecoverParams, RecoverResult],
} as const;
export type MethodName = keyof typeof METHODS;
type Table = typeof METHODS;

/** A method's params as the handler gets them (parsed, defaults applied) and as a caller sends them. */
export type RpcParams<M extends MethodName> = z.output<Table[M][0]>;
export type RpcParamsInput<M extends MethodName> = z.input<Table[M][0]>;
/** A method's result as a caller reads it (validated) and as the handler may build it. */
export type RpcResult<M extends MethodName> = z.output<Table[M][1]>;
export type RpcResultInput<M extends MethodName> = z.input<Table[M][1]>;

/**
 * The same schemas, one table per side, typed per method: TypeScript cannot keep the link
 * between a generic key and `METHODS[key]`, but it can for a mapped type, and it checks here
 * that every method is listed.
 */
export const PARAM_SCHEMAS: { readonly [M in MethodName]: z.ZodType<RpcParams<M>, RpcParamsInput<M>> } = {
  status: METHODS.status[0],
  start: METHODS.start[0],
  stop: METHODS.stop[0],
  restart: METHODS.restart[0],
  'config.reload': METHODS['config.reload'][0],
  emergencyStop: METHODS.emergencyStop[0],
  subscribe: METHODS.subscribe[0],
  health: METHODS.health[0],
  'metrics.current': METHODS['metrics.current'][0],
  'metrics.history': METHODS['metrics.history'][0],
  'metrics.analyze': METHODS['metrics.analyze'][0],
  'logs.rotate': METHODS['logs.rotate'][0],
  'jobs.list': METHODS['jobs.list'][0],
  'jobs.run': METHODS['jobs.run'][0],
  'logs.tail': METHODS['logs.tail'][0],
  'logs.analyze': METHODS['logs.analyze'][0],
  'backup.create': METHODS['backup.create'][0],
  'backup.list': METHODS['backup.list'][0],
  'backup.restore': METHODS['backup.restore'][0],
  'db.check': METHODS['db.check'][0],
  'db.optimize': METHODS['db.optimize'][0],
  diagnose: METHODS.diagnose[0],
  'report.learning': METHODS['report.learning'][0],
  'report.weekly': METHODS['report.weekly'][0],
  optimize: METHODS.optimize[0],
  recover: METHODS.recover[0],
};
export const RESULT_SCHEMAS: { readonly [M in MethodName]: z.ZodType<RpcResult<M>, RpcResultInput<M>> } = {
  status: METHODS.status[1],
  start: METHODS.start[1],
  stop: METHODS.stop[1],
  restart: METHODS.restart[1],
  'config.reload': METHODS['config.reload'][1],
  emergencyStop: METHODS.emergencyStop[1],
  subscribe: METHODS.subscribe[1],
  health: METHODS.health[1],
  'metrics.current': METHODS['metrics.current'][1],
  'metrics.history': METHODS['metrics.history'][1],
  'metrics.analyze': METHODS['metrics.analyze'][1],
  'logs.rotate': METHODS['logs.rotate'][1],
  'jobs.list': METHODS['jobs.list'][1],
  'jobs.run': METHODS['jobs.run'][1],
  'logs.tail': METHODS['logs.tail'][1],
  'logs.analyze': METHODS['logs.analyze'][1],
  'backup.create': METHODS['backup.create'][1],
  'backup.list': METHODS['backup.list'][1],
  'backup.restore': METHODS['backup.restore'][1],
  'db.check': METHODS['db.check'][1],
  'db.optimize': METHODS['db.optimize'][1],
  diagnose: METHODS.diagnose[1],
  'report.learning': METHODS['report.learning'][1],
  'report.weekly': METHODS['report.weekly'][1],
  optimize: METHODS.optimize[1],
  recover: METHODS.recover[1],
};

/** `error.data` of every control-API error. */
export const RpcErrorData = z.object({ code: z.string(), hint: z.string().optional() });
