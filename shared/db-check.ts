import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { fileSize, MiB, noDatabase, sizesOf, worthVacuum } from './db-sizes.js';
import { AppError } from './errors.js';
import { LEARNING_MIGRATIONS } from './learning-db.js';
import type { DbCheckResult, DbProblem } from './schemas/backup.js';
import { schemaVersionOf, type Db } from './sqlite.js';

/**
 * `db check` of the learning database, on a read-only connection of its own beside the server's.
 * Synchronous: the daemon runs it in a worker thread, ctl inline.
 */

/** A WAL larger than this (and than half the database) means checkpoints are not keeping up. */
const LARGE_WAL_BYTES = 64 * 1024 * 1024;
/** The tables a learning database has; a file without them is not one. */
const LEARNING_TABLES = ['schema_version', 'users', 'tutorials', 'user_progress', 'user_sessions'] as const;

/** The newest learning-database schema this release knows. */
export const LEARNING_SCHEMA_VERSION = Math.max(...LEARNING_MIGRATIONS.map((m) => m.version));

/** The tables of a learning database that `db` lacks. */
export function missingLearningTables(db: Db): string[] {
  const have = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name),
  );
  return LEARNING_TABLES.filter((t) => !have.has(t));
}

interface ForeignKeyRow {
  table: string;
  rowid: number | bigint | null;
  parent: string;
}

/**
 * `db check`: integrity, foreign keys, schema version and WAL size of the learning database, read
 * only (it changes nothing and never migrates). Problems are what makes `ok` false, each with what
 * to do; notes are worth knowing without being wrong.
 */
export function checkDatabase(file: string): Omit<DbCheckResult, 'offline'> {
  const t0 = performance.now();
  if (!existsSync(file)) throw noDatabase(file);
  const problems: DbProblem[] = [];
  const notes: string[] = [];
  let db: Db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw new AppError('E_DB', `Cannot open ${file} to check it: ${(err as Error).message}.`, {
      hint: 'Check its permissions; if it is not a database any more, restore a backup (`mcp-starterctl backups`).',
      cause: err,
    });
  }
  try {
    let integrity: string;
    try {
      integrity = (db.pragma('integrity_check(10)') as Array<{ integrity_check: string }>)
        .map((r) => r.integrity_check)
        .join('; ')
        .slice(0, 2000);
    } catch (err) {
      integrity = `cannot be read: ${(err as Error).message}`;
    }
    if (integrity !== 'ok') {
      problems.push({
        what: `The database is damaged: ${integrity.slice(0, 300)}`,
        hint: 'Stop the server (`mcp-starterctl stop`), keep the file, and restore the newest good backup (`mcp-starterctl backups`, then `mcp-starterctl restore FILE`).',
      });
    }
    const foreignKeys = { violations: 0, sample: [] as Array<{ table: string; rowid: number | null; parent: string }> };
    const missing = readable(() => missingLearningTables(db), []);
    const version = readable(() => schemaVersionOf(db), 0);
    if (missing.length > 0) {
      problems.push({
        what: `This is not an mcp-starter learning database: it has no ${missing.join(', ')} table${missing.length === 1 ? '' : 's'}.`,
        hint: 'Check --data-dir; restore a backup if the file was replaced.',
      });
    } else {
      try {
        for (const row of db.prepare('PRAGMA foreign_key_check').iterate() as IterableIterator<ForeignKeyRow>) {
          foreignKeys.violations++;
          if (foreignKeys.sample.length < 5) {
            foreignKeys.sample.push({ table: row.table, rowid: row.rowid === null ? null : Number(row.rowid), parent: row.parent });
          }
        }
      } catch (err) {
        problems.push({ what: `The foreign keys cannot be checked: ${(err as Error).message}.`, hint: 'See the integrity problem above.' });
      }
      if (foreignKeys.violations > 0) {
        problems.push({
          what: `${foreignKeys.violations} rows point at rows that do not exist (first in ${foreignKeys.sample[0]?.table ?? '?'}, missing ${foreignKeys.sample[0]?.parent ?? '?'}).`,
          hint: 'Progress rows of a deleted learner or tutorial: restore a backup from before the damage, or report it as a bug with `mcp-starterctl db check --json`.',
        });
      }
      if (version > LEARNING_SCHEMA_VERSION) {
        problems.push({
          what: `The schema version is ${version}, newer than this release knows (${LEARNING_SCHEMA_VERSION}).`,
          hint: 'Run the newer mcp-starter release that wrote it, or restore a backup taken before the upgrade.',
        });
      } else if (version < LEARNING_SCHEMA_VERSION) {
        notes.push(`Schema version ${version}: the server updates it to ${LEARNING_SCHEMA_VERSION} at its next start.`);
      }
    }
    const sizes = readable(() => sizesOf(db, file), { dbBytes: fileSize(file), walBytes: fileSize(`${file}-wal`), freeBytes: 0 });
    if (sizes.walBytes > LARGE_WAL_BYTES && sizes.walBytes > sizes.dbBytes / 2) {
      notes.push(
        `The write-ahead log is ${MiB(sizes.walBytes)}: checkpoints are not keeping up (a long-running reader?). \`mcp-starterctl db optimize\` checkpoints and truncates it.`,
      );
    }
    if (worthVacuum(sizes))
      notes.push(`${MiB(sizes.freeBytes)} of the file is free pages; \`mcp-starterctl db optimize\` returns them (VACUUM).`);
    return {
      ok: problems.length === 0,
      file,
      integrity,
      foreignKeys,
      schema: { version, expected: LEARNING_SCHEMA_VERSION },
      sizes,
      problems,
      notes,
      ms: Math.round(performance.now() - t0),
    };
  } finally {
    db.close();
  }
}

/** A value read from a database that may be damaged: the fallback when it cannot be read (the integrity check says why). */
function readable<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
