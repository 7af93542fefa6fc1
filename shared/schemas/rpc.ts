import { z } from 'zod';

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
export const OperationName = z.enum(['start', 'stop', 'restart', 'reload', 'emergency-stop', 'crash-restart', 'probe-restart', 'shutdown']);
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
  activeLearners: z.number().int(),
  inFlight: z.number().int(),
  /** Share of passed probes over the window (0..1), null before the first probe. */
  availability: z.object({ h24: z.number().nullable(), d7: z.number().nullable() }),
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

export const BackupInfo = z.object({ file: z.string(), bytes: z.number().int(), at: z.string(), integrity: z.string() });
export type BackupInfo = z.infer<typeof BackupInfo>;

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

export const Topic = z.enum(['state', 'stats', 'logs']);
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

/** Method name → [params schema, result schema]. */
export const METHODS = {
  status: [NoParams, StatusResult],
  start: [NoParams, StartResult],
  stop: [StopParams, StopResult],
  restart: [StopParams, RestartResult],
  'config.reload': [NoParams, ReloadResult],
  emergencyStop: [EmergencyStopParams, EmergencyStopResult],
  subscribe: [SubscribeParams, SubscribeResult],
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
};
export const RESULT_SCHEMAS: { readonly [M in MethodName]: z.ZodType<RpcResult<M>, RpcResultInput<M>> } = {
  status: METHODS.status[1],
  start: METHODS.start[1],
  stop: METHODS.stop[1],
  restart: METHODS.restart[1],
  'config.reload': METHODS['config.reload'][1],
  emergencyStop: METHODS.emergencyStop[1],
  subscribe: METHODS.subscribe[1],
};

/** `error.data` of every control-API error. */
export const RpcErrorData = z.object({ code: z.string(), hint: z.string().optional() });
