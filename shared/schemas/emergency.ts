import { z } from 'zod';

/** A learner with an open working session when the server was killed. */
export const ActiveLearner = z.object({
  name: z.string(),
  sessionStartedAt: z.string(),
  lastActivity: z.string(),
});
export type ActiveLearner = z.infer<typeof ActiveLearner>;

/**
 * `<dataDir>/emergency-<time>.json`, written by an emergency stop (the daemon's, or ctl's offline
 * fallback): who was active, so an operator can tell them, and what was in flight.
 */
export const ActiveLearnersRecord = z.object({
  /** When the record was written (ISO 8601 UTC). */
  at: z.string(),
  reason: z.string(),
  /** In-flight requests as the server last reported them; null when unknown (daemon down). */
  inFlight: z.number().int().nonnegative().nullable(),
  /** Active learners as the server last reported them; null when unknown. */
  activeLearnersReported: z.number().int().nonnegative().nullable(),
  /** Learners with an open working session, from the learning database, latest activity first. */
  learners: z.array(ActiveLearner),
  /** Why `learners` could not be read (the record is written anyway). */
  error: z.string().optional(),
});
export type ActiveLearnersRecord = z.infer<typeof ActiveLearnersRecord>;
