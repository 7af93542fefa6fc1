import { listBackups } from '../shared/backup-files.js';
import { createBackup } from '../shared/backup.js';
import { loadConfig } from '../shared/config.js';
import { checkDatabase } from '../shared/db-check.js';
import type { DataPaths } from '../shared/paths.js';
import { restoreOffline } from '../shared/restore.js';
import type { BackupCreateResult, BackupListResult, BackupRestoreResult, DbCheckResult } from '../shared/schemas/backup.js';

/**
 * `backup`, `backups`, `db check` and `restore` with the daemon down (DESIGN.md: `db check` and
 * `backup` work offline), on the data dir itself. Loaded only when needed (better-sqlite3, zod).
 */

/** A checked backup taken by ctl itself, kept by `backups.keep` from the config the daemon would load. */
export async function backupOffline(paths: DataPaths, configFile: string | undefined, env: NodeJS.ProcessEnv): Promise<BackupCreateResult> {
  const keep = loadConfig({ file: configFile, env }).backups.keep;
  return { ...(await createBackup(paths.learningDb, paths.backupsDir, 'manual', keep)), offline: true };
}

export function listOffline(paths: DataPaths): BackupListResult {
  return listBackups(paths.backupsDir);
}

export function checkOffline(paths: DataPaths): DbCheckResult {
  return { ...checkDatabase(paths.learningDb), offline: true };
}

/** Only when no daemon holds the data dir and no process has the database open (shared/restore.ts). */
export function restoreWithoutDaemon(paths: DataPaths, file: string): Promise<BackupRestoreResult> {
  return restoreOffline(paths, file);
}
