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
 * What `GET /health` answers (200 when `ok`, 503 otherwise): the MCP server's own view of
 * itself. `draining` while it stops (a handover stays `ok` until the old child exits).
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
});
export type HealthBody = z.infer<typeof HealthBody>;
