import { existsSync, rmSync } from 'node:fs';
import { listBackups } from '../../shared/backup-files.js';
import { AppError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { DataPaths } from '../../shared/paths.js';
import { databaseFiles, inUseError, openersOf } from '../../shared/db-openers.js';
import { putBackHint, resolveBackupPath, swapIn } from '../../shared/restore.js';
import type {
  BackupCreateResult,
  BackupListResult,
  BackupRestoreResult,
  DbCheckResult,
  DbOptimizeReport,
  DbOptimizeResult,
  HealthSummary,
  OptimizeStep,
} from '../../shared/schemas/backup.js';
import type { Config } from '../../shared/schemas/config.js';
import type { HealthResult } from '../../shared/schemas/rpc.js';
import type { OpsDatabase } from '../ops/database.js';
import { pruneOps } from '../ops/retention.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { ProbeWriter } from './probe-writer.js';
import { runDbTask } from './run-task.js';

export interface DbMaintenanceDeps {
  supervisor: Supervisor;
  paths: DataPaths;
  /** The config in force now (a reload may change `backups.keep` or the retention). */
  config: () => Config;
  ops: OpsDatabase;
  log: Logger;
  /** The full health check, run after a restore. */
  health: () => Promise<HealthResult>;
}

type Exclusive = { name: 'db optimize' | 'restore'; since: string };

/**
 * Backups, the database check, optimisation and restore, for the control API and the scheduled
 * jobs. The SQLite work runs in worker threads (run-task.ts) beside the server's own connection;
 * an optimize and a restore never overlap each other (E_BUSY names the one in progress); backups
 * may run during an optimize (they read a snapshot) but not during a restore's swap.
 */
export class DbMaintenance {
  private exclusive: Exclusive | undefined;

  constructor(private readonly deps: DbMaintenanceDeps) {}

  private claim(name: Exclusive['name']): () => void {
    const held = this.exclusive;
    if (held) throw busy(name, held);
    const entry: Exclusive = { name, since: new Date().toISOString() };
    this.exclusive = entry;
    return () => {
      if (this.exclusive === entry) this.exclusive = undefined;
    };
  }

  /** A checked backup (`manual` from `backup.create`, `daily` from the job), then retention by `backups.keep`. */
  async backup(label: 'manual' | 'daily', signal?: AbortSignal): Promise<BackupCreateResult> {
    if (this.exclusive?.name === 'restore') throw busy('a backup', this.exclusive);
    const { paths, log } = this.deps;
    const keep = this.deps.config().backups.keep;
    try {
      const result = await runDbTask({ kind: 'backup', learningDb: paths.learningDb, backupsDir: paths.backupsDir, label, keep }, signal);
      log.info(
        { event: 'backup', ok: true, label, file: result.file, bytes: result.bytes, ms: result.ms, pruned: result.pruned.length },
        `backup ${result.file} written and checked`,
      );
      return { ...result, offline: false };
    } catch (err) {
      log.error({ event: 'backup', ok: false, label, error: (err as Error).message }, 'backup FAILED');
      throw err;
    }
  }

  list(): BackupListResult {
    return listBackups(this.deps.paths.backupsDir);
  }

  async check(): Promise<DbCheckResult> {
    const result = await runDbTask({ kind: 'check', learningDb: this.deps.paths.learningDb });
    this.deps.log[result.ok ? 'info' : 'warn'](
      { event: 'db_check', ok: result.ok, integrity: result.integrity.slice(0, 200), problems: result.problems.length },
      result.ok ? 'database check: ok' : `database check: ${result.problems.length} problems`,
    );
    return { ...result, offline: false };
  }

  /**
   * `db optimize`: ops.db pruned by retention; the learning database reindexed, vacuumed when
   * worth it, analysed and checkpointed while a probe writer measures how long a learner's write
   * waits; then ops.db vacuumed (when worth it) and checkpointed.
   */
  async optimize(signal?: AbortSignal): Promise<DbOptimizeResult> {
    const release = this.claim('db optimize');
    const { paths, supervisor, log } = this.deps;
    const t0 = performance.now();
    try {
      const learnersActive = supervisor.child?.stats?.activeLearners ?? 0;
      const prune = this.pruneOps();
      const probe = existsSync(paths.learningDb) ? new ProbeWriter(paths.learningDb) : undefined;
      let learning: DbOptimizeReport;
      let probed: Awaited<ReturnType<ProbeWriter['stop']>> | undefined;
      try {
        learning = await runDbTask({ kind: 'optimize', file: paths.learningDb, options: { learnersActive, full: true } }, signal);
      } finally {
        probed = await probe?.stop();
      }
      const ops = { ...(await this.optimizeOps(signal)), pruned: prune.pruned };
      ops.steps.unshift(prune.step);
      const result: DbOptimizeResult = {
        learning,
        ops,
        writers: {
          longestLockMs: Math.max(0, ...learning.steps.map((s) => s.lockMs)),
          probeWrites: probed?.writes ?? 0,
          probeLongestWaitMs: probed?.longestMs ?? null,
        },
        ms: Math.round(performance.now() - t0),
      };
      log.info(
        {
          event: 'db_optimize',
          ok: true,
          ms: result.ms,
          learning: { before: learning.before, after: learning.after },
          steps: learning.steps.map((s) => `${s.name}:${s.ran ? `${s.ms}ms` : 'skipped'}`),
          writers: result.writers,
          pruned: prune.pruned,
        },
        'database optimised',
      );
      return result;
    } catch (err) {
      log.error({ event: 'db_optimize', ok: false, error: (err as Error).message }, 'database optimisation FAILED');
      throw err;
    } finally {
      release();
    }
  }

  private pruneOps(): { step: OptimizeStep; pruned: Record<string, number> } {
    const t0 = performance.now();
    const metrics = this.deps.config().metrics;
    const pruned = pruneOps(this.deps.ops, metrics);
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    const rows = Object.values(pruned).reduce((a, b) => a + b, 0);
    return {
      pruned,
      step: {
        name: 'prune',
        ran: true,
        ms,
        lockMs: ms,
        detail: `${rows} rows past the retention (${metrics.hourlyRetentionDays} days; raw samples ${metrics.retentionDays} days) deleted or folded`,
      },
    };
  }

  private async optimizeOps(signal?: AbortSignal): Promise<DbOptimizeReport> {
    const { ops } = this.deps;
    if (ops.failure?.inMemory) {
      const none = { dbBytes: 0, walBytes: 0, freeBytes: 0 };
      return {
        file: ops.file,
        before: none,
        after: none,
        steps: [{ name: 'vacuum', ran: false, ms: 0, lockMs: 0, detail: 'ops.db could not be opened; its figures are in memory' }],
      };
    }
    return runDbTask({ kind: 'optimize', file: ops.file, options: { learnersActive: 0, full: false } }, signal);
  }

  /**
   * `restore FILE`: the backup is checked and copied next to the database while the server still
   * serves (a refusal changes nothing); then, as one lifecycle operation, the server is stopped,
   * the database renamed aside (kept) and the copy renamed in, and the server started; then the
   * health check. A server that does not come back healthy gets a hint saying how to put the
   * replaced database back.
   */
  async restore(file: string): Promise<BackupRestoreResult> {
    const release = this.claim('restore');
    const { paths, supervisor, log } = this.deps;
    const t0 = performance.now();
    let staged: string | undefined;
    try {
      const source = resolveBackupPath(file, paths.backupsDir);
      const prepared = await runDbTask({ kind: 'stage', file: source, learningDb: paths.learningDb });
      staged = prepared.staged;
      const copy = staged;
      const outcome = await supervisor.restore(() => {
        const openers = openersOf(databaseFiles(paths.learningDb));
        if (openers.length > 0) throw inUseError(paths.learningDb, openers);
        return swapIn(paths.learningDb, copy);
      });
      const keptAs = outcome.swapped;
      if (outcome.preempted) {
        throw new AppError(
          'E_CHILD_STATE',
          `The backup ${source} was restored (the replaced database is kept as ${keptAs ?? 'nothing: there was none'}), but an emergency stop interrupted the server's start.`,
          { hint: 'Start it with `mcp-starterctl start` once the emergency is handled.' },
        );
      }
      const health = outcome.child.state === 'running' ? summary(await this.deps.health()) : null;
      const healthy = health?.status === 'healthy';
      const result: BackupRestoreResult = {
        restored: prepared.checked.info,
        keptAs,
        child: { state: outcome.child.state, pid: outcome.child.pid },
        health,
        hint: healthy
          ? null
          : `The server ${outcome.child.state === 'running' ? 'runs but is unhealthy' : `is ${outcome.child.state}`} on the restored database. ${putBackHint(paths.learningDb, keptAs)}`,
        downMs: outcome.downMs,
        ms: Math.round(performance.now() - t0),
        offline: false,
      };
      log[healthy ? 'info' : 'error'](
        { event: 'restore', ok: healthy, file: source, keptAs, child: result.child, health, downMs: result.downMs },
        healthy ? `restored ${source}` : `restored ${source}, but the server is not healthy`,
      );
      return result;
    } catch (err) {
      log.error({ event: 'restore', ok: false, file, error: (err as Error).message }, 'restore refused or failed');
      throw err;
    } finally {
      if (staged !== undefined) rmSync(staged, { force: true });
      release();
    }
  }
}

function busy(what: string, held: Exclusive): AppError {
  return new AppError('E_BUSY', `Cannot run ${what} now: ${held.name} is in progress (since ${held.since}).`, {
    hint: 'Wait for it to finish, then try again.',
  });
}

function summary(health: HealthResult): HealthSummary {
  return {
    status: health.status,
    failing: Object.entries(health.checks).flatMap(([name, check]) => (check.status === 'pass' ? [] : [name])),
  };
}
