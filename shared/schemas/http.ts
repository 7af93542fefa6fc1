import { z } from 'zod';

/**
 * The body of every HTTP error the project sends itself (the daemon's listener and the server's
 * transport): a JSON-RPC error, so an MCP client shows its message, with the message and what to
 * do apart in `data` for scripts.
 */
export const HttpErrorBody = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.null(),
  error: z.object({
    code: z.number().int(),
    message: z.string(),
    data: z.object({ message: z.string(), hint: z.string() }),
  }),
});
export type HttpErrorBody = z.infer<typeof HttpErrorBody>;

const Count = z.number().int().nonnegative();

/** Whether the learning database answered `/health`'s query, and why not. */
export const HealthDatabase = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type HealthDatabase = z.infer<typeof HealthDatabase>;

/**
 * Why the server is `degraded` although its database answers: the disk refuses writes (full,
 * read-only, failing), so learners can read but their changes are refused with a clear error.
 */
export const HealthDegraded = z.object({
  /** What is wrong and what it costs, in words. */
  reason: z.string(),
  kind: z.enum(['full', 'read_only', 'io']),
  /** The SQLite code or errno of the first refusal (`SQLITE_FULL`, `SQLITE_READONLY`, `ENOSPC`, …). */
  code: z.string(),
  /** When the first write was refused (ISO 8601 UTC). */
  since: z.string(),
  /** Learners' changes refused since then (session and counter bookkeeping not counted). */
  failedWrites: Count,
  /** The database was opened read-only at start: only a restart (after the fix) ends this. */
  restartNeeded: z.boolean(),
});
export type HealthDegraded = z.infer<typeof HealthDegraded>;

/**
 * What `GET /health` answers: the MCP server's own view of itself. 200 while the database
 * answers (`ok`, or `degraded` with `degraded` saying why: reads work, writes are refused), 503
 * when it does not or while the server stops (`draining`; a handover stays `ok` until the old
 * child exits).
 */
export const HealthBody = z.object({
  status: z.enum(['ok', 'degraded', 'draining']),
  version: z.string(),
  uptimeMs: Count,
  /** Requests being answered, open streams included. */
  inFlight: Count,
  /** SSE responses open now. */
  openStreams: Count,
  /** Learners who made a request within the idle gap. */
  activeLearners: Count,
  database: HealthDatabase,
  /** Tutorials in the catalogue; null when the database did not answer. */
  tutorials: Count.nullable(),
  /** Present while the disk refuses writes; back to absent (and `ok`) once a write succeeds. */
  degraded: HealthDegraded.optional(),
});
export type HealthBody = z.infer<typeof HealthBody>;
