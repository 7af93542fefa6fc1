import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from './errors.js';
import {
  describeDiskFault,
  diskFaultCode,
  diskFaultOf,
  migrate,
  openDatabase,
  openReadOnly,
  refineDiskFault,
  schemaVersionOf,
  type Db,
  type DiskFault,
  type Migration,
} from './sqlite.js';

/** ISO-8601 UTC with milliseconds, the one timestamp format in the learning database. */
export const SQL_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

/** Ordered, append-only: never edit a shipped migration, add the next version. */
export const LEARNING_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'learners, tutorials, progress, sessions',
    up: `
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        -- sha256 (hex) of the learner's bearer token; NULL for the local learner
        token_hash TEXT UNIQUE,
        created_at TEXT NOT NULL DEFAULT (${SQL_NOW}),
        revoked_at TEXT,
        last_activity TEXT
      );
      CREATE TABLE tutorials (
        id TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        level TEXT NOT NULL,
        estimated_minutes INTEGER NOT NULL,
        title TEXT NOT NULL,
        step_count INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        -- completed / started, 0..1; kept by daily maintenance
        completion_rate REAL NOT NULL DEFAULT 0,
        -- mean completion_time in seconds of those who completed; NULL until someone has
        average_time REAL,
        -- set when the tutorial left the catalogue files; its progress rows are kept
        retired_at TEXT,
        updated_at TEXT NOT NULL DEFAULT (${SQL_NOW})
      );
      CREATE TABLE tutorial_steps (
        tutorial_id TEXT NOT NULL REFERENCES tutorials(id) ON DELETE CASCADE,
        locale TEXT NOT NULL,
        position INTEGER NOT NULL,
        step_key TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        question TEXT,
        hint TEXT NOT NULL,
        PRIMARY KEY (tutorial_id, locale, position)
      );
      CREATE TABLE user_progress (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        tutorial_id TEXT NOT NULL REFERENCES tutorials(id),
        status TEXT NOT NULL CHECK (status IN ('not_started', 'in_progress', 'completed')),
        -- 0-based index of the step the learner is on
        current_step INTEGER NOT NULL DEFAULT 0,
        wrong_answers INTEGER NOT NULL DEFAULT 0,
        hints_used INTEGER NOT NULL DEFAULT 0,
        started_at TEXT,
        completed_at TEXT,
        -- seconds from started_at to completed_at
        completion_time REAL,
        updated_at TEXT NOT NULL DEFAULT (${SQL_NOW}),
        PRIMARY KEY (user_id, tutorial_id)
      );
      CREATE INDEX user_progress_tutorial_status ON user_progress (tutorial_id, status);
      CREATE TABLE user_sessions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        transport TEXT NOT NULL,
        started_at TEXT NOT NULL,
        last_activity TEXT NOT NULL,
        ended_at TEXT
      );
      CREATE INDEX user_sessions_user ON user_sessions (user_id, ended_at);
      CREATE INDEX user_sessions_last_activity ON user_sessions (last_activity);
    `,
  },
  {
    version: 2,
    name: 'answers; completion_rate as the manual defines it',
    up: `
      -- One row per step a learner submitted: every answer, right or wrong, and every step without a
      -- question moved past. Written in the transaction of the progress change it belongs to.
      CREATE TABLE user_answers (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        tutorial_id TEXT NOT NULL REFERENCES tutorials(id),
        -- 0-based index of the step, as user_progress.current_step
        step INTEGER NOT NULL,
        -- the step's id in the catalogue, and the tutorial's step count, when it was answered
        step_key TEXT NOT NULL,
        total_steps INTEGER NOT NULL,
        -- 1: the step asked a question (0: a step without one, submitted to move on)
        asked INTEGER NOT NULL CHECK (asked IN (0, 1)),
        correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
        -- user_progress.started_at of the attempt it belongs to (a reset and a new start begin another)
        attempt_started_at TEXT NOT NULL,
        answered_at TEXT NOT NULL
      );
      CREATE INDEX user_answers_attempt ON user_answers (user_id, tutorial_id, attempt_started_at);
      CREATE INDEX user_answers_answered_at ON user_answers (answered_at);
      -- completion_rate was completed / started (0..1); it is now the manual's: learners who completed
      -- the tutorial / all learners * 100 (recomputeTutorialStats).
      UPDATE tutorials SET completion_rate = COALESCE((
        SELECT CAST(COUNT(*) AS REAL) / NULLIF((SELECT COUNT(*) FROM users), 0) * 100
        FROM user_progress p WHERE p.tutorial_id = tutorials.id AND p.status = 'completed'), 0);
    `,
  },
];

/** Opens the learning database (synchronous=FULL: acknowledged progress survives SIGKILL and power loss) and migrates it. */
export function openLearningDb(file: string, options: { busyTimeoutMs?: number } = {}): Db {
  const db = openDatabase(file, { synchronous: 'FULL', busyTimeoutMs: options.busyTimeoutMs ?? 5_000 });
  try {
    migrate(db, LEARNING_MIGRATIONS);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** The learning database as the server holds it: read-write, or read-only because the disk refused writes at start. */
export interface ServedLearningDb {
  db: Db;
  /** Set when the database is open read-only; `inMemory` when it is a copy read into memory at start. */
  readOnly?: { fault: DiskFault; inMemory: boolean };
}

function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // A folder that refused to create the file may refuse to remove it too; the error that matters is the caller's.
  }
}

function diskStartError(fault: DiskFault, file: string, what: string): AppError {
  const d = describeDiskFault(fault, dirname(file));
  return new AppError(diskFaultCode(fault), `${what}: ${d.what}.`, { hint: `${d.fix} Then start the server again.` });
}

/**
 * Opens the learning database read-only after the disk refused to open it for writing. Only a
 * file at this release's schema can be served so: one that needs a migration cannot be read
 * safely, and its migration cannot be written.
 */
export function openLearningDbReadOnly(file: string, fault: DiskFault): ServedLearningDb {
  let opened: { db: Db; inMemory: boolean };
  try {
    opened = openReadOnly(file);
  } catch (err) {
    throw diskFaultOf(err) ? diskStartError(fault, file, `Cannot open the learning database ${file}, not even to read it`) : err;
  }
  const { db, inMemory } = opened;
  const version = schemaVersionOf(db);
  const latest = Math.max(...LEARNING_MIGRATIONS.map((m) => m.version));
  if (version !== latest) {
    db.close();
    if (version > latest) {
      throw new AppError('E_DB', `Database ${file} has schema version ${version}, newer than this release knows (${latest}).`, {
        hint: 'Run the newer mcp-starter release that wrote it, or restore a backup taken before the upgrade.',
      });
    }
    throw diskStartError(fault, file, `Cannot update the learning database ${file} to schema version ${latest} (it is at ${version})`);
  }
  return { db, readOnly: { fault, inMemory } };
}

/**
 * Opens the learning database for serving: read-write and migrated when the disk allows it. When
 * the disk refuses (full, read-only, failing) and the file exists at the current schema, it is
 * opened read-only so learners can still read their progress. A database that does not exist yet
 * cannot be served from such a disk: that, and a migration that cannot be written, is an AppError
 * with the path and the fix (the file this attempt created is removed, so the next start begins
 * clean).
 */
export function openLearningDbForServing(file: string, options: { busyTimeoutMs?: number } = {}): ServedLearningDb {
  const sideFiles = [`${file}-wal`, `${file}-shm`];
  const existed = existsSync(file);
  const leftBefore = new Set(sideFiles.filter((f) => existsSync(f)));
  try {
    return { db: openLearningDb(file, options) };
  } catch (err) {
    const found = diskFaultOf(err);
    if (!found) {
      throw err instanceof AppError
        ? err
        : new AppError('E_DB', `Cannot prepare the learning database ${file}: ${(err as Error).message}`, { cause: err });
    }
    const fault = refineDiskFault(found, dirname(file));
    if (!existed) {
      for (const f of [file, ...sideFiles]) if (f === file || !leftBefore.has(f)) removeQuietly(f);
      throw diskStartError(fault, file, `Cannot create the learning database ${file}`);
    }
    return openLearningDbReadOnly(file, fault);
  }
}

const TUTORIAL_STATS_SQL = `
  UPDATE tutorials SET
    completion_rate = COALESCE((
      SELECT CAST(COUNT(*) AS REAL) / NULLIF((SELECT COUNT(*) FROM users), 0) * 100
      FROM user_progress p WHERE p.tutorial_id = tutorials.id AND p.status = 'completed'), 0),
    average_time = (
      SELECT AVG(completion_time) FROM user_progress p
      WHERE p.tutorial_id = tutorials.id AND p.status = 'completed')`;

/**
 * Recomputes `tutorials.completion_rate` and `average_time` as the manual defines them (DESIGN.md,
 * Data): completion_rate = learners who completed the tutorial / all learners * 100 (0 while there
 * are no learners), average_time = the mean `completion_time` of its completions, in seconds (NULL
 * until someone completed it). Returns how many tutorials it updated.
 */
export function recomputeTutorialStats(db: Db): number {
  return db.prepare(TUTORIAL_STATS_SQL).run().changes;
}

/** A tutorial's statistics as `recomputeTutorialStats` leaves them. */
export interface TutorialStats {
  id: string;
  completion_rate: number;
  average_time: number | null;
}

/** The statistics columns of the tutorials in the catalogue, in its order. */
export function tutorialStats(db: Db): TutorialStats[] {
  return db
    .prepare('SELECT id, completion_rate, average_time FROM tutorials WHERE retired_at IS NULL ORDER BY position, id')
    .all() as TutorialStats[];
}
