import { z } from 'zod';

/**
 * `ctl recover` / RPC `recover` (the manual's 4.2 minimal recovery): a diagnosis, then each step
 * with what it did and, when it did not succeed, what to do. Re-exported by rpc.ts.
 */

export const RecoverParams = z
  .strictObject({
    /** Rebuild progress statuses and tutorial statistics from the answer rows. */
    recomputeProgress: z.boolean().default(false),
    /** Do what recover would otherwise only offer (restore the newest good backup over a damaged database). */
    yes: z.boolean().default(false),
  })
  .optional();
export type RecoverParams = z.infer<typeof RecoverParams>;
export type RecoverParamsInput = z.input<typeof RecoverParams>;

export const RecoverStepName = z.enum(['diagnose', 'database', 'restore', 'config', 'progress', 'minimal', 'health']);

export const RecoverStep = z.object({
  step: RecoverStepName,
  /**
   * ok: checked and fine; done: changed something; offered: would change something, needs --yes;
   * skipped: not needed or not possible here; failed: could not (see fix).
   */
  status: z.enum(['ok', 'done', 'offered', 'skipped', 'failed']),
  summary: z.string(),
  /** What to do now: the command that goes on from here (failed, offered, skipped with a reason). */
  fix: z.string().nullable(),
  details: z.array(z.string()),
});
export type RecoverStep = z.infer<typeof RecoverStep>;

export const RecoverResult = z.object({
  /** Every step ok or done, and (daemon up) the health check passed. */
  ok: z.boolean(),
  /** The daemon was down: ctl did the offline steps; `next` starts the daemon in minimal mode. */
  offline: z.boolean(),
  steps: z.array(RecoverStep),
  /** The exact command that goes on from here (offline: start the daemon in minimal mode; up: leave it with start). */
  next: z.string().nullable(),
  ms: z.number().min(0),
});
export type RecoverResult = z.infer<typeof RecoverResult>;
