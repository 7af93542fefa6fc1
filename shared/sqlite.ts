import Database from 'better-sqlite3';
import { AppError } from './errors.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** FULL for learning data (an acknowledged write survives a power cut); NORMAL for ops data. */
  synchronous: 'FULL' | 'NORMAL';
  busyTimeoutMs?: number;
  readonly?: boolean;
}

function dbError(file: string, err: unknown): AppError {
  const code = (err as { code?: string }).code ?? '';
  const hints: Record<string, string> = {
    SQLITE_CANTOPEN: 'Check that the data dir exists and is writable by this user.',
    SQLITE_NOTADB: 'The file is not an SQLite database: move it aside and restore a backup (`mcp-starterctl backups`).',
    SQLITE_CORRUPT: 'The database is damaged: run `mcp-starterctl db check`, then restore a backup.',
    SQLITE_BUSY: 'Another process holds a long write lock; retry, or stop it.',
    SQLITE_READONLY: 'The database file or its folder is read-only for this user.',
  };
  return new AppError('E_DB', `Cannot open database ${file}: ${(err as Error).message}${code ? ` (${code})` : ''}.`, {
    hint: hints[code] ?? 'See the log for details; `mcp-starterctl diagnose` checks the usual causes.',
    cause: err,
  });
}

/** Opens an SQLite file in WAL mode with foreign keys on and a busy timeout. */
export function openDatabase(file: string, options: OpenOptions): Db {
  try {
    const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5_000)}`);
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous}`);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    throw dbError(file, err);
  }
}

export interface Migration {
  version: number;
  name: string;
  up: string | ((db: Db) => void);
}

/**
 * Applies the migrations newer than the file's schema version, each in its own transaction,
 * in version order. Running it again is a no-op. A file written by a newer release is refused.
 */
export function migrate(db: Db, migrations: readonly Migration[]): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
  )`);
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const latest = ordered[ordered.length - 1]?.version ?? 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  const current = row.v ?? 0;
  if (current > latest) {
    throw new AppError('E_DB', `Database ${db.name} has schema version ${current}, newer than this release knows (${latest}).`, {
      hint: 'Run the newer mcp-starter release that wrote it, or restore a backup taken before the upgrade.',
    });
  }
  const record = db.prepare('INSERT INTO schema_version (version, name) VALUES (?, ?)');
  for (const m of ordered) {
    if (m.version <= current) continue;
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      record.run(m.version, m.name);
    }).immediate();
  }
  return latest;
}
