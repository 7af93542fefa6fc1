import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AppError, toAppError } from './errors.js';
import type { BackupInfo } from './schemas/rpc.js';

/** `mcp-starter-<label>-20261125T021500123Z.db`: sortable, and says why it was taken. */
export function backupFileName(label: string, at = new Date()): string {
  return `mcp-starter-${label}-${at.toISOString().replace(/[-:.]/g, '')}.db`;
}

/** Runs `PRAGMA integrity_check` on a database file; "ok" or the first problems found. */
export function integrityOf(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/**
 * Copies a live SQLite database with SQLite's online backup API (never a file copy, which can
 * catch a half-written page), then checks the copy with `PRAGMA integrity_check`.
 */
export async function backupDatabase(sourceFile: string, backupsDir: string, label: string): Promise<BackupInfo> {
  const at = new Date();
  const file = join(backupsDir, backupFileName(label, at));
  let source: Database.Database;
  try {
    source = new Database(sourceFile, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new AppError('E_DB', `Cannot open ${sourceFile} to back it up: ${(err as Error).message}.`, {
      hint: 'Check that the data dir is the right one (--data-dir) and readable.',
      cause: err,
    });
  }
  try {
    source.pragma('busy_timeout = 5000');
    await source.backup(file);
  } catch (err) {
    throw new AppError('E_DB', `Backup of ${sourceFile} failed: ${(err as Error).message}.`, {
      hint: 'Check free disk space in the backups folder; the database itself is unchanged.',
      cause: err,
    });
  } finally {
    source.close();
  }
  // The copy inherits WAL mode; switch it to a rollback journal so a backup is one self-contained file.
  const copy = new Database(file);
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  const integrity = integrityOf(file);
  return { file, bytes: statSync(file).size, at: at.toISOString(), integrity };
}

/**
 * A backup that must be honest about itself (the emergency stop, daemon or offline): never
 * throws, and a copy that fails its integrity check is a failure that says where the database
 * and the failed copy are.
 */
export async function checkedBackup(
  learningDb: string,
  backupsDir: string,
  label: string,
): Promise<{ backup: BackupInfo | null; backupError: string | null }> {
  try {
    const backup = await backupDatabase(learningDb, backupsDir, label);
    if (backup.integrity === 'ok') return { backup, backupError: null };
    return {
      backup,
      backupError:
        `The backup ${backup.file} failed its integrity check (${backup.integrity.slice(0, 300)}), so it cannot be trusted. ` +
        `The database ${learningDb} is left as it was: keep it, run \`mcp-starterctl db check\`, and restore an earlier backup from ${backupsDir} if it is damaged.`,
    };
  } catch (err) {
    const e = toAppError(err);
    return { backup: null, backupError: e.hint === undefined ? e.message : `${e.message} ${e.hint}` };
  }
}
