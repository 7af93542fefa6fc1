import type { Logger } from '../../shared/logger.js';
import { openOpsDb } from '../../shared/ops-db.js';
import { diskFaultOf, type Db } from '../../shared/sqlite.js';

/** Why ops.db is not being written, while it is not. */
export interface OpsWriteFailure {
  code: string;
  since: string;
  /** Writes lost since then (probe results, samples, availability heartbeats, alerts). */
  failed: number;
  /** ops.db could not be opened at all: figures live in memory until the daemon restarts. */
  inMemory: boolean;
}

/**
 * The daemon's handle on ops.db. Operations data may be lost, the service may not: a write that
 * fails (a full or read-only disk) is counted and said once, never thrown at a timer or a
 * transition; a file that cannot be opened at start gives way to an in-memory database, so
 * health, metrics and alerts still work for this run. The next write that lands ends the episode.
 */
export class OpsDatabase {
  readonly db: Db;
  failure: OpsWriteFailure | undefined;

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {
    let db: Db;
    try {
      db = openOpsDb(file);
    } catch (err) {
      db = openOpsDb(':memory:');
      this.failure = { code: codeOf(err), since: new Date().toISOString(), failed: 0, inMemory: true };
      log.error(
        { event: 'ops_db', ok: false, file, error: (err as Error).message },
        `cannot open ${file}; health and metrics history is kept in memory until the daemon restarts`,
      );
    }
    this.db = db;
  }

  /** Runs a write; a failure is counted and logged once, and the write is lost (undefined). */
  write<T>(what: string, fn: (db: Db) => T): T | undefined {
    try {
      const result = fn(this.db);
      if (this.failure && !this.failure.inMemory) {
        this.log.warn(
          { event: 'ops_db', ok: true, failed: this.failure.failed },
          `ops.db writes work again; ${this.failure.failed} were lost`,
        );
        this.failure = undefined;
      }
      return result;
    } catch (err) {
      if (this.failure) {
        this.failure.failed++;
        return undefined;
      }
      this.failure = { code: codeOf(err), since: new Date().toISOString(), failed: 1, inMemory: false };
      this.log.error(
        { event: 'ops_db', ok: false, what, error: (err as Error).message, code: this.failure.code },
        `cannot write ${this.file} (${what}); health and metrics history is not saved until it works again`,
      );
      return undefined;
    }
  }

  close(): void {
    try {
      this.db.close();
    } catch {
      // closing a connection whose file vanished: nothing left to release
    }
  }
}

function codeOf(err: unknown): string {
  return diskFaultOf(err)?.code ?? (err as { code?: string }).code ?? 'unknown';
}
