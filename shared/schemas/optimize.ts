import { z } from 'zod';
import { DbOptimizeResult } from './backup.js';
import { OptimizedMessage } from './ipc.js';

/**
 * `ctl optimize` / RPC `optimize`: the manual's optimisation rules (3.2) in one command —
 * database, memory, cache, connections — each part saying what it did. Re-exported by rpc.ts.
 */

export const OptimizePartName = z.enum(['database', 'memory', 'cache', 'connections']);

export const OptimizePart = z.object({
  part: OptimizePartName,
  ok: z.boolean(),
  /** What it did, or why it could not. */
  summary: z.string(),
  hint: z.string().optional(),
});
export type OptimizePart = z.infer<typeof OptimizePart>;

/** What the server did, as it reported it over IPC. */
// Not strict: parsing the IPC message drops its type and id.
export const ServerOptimized = z.object(OptimizedMessage.omit({ type: true, id: true }).shape);
export type ServerOptimized = z.infer<typeof ServerOptimized>;

export const OptimizeResult = z.object({
  parts: z.array(OptimizePart),
  /** The `db optimize` step's full report; null when it failed (its part says why). */
  database: DbOptimizeResult.nullable(),
  /** The server's own figures; null when no server ran or it did not answer. */
  server: ServerOptimized.nullable(),
  ms: z.number().min(0),
});
export type OptimizeResult = z.infer<typeof OptimizeResult>;
