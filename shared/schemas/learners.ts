import { z } from 'zod';

/** A learner as `learners list|add|revoke` show it (`--json` prints these objects). */
export const LearnerInfo = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  /** ISO 8601 UTC, as every timestamp in the learning database. */
  createdAt: z.string(),
  /** The learner's latest request; null until their first. */
  lastActivity: z.string().nullable(),
  /** When their token was revoked; null while it works. */
  revokedAt: z.string().nullable(),
  /** False for the local learner (stdio, and loopback HTTP without a token). */
  hasToken: z.boolean(),
});
export type LearnerInfo = z.infer<typeof LearnerInfo>;

/** `learners add NAME`: the new learner and their bearer token, shown this once (only its hash is stored). */
export const LearnersAddResult = z.object({ learner: LearnerInfo, token: z.string() });
export type LearnersAddResult = z.infer<typeof LearnersAddResult>;

/** `learners list`: every learner, oldest first. */
export const LearnersListResult = z.object({ learners: z.array(LearnerInfo) });
export type LearnersListResult = z.infer<typeof LearnersListResult>;

/** `learners revoke NAME`: the learner as they are now (their progress is kept). */
export const LearnersRevokeResult = z.object({ learner: LearnerInfo });
export type LearnersRevokeResult = z.infer<typeof LearnersRevokeResult>;

/** `learners reset-sessions`: sessions past the TTL and sessions of learners who no longer exist, removed. */
export const LearnersResetSessionsResult = z.object({
  summary: z.string(),
  /** Sessions idle past `sessions.ttlHours`, removed. */
  removed: z.number().int().min(0),
  /** Sessions of learners who no longer exist, removed. */
  orphansRemoved: z.number().int().min(0),
  /** Sessions past the TTL kept because they are open within the idle gap (a learner working now). */
  kept: z.number().int().min(0),
  /** Sessions idle since before this were removed. */
  cutoff: z.string(),
});
export type LearnersResetSessionsResult = z.infer<typeof LearnersResetSessionsResult>;
