import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import Database from 'better-sqlite3';
import { backupInfoOf, fsyncDir, stamp } from './backup-files.js';
import { integrityOf } from './backup.js';
import { LEARNING_SCHEMA_VERSION, missingLearningTables } from './db-check.js';
import { AppError } from './errors.js';
import type { DataPaths } from './paths.js';
import type { BackupInfo, BackupRestoreResult } from './schemas/backup.js';
import { databaseFiles, daemonHolds, inUseError, openersOf } from './db-openers.js';
import { describeDiskFault, diskFaultCode, diskFaultOf, schemaVersionOf } from './sqlite.js';

/**
 * Restoring a backup (DESIGN.md, Data): a file that fails its check is refused before anything
 * changes; the database it replaces is kept beside it (`mcp-starter.db.replaced-<time>`, with its
 * -wal and -shm, so it opens as it was). The swap itself is here so that the daemon (inside its
 * lifecycle operation), ctl with the daemon down, and `recover` use one implementation.
 *
 * The order keeps the server's down time short: check the backup and copy it next to the
 * database while the server still serves, then (server stopped) rename the old files aside and
 * the copy in, which is instant.
 */

/** A backup that passed every check, and the schema version inside it. */
export interface CheckedBackup {
  info: BackupInfo;
  schemaVersion: number;
}

/** FILE as given: an absolute path, or a name in the backups folder (as `backups` lists them). */
export function resolveBackupPath(file: string, backupsDir: string): string {
  if (isAbsolute(file)) return normalize(file);
  if (!file.includes('/')) return join(backupsDir, file);
  throw new AppError('E_BAD_PARAMS', `"${file}" is a relative path; the daemon cannot tell what it is relative to.`, {
    hint: `Give an absolute path, or a file name from \`mcp-starterctl backups\` (they are in ${backupsDir}).`,
  });
}

function refused(
  file: string,
  why: string,
  hint = 'Choose another backup: `mcp-starterctl backups` lists them with their check.',
): AppError {
  return new AppError('E_DB', `Refused to restore ${file}: ${why}. Nothing was changed.`, { hint });
}

const SQLITE_HEADER = 'SQLite format 3\0';

function headerOf(file: string): string {
  const header = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return header.toString('latin1');
}

/**
 * Checks a file before it may replace the learning database: it exists, is an SQLite database
 * (not the live one), passes `PRAGMA integrity_check`, has the learning tables, and a schema
 * version this release can open (older ones are migrated at the server's start). Changes nothing.
 */
export function checkBackupFile(file: string, learningDb: string): CheckedBackup {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw refused(file, 'it is not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('E_BAD_PARAMS', `There is no backup at ${file}.`, {
      hint: '`mcp-starterctl backups` lists the backups with their full paths.',
      cause: err,
    });
  }
  if (existsSync(learningDb) && realpathSync(file) === realpathSync(learningDb)) {
    throw refused(file, 'it is the live learning database itself', 'Name a backup file (`mcp-starterctl backups`).');
  }
  if (size < 512 || headerOf(file) !== SQLITE_HEADER) throw refused(file, 'it is not an SQLite database');
  const integrity = integrityOf(file);
  if (integrity !== 'ok') throw refused(file, `it fails its integrity check (${integrity.slice(0, 300)})`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  let schemaVersion: number;
  try {
    const missing = missingLearningTables(db);
    if (missing.length > 0) throw refused(file, `it is not an mcp-starter learning database (no ${missing.join(', ')})`);
    schemaVersion = schemaVersionOf(db);
  } finally {
    db.close();
  }
  if (schemaVersion > LEARNING_SCHEMA_VERSION) {
    throw refused(
      file,
      `its schema version ${schemaVersion} is newer than this release knows (${LEARNING_SCHEMA_VERSION})`,
      'Restore it with the newer mcp-starter release that wrote it, or choose an older backup.',
    );
  }
  if (schemaVersion < 1) throw refused(file, 'it has no schema version (not written by mcp-starter)');
  // The check just passed, whatever the sidecar recorded (or if there is none).
  return { info: { ...backupInfoOf(file), integrity: 'ok' }, schemaVersion };
}

function stageError(file: string, dataDir: string, err: unknown): AppError {
  const fault = diskFaultOf(err);
  if (fault) {
    const d = describeDiskFault(fault, dataDir);
    return new AppError(diskFaultCode(fault), `Cannot copy ${file} into the data dir: ${d.what}. Nothing was changed.`, {
      hint: d.fix,
      cause: err,
    });
  }
  return new AppError('E_DB', `Cannot copy ${file} into the data dir: ${(err as Error).message}. Nothing was changed.`, {
    hint: `Check free space and permissions of ${dataDir}.`,
    cause: err,
  });
}

/** A staged copy older than this was left by a restore that died half-way (a live one takes minutes at most). */
const STALE_STAGED_MS = 60 * 60_000;

function removeStaleCopies(learningDb: string): void {
  const dir = dirname(learningDb);
  const prefix = `${basename(learningDb)}.restoring-`;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    try {
      if (Date.now() - statSync(join(dir, name)).mtimeMs > STALE_STAGED_MS) rmSync(join(dir, name), { force: true });
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Copies the checked backup next to the learning database (`<db>.restoring-<time>`) with the
 * backup API, which also reads a -wal beside the backup (a kept `.replaced-` file has one), makes
 * it one self-contained durable file, and returns its path. The live database is not touched.
 */
export async function stageBackup(file: string, learningDb: string): Promise<string> {
  removeStaleCopies(learningDb);
  const staged = `${learningDb}.restoring-${stamp(new Date())}`;
  try {
    writeFileSync(staged, '', { mode: 0o600, flag: 'wx' });
    const source = new Database(file, { readonly: true, fileMustExist: true });
    try {
      await source.backup(staged, { progress: () => 0x7fffffff });
    } finally {
      source.close();
    }
    // One self-contained file (the source may be in WAL mode); the server turns WAL on again when it opens it.
    const copy = new Database(staged);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    const fd = openSync(staged, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return staged;
  } catch (err) {
    rmSync(staged, { force: true });
    rmSync(`${staged}-journal`, { force: true });
    throw stageError(file, dirname(learningDb), err);
  }
}

/**
 * The swap, with the server stopped: the learning database and its -wal/-shm are renamed to
 * `<db>.replaced-<time>` (kept), then the staged copy to the database's name. A failure part-way
 * puts the old files back. Returns where the old database went (null when there was none).
 */
export function swapIn(learningDb: string, staged: string, at = new Date()): string | null {
  const keptAs = `${learningDb}.replaced-${stamp(at)}`;
  const moved: Array<[string, string]> = [];
  try {
    for (const suffix of ['', '-wal', '-shm']) {
      if (!existsSync(`${learningDb}${suffix}`)) continue;
      renameSync(`${learningDb}${suffix}`, `${keptAs}${suffix}`);
      moved.push([`${learningDb}${suffix}`, `${keptAs}${suffix}`]);
    }
    renameSync(staged, learningDb);
  } catch (err) {
    for (const [from, to] of moved.reverse()) {
      try {
        renameSync(to, from);
      } catch {
        // Left where it is; the error below names both places.
      }
    }
    throw new AppError('E_DB', `Could not swap the backup in: ${(err as Error).message}. The database was put back as it was.`, {
      hint: `Check ${dirname(learningDb)} (\`ls -la\`): ${learningDb} should be the database you had; the copy of the backup is ${staged}.`,
      cause: err,
    });
  }
  fsyncDir(dirname(learningDb));
  return moved.length > 0 ? keptAs : null;
}

/** What to tell the operator when the server does not come back on the restored database. */
export function putBackHint(learningDb: string, keptAs: string | null): string {
  if (keptAs === null)
    return 'There was no database before the restore; see the log (`mcp-starterctl logs -n 50`) for why the server does not start.';
  const wal = existsSync(`${keptAs}-wal`) ? ` and \`mv ${keptAs}-wal ${learningDb}-wal\`` : '';
  return (
    `To put the replaced database back: \`mcp-starterctl restore ${keptAs}\` (it is checked like any backup), ` +
    `or, with the daemon stopped, \`mv ${keptAs} ${learningDb}\`${wal}.`
  );
}

/**
 * `restore FILE` with the daemon down (and `recover`): only when no daemon holds the data dir and
 * no process has the database open; the server is not started (the daemon starts it).
 */
export async function restoreOffline(paths: DataPaths, file: string): Promise<BackupRestoreResult> {
  const t0 = performance.now();
  const daemonPid = daemonHolds(paths.lockFile);
  if (daemonPid !== undefined) {
    throw new AppError(
      'E_BUSY',
      `mcp-starterd (pid ${daemonPid}) holds ${paths.dataDir} but does not answer; a restore must go through it.`,
      {
        hint: 'Wait for it to answer (`mcp-starterctl status`), or stop it (`systemctl stop mcp-starter`) and restore again.',
      },
    );
  }
  const source = resolveBackupPath(file, paths.backupsDir);
  const checked = checkBackupFile(source, paths.learningDb);
  const staged = await stageBackup(source, paths.learningDb);
  try {
    const openers = openersOf(databaseFiles(paths.learningDb));
    if (openers.length > 0) throw inUseError(paths.learningDb, openers);
    const keptAs = swapIn(paths.learningDb, staged);
    return {
      restored: checked.info,
      keptAs,
      child: null,
      health: null,
      hint: `Start the daemon (\`systemctl start mcp-starter\`) to serve the restored database. ${putBackHint(paths.learningDb, keptAs)}`,
      downMs: 0,
      ms: Math.round(performance.now() - t0),
      offline: true,
    };
  } finally {
    rmSync(staged, { force: true });
  }
}
