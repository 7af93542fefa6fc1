import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AppError } from './errors.js';
import { BackupSidecar, UNCHECKED, type BackupInfo } from './schemas/backup.js';

/**
 * The backups folder: backup file names, the check recorded beside each backup (`<file>.json`),
 * the list `backups` shows, and retention.
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
/** Copies left by a backup that died half-way are removed once they are this old. */
const STALE_PARTIAL_MS = 60 * 60_000;
function isoOfStamp(s: string): string {
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`;
}

export function fsyncFile(file: string): void {
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

export function writeSidecar(file: string, sidecar: BackupSidecar): void {
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
