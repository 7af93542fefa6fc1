import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { AppError, toAppError } from './errors.js';
import { BackupSidecar, UNCHECKED, type BackupCreateResult, type BackupInfo } from './schemas/backup.js';
import { diskFaultCode, diskFaultOf, describeDiskFault, schemaVersionOf } from './sqlite.js';

/**
 * Backups of the learning database (DESIGN.md, Data): SQLite's online backup API, never a file
 * copy of a live database; `PRAGMA integrity_check` on every copy, its result kept beside it in
 * `<file>.json`; a retention count. A copy is written under a `.partial` name and gets its real
 * name only once it is complete and checked, so the backups folder holds no half-written file.
 *
 * Retention (`backups.keep`): the newest `keep` backup files stay, whatever their label (manual,
 * daily, emergency, offline) or check result; older ones are deleted, except the newest backup
 * whose check passed, which is never deleted (so a run of failed backups cannot leave no good
 * one). Retention runs after a backup that passed its check, never after one that failed (that
 * one is evidence) and never during an emergency stop. Files in the folder that are not named
 * like our backups are never touched.
 */

/** `mcp-starter-<label>-20261125T021500123Z.db`: sortable, and says why it was taken. */
export function backupFileName(label: string, at = new Date()): string {
  return `mcp-starter-${label}-${stamp(at)}.db`;
}

/** 20261125T021500123Z: an ISO time without separators (file names). */
export function stamp(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}

const NAME = /^mcp-starter-([a-z0-9][a-z0-9-]*)-(\d{8}T\d{9}Z)(?:-(\d+))?\.db$/;
/** Labels are part of file names. */
const LABEL = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** Copies left by a backup that died half-way are removed once they are this old. */
const STALE_PARTIAL_MS = 60 * 60_000;
/** `backup_step` pages per step after the first: all of them, so the copy is one consistent snapshot and never restarts. */
const ALL_PAGES = 0x7fffffff;

function isoOfStamp(s: string): string {
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`;
}

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

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes renames in `dir` durable (a power cut after a rename must not bring the old name back). */
export function fsyncDir(dir: string): void {
  try {
    fsyncFile(dir);
  } catch {
    // Some file systems refuse fsync on a folder; the rename itself is still atomic.
  }
}

function writeSidecar(file: string, sidecar: BackupSidecar): void {
  const tmp = `${file}.json.tmp`;
  writeFileSync(tmp, `${JSON.stringify(sidecar, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, `${file}.json`);
}

function readSidecar(file: string): BackupSidecar | undefined {
  try {
    return BackupSidecar.safeParse(JSON.parse(readFileSync(`${file}.json`, 'utf8'))).data;
  } catch {
    return undefined; // no record, or not JSON: the backup counts as unchecked
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

/** The backup files in `backupsDir` (named as ours), newest first, with their recorded check ("unchecked" without one). */
export function listBackups(backupsDir: string): BackupInfo[] {
  let names: string[];
  try {
    names = readdirSync(backupsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AppError('E_DATA_DIR', `Cannot read the backups folder ${backupsDir}: ${(err as Error).message}.`, {
      hint: `Check its permissions (\`ls -ld ${backupsDir}\`).`,
      cause: err,
    });
  }
  const found: Array<BackupInfo & { order: string }> = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const file = join(backupsDir, name);
    let bytes: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) continue;
      bytes = st.size;
    } catch {
      continue; // deleted meanwhile
    }
    const sidecar = readSidecar(file);
    const at = isoOfStamp(m[2] ?? '');
    found.push({
      file,
      bytes,
      at,
      // A record for another size describes another file (replaced by hand): not this one's check.
      integrity: sidecar?.bytes === bytes ? sidecar.integrity : UNCHECKED,
      label: m[1] ?? '',
      order: `${m[2] ?? ''}-${(m[3] ?? '0').padStart(3, '0')}`,
    });
  }
  found.sort((a, b) => (a.order < b.order ? 1 : a.order > b.order ? -1 : 0));
  return found.map(({ order: _order, ...info }) => info);
}

/** Deletes backups past `keep` (see the module comment for the rule); returns the files deleted. */
export function pruneBackups(backupsDir: string, keep: number): string[] {
  const all = listBackups(backupsDir);
  const newestGood = all.find((b) => b.integrity === 'ok');
  const deleted: string[] = [];
  for (const b of all.slice(Math.max(0, keep))) {
    if (b === newestGood) continue;
    rmSync(b.file, { force: true });
    rmSync(`${b.file}.json`, { force: true });
    deleted.push(b.file);
  }
  removeStalePartials(backupsDir);
  if (deleted.length > 0) fsyncDir(backupsDir);
  return deleted;
}

function removeStalePartials(backupsDir: string): void {
  const now = Date.now();
  for (const name of readdirSync(backupsDir)) {
    if (!name.endsWith('.partial') && !name.endsWith('.json.tmp')) continue;
    const file = join(backupsDir, name);
    try {
      if (now - statSync(file).mtimeMs > STALE_PARTIAL_MS) rmSync(file, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}

/** The record of a backup as `backups` shows it: from its sidecar when it has one, else from its name and the file. */
export function backupInfoOf(file: string): BackupInfo {
  const bytes = statSync(file).size;
  const m = NAME.exec(basename(file));
  const sidecar = readSidecar(file);
  const at = sidecar?.at ?? (m ? isoOfStamp(m[2] ?? '') : statSync(file).mtime.toISOString());
  const info: BackupInfo = { file, bytes, at, integrity: sidecar?.bytes === bytes ? sidecar.integrity : UNCHECKED };
  const label = sidecar?.label ?? m?.[1];
  return label === undefined ? info : { ...info, label };
}
