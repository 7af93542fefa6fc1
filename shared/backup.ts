import { linkSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { backupFileName, fsyncDir, fsyncFile, pruneBackups, writeSidecar } from './backup-files.js';
import { AppError, toAppError } from './errors.js';
import type { BackupCreateResult, BackupInfo } from './schemas/backup.js';
import { diskFaultCode, diskFaultOf, describeDiskFault, schemaVersionOf } from './sqlite.js';

/**
 * Backups of the learning database (DESIGN.md, Data): SQLite's online backup API, never a file
 * copy of a live database; `PRAGMA integrity_check` on every copy, its result kept beside it
 * (backup-files.ts, which also has the retention rule). A copy is written under a `.partial`
 * name and gets its real name only once it is complete and checked, so the backups folder holds
 * no half-written file.
 */

/** Labels are part of file names. */
const LABEL = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** `backup_step` pages per step after the first: all of them, so the copy is one consistent snapshot and never restarts. */
const ALL_PAGES = 0x7fffffff;

/** Runs `PRAGMA integrity_check` on a database file: "ok", or the first problems found (also when it cannot be read at all). */
export function integrityOf(file: string): string {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check(10)') as Array<{ integrity_check: string }>;
    return rows
      .map((r) => r.integrity_check)
      .join('; ')
      .slice(0, 2000);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return `cannot be read as a database: ${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`;
  } finally {
    db?.close();
  }
}

function backupError(what: string, sourceFile: string, backupsDir: string, err: unknown): AppError {
  const fault = diskFaultOf(err);
  if (fault) {
    const d = describeDiskFault(fault, backupsDir);
    return new AppError(diskFaultCode(fault), `${what}: ${d.what}.`, {
      hint: `${d.fix} The database ${sourceFile} is unchanged.`,
      cause: err,
    });
  }
  return new AppError('E_DB', `${what}: ${(err as Error).message}.`, {
    hint: `Check free space and permissions of ${backupsDir}; the database ${sourceFile} is unchanged.`,
    cause: err,
  });
}

/** A final name in `dir` that no other backup has (two backups in the same millisecond get -1, -2). */
function claimName(partial: string, dir: string, label: string, at: Date): string {
  const base = backupFileName(label, at);
  for (let n = 0; n < 100; n++) {
    const file = join(dir, n === 0 ? base : base.replace(/\.db$/, `-${n}.db`));
    try {
      linkSync(partial, file); // fails with EEXIST instead of replacing another backup
      rmSync(partial);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new AppError('E_INTERNAL', `Could not find a free backup name for ${base} in ${dir}.`, { hint: 'Retry in a moment.' });
}

/**
 * Copies a live SQLite database with SQLite's online backup API, in one step after the first so
 * that the copy is one consistent snapshot (a stepped copy restarts whenever a learner writes),
 * switches the copy to a rollback journal so it is one self-contained file, checks it with
 * `PRAGMA integrity_check`, makes it durable, and records the check in `<file>.json`. Writers are
 * not blocked (WAL): the copy holds what was committed when it started. Synchronous while it
 * copies: the daemon runs it in a worker thread.
 */
export async function backupDatabase(sourceFile: string, backupsDir: string, label: string): Promise<BackupInfo> {
  if (!LABEL.test(label)) throw new AppError('E_INTERNAL', `"${label}" is not a backup label.`, { hint: 'This is a bug.' });
  const at = new Date();
  const partial = join(backupsDir, `${backupFileName(label, at)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.partial`);
  let source: Database.Database;
  try {
    source = new Database(sourceFile, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new AppError('E_DB', `Cannot open ${sourceFile} to back it up: ${(err as Error).message}.`, {
      hint:
        (err as { code?: string }).code === 'SQLITE_CANTOPEN'
          ? 'There is no learning database yet (the server creates it at its first start), or the data dir is wrong (--data-dir).'
          : 'Check that the data dir is the right one (--data-dir) and readable; `mcp-starterctl db check` looks at the database.',
      cause: err,
    });
  }
  try {
    try {
      mkdirSync(backupsDir, { recursive: true, mode: 0o700 });
      // Created empty first, so the copy is private (0600) whatever the umask.
      writeFileSync(partial, '', { mode: 0o600, flag: 'wx' });
      source.pragma('busy_timeout = 5000');
      await source.backup(partial, { progress: () => ALL_PAGES });
    } catch (err) {
      throw backupError(`Backup of ${sourceFile} failed`, sourceFile, backupsDir, err);
    } finally {
      source.close();
    }
    let schemaVersion: number;
    try {
      const copy = new Database(partial);
      try {
        copy.pragma('journal_mode = DELETE');
        schemaVersion = schemaVersionOf(copy);
      } finally {
        copy.close();
      }
    } catch (err) {
      throw backupError(`The backup copy of ${sourceFile} cannot be opened`, sourceFile, backupsDir, err);
    }
    const integrity = integrityOf(partial);
    const checkedAt = new Date().toISOString();
    try {
      fsyncFile(partial);
      const file = claimName(partial, backupsDir, label, at);
      const bytes = statSync(file).size;
      writeSidecar(file, { format: 1, bytes, at: at.toISOString(), label, integrity, checkedAt, schemaVersion });
      fsyncDir(backupsDir);
      return { file, bytes, at: at.toISOString(), integrity, label };
    } catch (err) {
      throw err instanceof AppError ? err : backupError(`The backup of ${sourceFile} could not be saved`, sourceFile, backupsDir, err);
    }
  } finally {
    rmSync(partial, { force: true });
  }
}

/**
 * `backup` (daemon or offline): a backup whose check passed, then retention; one that fails its
 * check is an error (DESIGN.md: never a success), and its file is kept for inspection.
 */
export async function createBackup(
  learningDb: string,
  backupsDir: string,
  label: string,
  keep: number,
): Promise<Omit<BackupCreateResult, 'offline'>> {
  const t0 = performance.now();
  const backup = await backupDatabase(learningDb, backupsDir, label);
  if (backup.integrity !== 'ok') throw failedCheckError(backup, learningDb, backupsDir);
  const pruned = pruneBackups(backupsDir, keep);
  return { ...backup, ms: Math.round(performance.now() - t0), pruned, keep };
}

function failedCheckError(backup: BackupInfo, learningDb: string, backupsDir: string): AppError {
  return new AppError(
    'E_DB',
    `The backup ${backup.file} failed its integrity check (${backup.integrity.slice(0, 300)}), so it cannot be trusted; no older backup was deleted.`,
    {
      hint: `The database ${learningDb} itself is probably damaged: run \`mcp-starterctl db check\`, and restore the newest good backup from ${backupsDir} (\`mcp-starterctl backups\` shows each one's check).`,
    },
  );
}

/**
 * A backup that must be honest about itself (the emergency stop, daemon or offline): never
 * throws, and a copy that fails its integrity check is a failure that says where the database
 * and the failed copy are. No retention here: an emergency deletes nothing.
 */
export async function checkedBackup(
  learningDb: string,
  backupsDir: string,
  label: string,
): Promise<{ backup: BackupInfo | null; backupError: string | null }> {
  try {
    const backup = await backupDatabase(learningDb, backupsDir, label);
    if (backup.integrity === 'ok') return { backup, backupError: null };
    const e = failedCheckError(backup, learningDb, backupsDir);
    return { backup, backupError: `${e.message} ${e.hint ?? ''}`.trim() };
  } catch (err) {
    const e = toAppError(err);
    return { backup: null, backupError: e.hint === undefined ? e.message : `${e.message} ${e.hint}` };
  }
}
