import { existsSync } from 'node:fs';
import { listBackups } from '../backup-files.js';
import { checkConfig } from '../config.js';
import { checkDatabase } from '../db-check.js';
import { toAppError } from '../errors.js';
import { onLearningDb } from '../maintenance/learning.js';
import { recomputeProgress } from '../maintenance/progress.js';
import type { DataPaths } from '../paths.js';
import { checkBackupFile } from '../restore.js';
import type { BackupRestoreResult } from '../schemas/backup.js';
import type { DiagnoseResult } from '../schemas/diagnose.js';
import type { RecoverStep } from '../schemas/recover.js';

/** The steps of `recover` that read and repair files: the daemon and ctl (daemon down) share them. */

const CTL = 'mcp-starterctl';

function failedStep(step: RecoverStep['step'], what: string, err: unknown, fix: string): RecoverStep {
  const e = toAppError(err);
  return { step, status: 'failed', summary: `${what}: ${e.message}`, fix: e.hint ?? fix, details: [] };
}

/** The diagnosis recover starts from: how many findings, the most serious few with their fixes. */
export function diagnosisStep(d: DiagnoseResult): RecoverStep {
  const bad = d.findings.filter((f) => f.severity !== 'warning');
  return {
    step: 'diagnose',
    status: 'ok',
    summary:
      d.findings.length === 0
        ? `nothing wrong found (${d.checks.length} checks)`
        : `${d.findings.length} finding${d.findings.length === 1 ? '' : 's'} (${bad.length} serious); recover handles the database, the config and the server`,
    fix: d.findings.length === 0 ? null : `${CTL} diagnose`,
    details: d.findings.slice(0, 5).map((f) => `${f.severity}: ${f.title} \u2192 ${f.fix}`),
  };
}

export interface DatabaseCheck {
  step: RecoverStep;
  /** The database is damaged: a restore is the way back. */
  damaged: boolean;
}

/** Integrity of the learning database (PRAGMA integrity_check, foreign keys, schema version). */
export function databaseStep(paths: DataPaths): DatabaseCheck {
  if (!existsSync(paths.learningDb)) {
    return {
      damaged: false,
      step: {
        step: 'database',
        status: 'skipped',
        summary: `no learning database yet at ${paths.learningDb} (the server creates it at its first start)`,
        fix: null,
        details: [],
      },
    };
  }
  try {
    const check = checkDatabase(paths.learningDb);
    const damaged = check.integrity !== 'ok';
    return {
      damaged,
      step: {
        step: 'database',
        status: check.ok ? 'ok' : 'failed',
        summary: check.ok
          ? `integrity ok, schema version ${check.schema.version}`
          : `the learning database has problems: ${check.problems.map((p) => p.what).join('; ')}`,
        fix: check.ok ? null : (check.problems[0]?.hint ?? `${CTL} db check`),
        details: check.problems.map((p) => `${p.what} \u2192 ${p.hint}`),
      },
    };
  } catch (err) {
    // A file that is not a database at all cannot be opened: that is damage too.
    return { damaged: true, step: failedStep('database', 'the learning database cannot be checked', err, `${CTL} db check`) };
  }
}

/** The newest backup that passes its check now (its record says ok, and integrity_check agrees). */
export function newestGoodBackup(paths: DataPaths): { file: string; at: string } | { none: string } {
  const backups = listBackups(paths.backupsDir);
  const tried: string[] = [];
  for (const b of backups) {
    if (b.integrity !== 'ok') continue;
    try {
      checkBackupFile(b.file, paths.learningDb);
      return { file: b.file, at: b.at };
    } catch (err) {
      tried.push(`${b.file}: ${toAppError(err).message}`);
    }
  }
  return {
    none:
      backups.length === 0
        ? `there are no backups in ${paths.backupsDir}`
        : `none of the ${backups.length} backups in ${paths.backupsDir} passes its check${tried.length > 0 ? ` (${tried.slice(0, 3).join('; ')})` : ''}`,
  };
}

/**
 * The restore step over a damaged database: offered without --yes, done with it (through
 * `restore`, which keeps the replaced file), and never when no backup passes.
 */
export async function restoreStep(
  paths: DataPaths,
  damaged: boolean,
  yes: boolean,
  restore: (file: string) => Promise<BackupRestoreResult>,
): Promise<RecoverStep> {
  if (!damaged) return { step: 'restore', status: 'skipped', summary: 'not needed: the database is intact', fix: null, details: [] };
  let good: ReturnType<typeof newestGoodBackup>;
  try {
    good = newestGoodBackup(paths);
  } catch (err) {
    return failedStep('restore', 'cannot look for a backup', err, `${CTL} backups`);
  }
  if ('none' in good) {
    return {
      step: 'restore',
      status: 'failed',
      summary: `no backup to restore: ${good.none}`,
      fix: `Keep ${paths.learningDb} (copy it aside) and try \`sqlite3 ${paths.learningDb} .recover\`, or move it away to start with an empty database.`,
      details: [],
    };
  }
  if (!yes) {
    return {
      step: 'restore',
      status: 'offered',
      summary: `the newest good backup is ${good.file} (taken ${good.at}); nothing was changed`,
      fix: `${CTL} recover --yes (or ${CTL} restore ${good.file})`,
      details: [],
    };
  }
  try {
    const r = await restore(good.file);
    return {
      step: 'restore',
      status: 'done',
      summary: `restored ${r.restored.file} (taken ${r.restored.at}); the damaged database is kept as ${r.keptAs ?? '(none)'}`,
      fix: r.hint,
      details: [],
    };
  } catch (err) {
    return failedStep('restore', `restoring ${good.file} failed`, err, `${CTL} restore ${good.file}`);
  }
}

/**
 * The config file the daemon would load, checked key by key; never rewritten. A daemon that is
 * up keeps running on its last good config.
 */
export function configStep(configFile: string | undefined, env: NodeJS.ProcessEnv, daemonUp: boolean): RecoverStep {
  try {
    const check = checkConfig({ file: configFile, env });
    const where = configFile ?? 'the config (defaults and MCP_STARTER_* variables)';
    if (check.problems.length === 0) return { step: 'config', status: 'ok', summary: `${where} is valid`, fix: null, details: [] };
    return {
      step: 'config',
      status: 'failed',
      summary: `${where} has ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'}${daemonUp ? '; the daemon keeps running on its last good config' : ''} (the file was not changed)`,
      fix: `Fix the keys below, then \`${CTL} config validate${configFile === undefined ? '' : ` ${configFile}`}\``,
      details: check.problems.map((p) => `${p.path}: ${p.message}${p.hint === undefined ? '' : ` \u2192 ${p.hint}`}`),
    };
  } catch (err) {
    return failedStep('config', 'the config cannot be checked', err, `${CTL} config validate`);
  }
}

/** `--recompute-progress`: statuses and statistics rebuilt from the answer rows. */
export function progressStep(paths: DataPaths, requested: boolean, databaseOk: boolean): RecoverStep {
  if (!requested) {
    return { step: 'progress', status: 'skipped', summary: 'not asked for', fix: null, details: [] };
  }
  if (!databaseOk) {
    return {
      step: 'progress',
      status: 'skipped',
      summary: 'the learning database is not usable: restore it first',
      fix: `${CTL} recover --yes --recompute-progress`,
      details: [],
    };
  }
  try {
    const r = onLearningDb(paths.learningDb, (db) => recomputeProgress(db));
    return {
      step: 'progress',
      status: r.changed.length > 0 ? 'done' : 'ok',
      summary: r.summary,
      fix: null,
      details: r.changed
        .slice(0, 10)
        .map((c) => `${c.learner} / ${c.tutorialId}: ${JSON.stringify(c.before)} \u2192 ${JSON.stringify(c.after)}`),
    };
  } catch (err) {
    return failedStep('progress', 'recomputing progress failed', err, `${CTL} db check`);
  }
}

/**
 * Whether recover got the install back: nothing failed or waits for --yes, a damaged database
 * counting as mended once its restore is done.
 */
export function recovered(steps: readonly RecoverStep[]): boolean {
  const restored = steps.some((s) => s.step === 'restore' && s.status === 'done');
  return steps.every((s) => s.status !== 'offered' && (s.status !== 'failed' || (s.step === 'database' && restored)));
}
