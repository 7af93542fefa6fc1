import { z } from 'zod';

/**
 * Backups and the learning database's upkeep (`backup.*`, `db.*`): DESIGN.md, JSON that scripts
 * read. Re-exported by rpc.ts, whose method table uses them. (No imports from rpc.ts: it imports
 * this module, and a cycle would leave its schemas undefined here.)
 */

/** What `PRAGMA integrity_check` said of a backup: "ok", the problems it found, or "unchecked" (no record of a check). */
export const UNCHECKED = 'unchecked';

/** DESIGN.md, JSON (`backup` / `backups`): `{file, bytes, at, integrity}`. */
export const BackupInfo = z.object({
  /** Absolute path of the backup file. */
  file: z.string(),
  bytes: z.number().int(),
  /** When it was taken (ISO 8601 UTC). */
  at: z.string(),
  /** "ok" when it passed `PRAGMA integrity_check` after it was written; otherwise what the check found, or "unchecked". */
  integrity: z.string(),
  /** Why it was taken: manual, daily, emergency, offline (from its file name). */
  label: z.string().optional(),
});
export type BackupInfo = z.infer<typeof BackupInfo>;

/**
 * The record written beside each backup (`<file>.json`), so `backups` reports the check without
 * running it again. Read with this schema: a file that does not parse, or that names another size,
 * leaves the backup "unchecked".
 */
export const BackupSidecar = z.object({
  format: z.literal(1),
  bytes: z.number().int().min(0),
  at: z.string(),
  label: z.string(),
  integrity: z.string(),
  checkedAt: z.string(),
  /** The learning database's schema version inside the backup. */
  schemaVersion: z.number().int(),
});
export type BackupSidecar = z.infer<typeof BackupSidecar>;

/** `backup.create`: the backup (its check passed: one that fails is an error), and what retention removed. */
export const BackupCreateResult = BackupInfo.extend({
  ms: z.number().min(0),
  /** Older backups deleted to keep `backups.keep` of them. */
  pruned: z.array(z.string()),
  /** `backups.keep` as it was applied. */
  keep: z.number().int(),
  /** Taken by ctl itself because the daemon was not running. */
  offline: z.boolean(),
});
export type BackupCreateResult = z.infer<typeof BackupCreateResult>;

/** `backup.list` (DESIGN's `backups`): newest first. */
export const BackupListResult = z.array(BackupInfo);
export type BackupListResult = z.infer<typeof BackupListResult>;

export const BackupRestoreParams = z.strictObject({
  /** An absolute path, or the name of a file in the backups folder (as `backups` lists them). */
  file: z.string().min(1).max(4096),
});
export type BackupRestoreParams = z.infer<typeof BackupRestoreParams>;

export const HealthSummary = z.object({ status: z.enum(['healthy', 'unhealthy']), failing: z.array(z.string()) });
export type HealthSummary = z.infer<typeof HealthSummary>;

export const BackupRestoreResult = z.object({
  /** The backup now serving as the learning database. */
  restored: BackupInfo,
  /** Where the database it replaced was kept (with its -wal and -shm beside it); null when there was none. */
  keptAs: z.string().nullable(),
  /** The server after the restore; null when the restore was done offline (no daemon). */
  child: z.object({ state: z.string(), pid: z.number().int().nullable() }).nullable(),
  /** The health check after the start; null offline, or when the server did not start. */
  health: HealthSummary.nullable(),
  /** What to do when the server did not come back healthy (how to put the replaced file back); null otherwise. */
  hint: z.string().nullable(),
  /** Learners could not write from the stop until the start (ms). */
  downMs: z.number().min(0),
  ms: z.number().min(0),
  offline: z.boolean(),
});
export type BackupRestoreResult = z.infer<typeof BackupRestoreResult>;

/** Sizes of one database: its file, its write-ahead log, and the free pages inside the file. */
export const DbSizes = z.object({
  dbBytes: z.number().int().min(0),
  walBytes: z.number().int().min(0),
  freeBytes: z.number().int().min(0),
});
export type DbSizes = z.infer<typeof DbSizes>;

export const DbProblem = z.object({ what: z.string(), hint: z.string() });
export type DbProblem = z.infer<typeof DbProblem>;

/** `db.check`: integrity, foreign keys, schema version, WAL size. `ok` when nothing in `problems`. */
export const DbCheckResult = z.object({
  ok: z.boolean(),
  file: z.string(),
  /** `PRAGMA integrity_check`: "ok" or the first problems found. */
  integrity: z.string(),
  /** Rows whose parent row is missing (`PRAGMA foreign_key_check`), with the first few. */
  foreignKeys: z.object({
    violations: z.number().int().min(0),
    sample: z.array(z.object({ table: z.string(), rowid: z.number().int().nullable(), parent: z.string() })),
  }),
  schema: z.object({ version: z.number().int(), expected: z.number().int() }),
  sizes: DbSizes,
  problems: z.array(DbProblem),
  /** Worth knowing, not wrong (a large WAL, free pages a VACUUM would return). */
  notes: z.array(z.string()),
  ms: z.number().min(0),
  offline: z.boolean(),
});
export type DbCheckResult = z.infer<typeof DbCheckResult>;

/** One step of `db optimize`: whether it ran, how long, and how long it held the write lock. */
export const OptimizeStep = z.object({
  name: z.string(),
  ran: z.boolean(),
  ms: z.number().min(0),
  /** The longest single write-lock hold of the step: a writer waited at most this long behind it. */
  lockMs: z.number().min(0),
  detail: z.string(),
});
export type OptimizeStep = z.infer<typeof OptimizeStep>;

export const DbOptimizeReport = z.object({
  file: z.string(),
  before: DbSizes,
  after: DbSizes,
  steps: z.array(OptimizeStep),
});
export type DbOptimizeReport = z.infer<typeof DbOptimizeReport>;

/** `db.optimize`: the learning database and ops.db, sizes before and after, and how long writers waited. */
export const DbOptimizeResult = z.object({
  learning: DbOptimizeReport,
  ops: DbOptimizeReport.extend({
    /** Rows of ops.db deleted by retention, per table. */
    pruned: z.record(z.string(), z.number().int().min(0)),
  }),
  writers: z.object({
    /** The longest write-lock hold of any step on the learning database. */
    longestLockMs: z.number().min(0),
    /** A tiny write made every 100 ms during the steps, as a learner's would be: how many, and the longest wait. */
    probeWrites: z.number().int().min(0),
    probeLongestWaitMs: z.number().min(0).nullable(),
  }),
  ms: z.number().min(0),
});
export type DbOptimizeResult = z.infer<typeof DbOptimizeResult>;
