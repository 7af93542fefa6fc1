import { checkedBackup, createBackup } from '../../shared/backup.js';
import { checkDatabase } from '../../shared/db-check.js';
import { optimizeDatabase, type OptimizeOptions } from '../../shared/db-optimize.js';
import { checkBackupFile, stageBackup, type CheckedBackup } from '../../shared/restore.js';
import type { BackupCreateResult, DbCheckResult, DbOptimizeReport } from '../../shared/schemas/backup.js';

/** The database work the daemon hands to a worker thread: each call blocks for as long as SQLite works. */
export type DbTask =
  | { kind: 'backup'; learningDb: string; backupsDir: string; label: string; keep: number }
  | { kind: 'checked-backup'; learningDb: string; backupsDir: string; label: string }
  | { kind: 'check'; learningDb: string }
  | { kind: 'optimize'; file: string; options: OptimizeOptions }
  | { kind: 'stage'; file: string; learningDb: string };

export interface DbTaskResults {
  backup: Omit<BackupCreateResult, 'offline'>;
  'checked-backup': Awaited<ReturnType<typeof checkedBackup>>;
  check: Omit<DbCheckResult, 'offline'>;
  optimize: DbOptimizeReport;
  stage: { checked: CheckedBackup; staged: string };
}

export type DbTaskKind = DbTask['kind'];

/** Runs a task where it is (the worker thread calls this). */
export async function perform(task: DbTask): Promise<DbTaskResults[DbTaskKind]> {
  switch (task.kind) {
    case 'backup':
      return createBackup(task.learningDb, task.backupsDir, task.label, task.keep);
    case 'checked-backup':
      return checkedBackup(task.learningDb, task.backupsDir, task.label);
    case 'check':
      return checkDatabase(task.learningDb);
    case 'optimize':
      return optimizeDatabase(task.file, task.options);
    case 'stage': {
      const checked = checkBackupFile(task.file, task.learningDb);
      return { checked, staged: await stageBackup(task.file, task.learningDb) };
    }
  }
}
