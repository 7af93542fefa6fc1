import { z } from 'zod';
import { HealthDegraded } from './http.js';

/**
 * Messages over the Node IPC channel between mcp-starterd (parent) and mcp-starter-server (child).
 * Both sides parse what they receive with these schemas; anything else is logged and ignored.
 */

const Count = z.number().int().min(0);
const Ms = z.number().min(0);

/** Child → daemon: the store is open and the listener is up. */
export const ReadyMessage = z.strictObject({
  type: z.literal('ready'),
  pid: z.number().int(),
  version: z.string(),
  url: z.string(),
  tutorials: Count,
});

/** Child → daemon, every `stats.intervalMs`: load and timings over the window since the last report. */
export const StatsMessage = z.strictObject({
  type: z.literal('stats'),
  at: z.string(),
  windowMs: Ms,
  inFlight: Count,
  openStreams: Count,
  /** Client connections open now (the daemon's probe connections included: they are short). */
  connections: Count,
  activeLearners: Count,
  /** Learners' requests answered in the window (the daemon's probe not counted), and how many failed. */
  requests: Count,
  errors: Count,
  p50Ms: Ms,
  p95Ms: Ms,
  maxMs: Ms,
  /** Set while the disk refuses the server's writes (full, read-only, failing). */
  degraded: HealthDegraded.optional(),
  /** Learners' MCP operations in the window, one entry per label set (the daemon's probe not counted). */
  operations: z
    .array(z.lazy(() => OperationWindow))
    .max(256)
    .default([]),
});

/**
 * Upper bounds, in seconds, of the operation-duration histogram's buckets (a last, unbounded
 * bucket follows): the boundaries the OpenTelemetry MCP convention advises for
 * `mcp.server.operation.duration`.
 */
export const OPERATION_BUCKETS_SECONDS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300] as const;

/**
 * One label set of `mcp_server_operation_duration_seconds` over a stats window. `buckets[i]`
 * counts the operations that took at most `OPERATION_BUCKETS_SECONDS[i]` seconds and more than
 * the bound before it (per bucket, not cumulative); the last entry counts those over the last
 * bound. `count` is their sum.
 */
export const OperationWindow = z
  .strictObject({
    /** `mcp.method.name`: `tools/call`, `resources/read`, …; `other` for a method the server does not know. */
    method: z.string().max(64),
    /** `gen_ai.tool.name` for `tools/call` (`other` for an unknown tool); empty for other methods. */
    tool: z.string().max(64),
    /** `error.type`: empty on success. */
    errorType: z.string().max(32),
    count: Count,
    sumSeconds: z.number().min(0),
    buckets: z.array(Count).length(OPERATION_BUCKETS_SECONDS.length + 1),
  })
  .refine((w) => w.buckets.reduce((a, b) => a + b, 0) === w.count, { message: 'count must be the sum of buckets' });
export type OperationWindow = z.infer<typeof OperationWindow>;

/** Child → daemon: drain started; what is still being waited for. */
export const DrainingMessage = z.strictObject({
  type: z.literal('draining'),
  inFlight: Count,
  openStreams: Count,
  activeLearners: Count,
});

/**
 * Child → daemon: it holds the connection `id` the daemon handed it. Until then the daemon keeps
 * its own copy of the socket, and hands it to the next child if this one dies first (Node does not
 * tell the sender whether a passed handle arrived).
 */
export const AcceptedMessage = z.strictObject({ type: z.literal('accepted'), id: z.number().int().min(0) });

/** Child → daemon, just before it exits after a drain: whether it had to cut requests or streams at the deadline. */
export const DrainedMessage = z.strictObject({ type: z.literal('drained'), forced: z.boolean() });

/**
 * Daemon → child (`ctl optimize`): collect garbage, drop expired entries from the in-memory
 * caches, release SQLite's page cache, close keep-alive connections idle at least
 * `minIdleMs`; answered by `optimized` with the same `id`.
 */
export const OptimizeMessage = z.strictObject({
  type: z.literal('optimize'),
  id: z.number().int().min(0),
  minIdleMs: z.number().int().min(0).max(3_600_000),
});

/** Child → daemon: what `optimize` did. */
export const OptimizedMessage = z.strictObject({
  type: z.literal('optimized'),
  id: z.number().int().min(0),
  /** Whether a garbage collection ran (the server runs with --expose-gc under the daemon). */
  gcRan: z.boolean(),
  heapUsedBeforeBytes: Count,
  heapUsedAfterBytes: Count,
  rssBeforeBytes: Count,
  rssAfterBytes: Count,
  /** Learner sessions idle past the gap, ended now instead of at the next sweep. */
  sessionsEnded: Count,
  /** Limit-offender entries past their window, forgotten. */
  offendersForgotten: Count,
  /** Whether SQLite released its page cache (`PRAGMA shrink_memory`). */
  sqliteCacheReleased: z.boolean(),
  idleConnectionsClosed: Count,
  ms: Ms,
});
export type OptimizedMessage = z.infer<typeof OptimizedMessage>;

export const ChildMessage = z.discriminatedUnion('type', [
  ReadyMessage,
  StatsMessage,
  DrainingMessage,
  AcceptedMessage,
  DrainedMessage,
  OptimizedMessage,
]);
export type ChildMessage = z.infer<typeof ChildMessage>;
export type ReadyMessage = z.infer<typeof ReadyMessage>;
export type StatsMessage = z.infer<typeof StatsMessage>;
export type DrainingMessage = z.infer<typeof DrainingMessage>;

/**
 * Daemon → child, instead of binding the port itself. Sent with a listening `net.Server` handle:
 * serve on it. Sent without a handle: the daemon accepts and passes each connection as a
 * `connection` message; `url` is then the address clients use.
 */
export const ListenMessage = z.strictObject({ type: z.literal('listen'), url: z.string().url().optional() });

/** Daemon → child, sent with an accepted (paused) `net.Socket`: confirm with `accepted` and serve this connection. */
export const ConnectionMessage = z.strictObject({ type: z.literal('connection'), id: z.number().int().min(0) });

/**
 * Daemon → child: finish in-flight requests and streams (up to `timeoutMs`), then exit 0. New
 * requests get 503, except in a `handover` (a new child already serves the port), where requests
 * on open connections are still answered, each with `Connection: close`.
 */
export const DrainMessage = z.strictObject({
  type: z.literal('drain'),
  timeoutMs: z.number().int().min(0),
  handover: z.boolean().default(false),
});

export const ParentMessage = z.discriminatedUnion('type', [ListenMessage, ConnectionMessage, DrainMessage, OptimizeMessage]);
export type ParentMessage = z.infer<typeof ParentMessage>;
