import { accessSync, constants, existsSync, readFileSync, statSync, statfsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AppError, type ErrorCode } from './errors.js';

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
    SQLITE_FULL: 'The disk is full: free space (`df -h` on the data dir), then start again.',
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
  const applied = db.prepare('SELECT 1 FROM schema_version WHERE version = ?');
  for (const m of ordered) {
    if (m.version <= current) continue;
    db.transaction(() => {
      // Another process (the server and a ctl or the daemon's maintenance, right after an upgrade)
      // may have applied it while this one waited for the write lock: then there is nothing to do.
      if (applied.get(m.version) !== undefined) return;
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      record.run(m.version, m.name);
    }).immediate();
  }
  return latest;
}

/** Why the disk refused: no room, no write access, or failing I/O. */
export type DiskFaultKind = 'full' | 'read_only' | 'io';

/** A failure of the disk under a database, rather than of the request or the code. */
export interface DiskFault {
  kind: DiskFaultKind;
  /** The SQLite result code (`SQLITE_FULL`, `SQLITE_READONLY_DBMOVED`, …) or errno (`ENOSPC`). */
  code: string;
}

function faultKind(code: string): DiskFaultKind | undefined {
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') return 'full';
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) return 'read_only';
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'read_only';
  if (code.startsWith('SQLITE_IOERR')) return 'io';
  return undefined;
}

/** The disk fault behind an error (its own code, or a cause's: an AppError wrapping a SqliteError), if any. */
export function diskFaultOf(err: unknown): DiskFault | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    const kind = faultKind(code);
    if (kind) return { kind, code };
  }
  return undefined;
}

/** Bytes free for this user on the filesystem holding `path`; undefined when it cannot be told. */
export function freeBytes(path: string): number | undefined {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  } catch {
    return undefined; // statfs unsupported or the path is gone: the caller logs without the figure
  }
}

/**
 * The operating system's side of a fault, which SQLite's codes do not carry: ENOSPC when the disk
 * has no room left, EROFS or EACCES when the folder refuses write access; undefined when unclear.
 */
export function errnoOf(fault: DiskFault, dir: string): string | undefined {
  if (fault.code.startsWith('E')) return fault.code;
  if (fault.kind === 'full') return freeBytes(dir) === 0 ? 'ENOSPC' : undefined;
  if (fault.kind !== 'read_only') return undefined;
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

/**
 * An I/O error on a disk with no room left is a full disk (SQLite reports a -shm it cannot grow as
 * SQLITE_IOERR_SHMSIZE, a short write past a file size limit as SQLITE_IOERR_WRITE).
 */
export function refineDiskFault(fault: DiskFault, dir: string): DiskFault {
  return fault.kind === 'io' && freeBytes(dir) === 0 ? { ...fault, kind: 'full' } : fault;
}

/** The error code a disk fault is reported with. */
export function diskFaultCode(fault: DiskFault): ErrorCode {
  return fault.kind === 'read_only' ? 'E_READ_ONLY' : 'E_DISK_FULL';
}

/** What an operator reads: what is wrong, and what to do about it. */
export function describeDiskFault(fault: DiskFault, dataDir: string): { what: string; fix: string } {
  const errno = errnoOf(fault, dataDir);
  const codes = errno === undefined || errno === fault.code ? fault.code : `${fault.code}, ${errno}`;
  switch (fault.kind) {
    case 'full':
      return {
        what: `the disk that holds ${dataDir} is full (${codes})`,
        fix: `Free space on that disk (\`df -h ${dataDir}\` shows it; old backups and logs are in ${dataDir}/backups and ${dataDir}/logs).`,
      };
    case 'read_only':
      return {
        what: `${dataDir} cannot be written by this process (${codes})`,
        fix: `Check that ${dataDir} is mounted read-write (\`findmnt -T ${dataDir}\`) and that this user may write it and its files (\`ls -la ${dataDir}\`).`,
      };
    case 'io':
      return {
        what: `the disk that holds ${dataDir} fails writes (${codes})`,
        fix: `Check \`df -h ${dataDir}\`, the file size limit (\`ulimit -f\`) and the kernel log (\`dmesg\`) for I/O errors.`,
      };
  }
}

/**
 * A real write that leaves the data as it was: a row added and deleted in one transaction still
 * dirties a page, so SQLite must append it to the WAL and sync it. (An UPDATE that sets a column to
 * its own value writes nothing: SQLite skips identical cells.) Throws what the write throws.
 */
export function probeWrite(db: Db): void {
  db.transaction(() => {
    db.prepare("INSERT INTO schema_version (version, name) VALUES (-1, 'disk write probe')").run();
    db.prepare('DELETE FROM schema_version WHERE version = -1').run();
  }).immediate();
}

/** The schema version recorded in a database; 0 for a file without the table (new or empty). */
export function schemaVersionOf(db: Db): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (table === undefined) return 0;
  return (db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
}

/**
 * Opens an existing database for reading only, for when the disk refuses to write it. In place
 * when SQLite can (its -wal and -shm exist, or can be made); otherwise — a WAL database whose
 * -shm cannot be created, as in a read-only folder or on a full disk after a clean stop — a
 * read-only copy in memory of the file, which is complete because an empty -wal holds nothing
 * the file lacks. A non-empty -wal that cannot be read in place is refused: the copy would show
 * learners an older state.
 */
export function openReadOnly(file: string): { db: Db; inMemory: boolean } {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      // The -shm is mapped at the first read, so that is where a refusal shows.
      db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
      return { db, inMemory: false };
    } catch (err) {
      db.close();
      throw err;
    }
  } catch (err) {
    if (!diskFaultOf(err)) throw dbError(file, err);
    const wal = `${file}-wal`;
    if (existsSync(wal) && statSync(wal).size > 0) throw dbError(file, err);
  }
  try {
    const image = readFileSync(file);
    // Bytes 18 and 19 of the header say "WAL"; a copy in memory has no WAL, so mark it a rollback-journal file.
    if (image.length >= 20) image.fill(1, 18, 20);
    return { db: new Database(image, { readonly: true }), inMemory: true };
  } catch (err) {
    throw dbError(file, err);
  }
}
