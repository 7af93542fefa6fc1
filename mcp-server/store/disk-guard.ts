import { AppError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { HealthDegraded } from '../../shared/schemas/http.js';
import {
  describeDiskFault,
  diskFaultCode,
  diskFaultOf,
  errnoOf,
  freeBytes,
  probeWrite,
  refineDiskFault,
  type Db,
  type DiskFault,
} from '../../shared/sqlite.js';

/** How often a degraded server tries a write of its own, so that it recovers with no learner writing. */
const RETRY_MS = 2_000;

const LEARNER_WHAT: Record<DiskFault['kind'], string> = {
  full: "The server's disk is full",
  read_only: "The server's storage is read-only right now",
  io: "The server's disk is failing to write",
};

/**
 * The learner's answer when the disk refuses: what happened, that nothing from this request was
 * saved, and that what was saved before is safe. It never says anything was saved.
 */
export function diskFaultError(fault: DiskFault, what: 'change' | 'request' = 'change'): AppError {
  const outcome = what === 'change' ? 'so this change was not saved' : 'so this request could not be answered';
  return new AppError(diskFaultCode(fault), `${LEARNER_WHAT[fault.kind]}, ${outcome}. Your progress up to now is safe.`, {
    hint: "Try again later: everything you saved before is kept, and the server's operator has been told.",
  });
}

const HEALTH_WHAT: Record<DiskFault['kind'], string> = {
  full: 'the disk under the data dir is full',
  read_only: 'the data dir cannot be written',
  io: 'the disk under the data dir fails writes',
};

interface Episode {
  fault: DiskFault;
  since: string;
  startedMs: number;
  failedWrites: number;
  /** The database was opened read-only at start: no write can succeed before a restart. */
  readOnly: boolean;
}

export interface DiskGuardOptions {
  db: Db;
  dataDir: string;
  /** The database file, named in the operator's log line. */
  file: string;
  log: Logger;
  /** Set when the database had to be opened read-only at start. */
  readOnly?: { fault: DiskFault; inMemory: boolean } | undefined;
}

/**
 * Runs the learning store's writes and keeps the disk's state: an episode begins with the first
 * write the disk refuses (one `disk_error` line for the operator with the path, the code and the
 * fix, not one per request) and ends with the first write that succeeds again (`disk_recovered`),
 * a learner's or the guard's own retry. While it lasts, `/health` reports it.
 */
export class DiskGuard {
  private episode: Episode | undefined;
  private retry: NodeJS.Timeout | undefined;
  private readonly db: Db;
  private readonly log: Logger;
  private readonly totalChanges;
  /** `total_changes()` when last looked at: a write that changed no row proves nothing about the disk. */
  private seenChanges = 0;

  constructor(private readonly options: DiskGuardOptions) {
    this.db = options.db;
    this.log = options.log;
    this.totalChanges = this.db.prepare('SELECT total_changes()').pluck();
    if (options.readOnly) this.begin(options.readOnly.fault, { readOnly: true, inMemory: options.readOnly.inMemory });
  }

  /** What `/health` says while writes fail; undefined when they work. */
  get degraded(): HealthDegraded | undefined {
    const e = this.episode;
    if (!e) return undefined;
    const reason = e.readOnly
      ? `${HEALTH_WHAT[e.fault.kind]} at start (${e.fault.code}), so the learning database is open read-only: reads work, learners' changes are refused until a restart`
      : `${HEALTH_WHAT[e.fault.kind]} (${e.fault.code}): reads work, learners' changes are refused until a write succeeds again`;
    return { reason, kind: e.fault.kind, code: e.fault.code, since: e.since, failedWrites: e.failedWrites, restartNeeded: e.readOnly };
  }

  /**
   * A write whose success the learner is told about. A refusal by the disk becomes the learner's
   * error; the write is one statement (or one transaction), which SQLite rolls back whole, and a
   * transaction left open by a failed COMMIT is rolled back here, so nothing is half-saved.
   */
  write<T>(fn: () => T): T {
    const outermost = !this.db.inTransaction;
    try {
      const out = fn();
      if (outermost) this.savedSome();
      return out;
    } catch (err) {
      const fault = this.refused(err, outermost, true);
      if (!fault) throw err;
      throw diskFaultError(fault);
    }
  }

  /** A write that may be lost (activity, counters): a refusal is recorded and `fallback` returned. */
  soft<T>(fn: () => T, fallback: T): T {
    const outermost = !this.db.inTransaction;
    try {
      const out = fn();
      if (outermost) this.savedSome();
      return out;
    } catch (err) {
      if (!this.refused(err, outermost, false)) throw err;
      return fallback;
    }
  }

  close(): void {
    clearInterval(this.retry);
    this.retry = undefined;
  }

  /**
   * Records a refusal and returns the episode's fault (the one the learner is told about), or
   * undefined when `err` is not a disk fault. `counted`: a learner's change, not bookkeeping.
   */
  private refused(err: unknown, outermost: boolean, counted: boolean): DiskFault | undefined {
    const found = diskFaultOf(err);
    if (!found) return undefined;
    if (outermost && this.db.inTransaction) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // SQLite ended the transaction itself in the meantime; either way none of it was kept.
      }
    }
    const episode = this.episode ?? this.begin(refineDiskFault(found, this.options.dataDir), { readOnly: false });
    if (counted) episode.failedWrites++;
    // A statement whose commit failed may still have counted its rows as changed.
    this.seenChanges = Number(this.totalChanges.get());
    return episode.fault;
  }

  private begin(fault: DiskFault, how: { readOnly: boolean; inMemory?: boolean }): Episode {
    const { dataDir, file } = this.options;
    const episode: Episode = {
      fault,
      since: new Date().toISOString(),
      startedMs: performance.now(),
      failedWrites: 0,
      readOnly: how.readOnly,
    };
    this.episode = episode;
    const { what, fix } = describeDiskFault(fault, dataDir);
    const fields = {
      event: 'disk_error',
      file,
      dataDir,
      kind: fault.kind,
      code: fault.code,
      errno: errnoOf(fault, dataDir),
      freeBytes: freeBytes(dataDir),
    };
    if (how.readOnly) {
      this.log.error(
        {
          ...fields,
          readOnly: true,
          inMemory: how.inMemory ?? false,
          fix: `${fix} Then restart the server (under the daemon: \`mcp-starterctl restart\`): it opened the database read-only.`,
        },
        `started read-only: ${what}; learners can read, their changes are refused`,
      );
      return episode;
    }
    this.log.error(
      { ...fields, readOnly: false, fix: `${fix} Writes resume by themselves once the disk takes them.` },
      `learners' changes cannot be saved: ${what}`,
    );
    this.retry = setInterval(() => this.tryWrite(), RETRY_MS);
    this.retry.unref();
    return episode;
  }

  /** Ends the episode if the write that just succeeded changed rows, so the disk took it. */
  private savedSome(): void {
    if (!this.episode || this.episode.readOnly) return;
    const total = Number(this.totalChanges.get());
    const wrote = total > this.seenChanges;
    this.seenChanges = total;
    if (wrote) this.recovered();
  }

  private recovered(): void {
    const e = this.episode;
    if (!e || e.readOnly) return;
    this.close();
    this.episode = undefined;
    this.log.info(
      {
        event: 'disk_recovered',
        file: this.options.file,
        kind: e.fault.kind,
        code: e.fault.code,
        failedWrites: e.failedWrites,
        durationMs: Math.round(performance.now() - e.startedMs),
      },
      'the disk takes writes again; learners can save',
    );
  }

  private tryWrite(): void {
    try {
      probeWrite(this.db);
      this.recovered();
    } catch (err) {
      // Still refused: the episode goes on, already reported. Anything else is worth a line.
      if (!diskFaultOf(err)) this.log.warn({ err }, 'the disk write probe failed');
    }
  }
}
