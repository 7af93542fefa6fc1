import { existsSync } from 'node:fs';
import { MiB, noDatabase, sizesOf, worthVacuum } from './db-sizes.js';
import type { DbOptimizeReport, DbSizes, OptimizeStep } from './schemas/backup.js';
import { openDatabase, type Db } from './sqlite.js';

/**
 * `db optimize` (manual 3.2) on a connection of its own beside the server's. Synchronous: the
 * daemon runs it in a worker thread.
 */

/**
 * VACUUM holds the write lock for the whole rebuild, REINDEX for the rebuild of one index, and a
 * learner's write waits for it only up to the server's busy timeout (5 s) before it fails. On this
 * machine (bench/backup.ts) a VACUUM takes about 11 ms per MB and the largest index of a 145 MB
 * database about 1 s to rebuild, more under load; up to this size both stay far inside that
 * timeout even on a disk several times slower. A larger database is rebuilt only while no learner
 * is active (the optimize-db job runs on Sunday night); the report says what was postponed.
 */
export const REBUILD_ONLINE_MAX_BYTES = 64 * 1024 * 1024;
/** `PRAGMA analysis_limit`: ANALYZE samples this many rows per index (SQLite's advice), so its lock is short whatever the size. */
const ANALYSIS_LIMIT = 1000;

function timed(name: string, run: () => string, lockMs?: (ms: number) => number): OptimizeStep {
  const t0 = performance.now();
  const detail = run();
  const ms = Math.round((performance.now() - t0) * 10) / 10;
  return { name, ran: true, ms, lockMs: lockMs ? lockMs(ms) : ms, detail };
}

const skipped = (name: string, detail: string): OptimizeStep => ({ name, ran: false, ms: 0, lockMs: 0, detail });

export interface OptimizeOptions {
  /** Learners active now (the server's figure): a large VACUUM waits for a moment with none. */
  learnersActive: number;
  /** REINDEX every index and ANALYZE (the learning database); ops.db gets only VACUUM and the checkpoint. */
  full: boolean;
  /** How long this connection waits for a lock a writer holds. */
  busyTimeoutMs?: number;
  /** The largest database rebuilt (VACUUM, REINDEX) while learners are active; REBUILD_ONLINE_MAX_BYTES unless given. */
  rebuildOnlineMaxBytes?: number;
}

/**
 * `db optimize` on one database (manual 3.2): REINDEX each index in its own transaction, VACUUM
 * when the free pages justify it (and the size allows it while learners are active), ANALYZE
 * (sampled), `PRAGMA optimize`, then a WAL checkpoint that truncates the log. Each step is timed,
 * with the longest time it held the write lock — how long a writer could have waited behind it.
 */
export function optimizeDatabase(file: string, options: OptimizeOptions): DbOptimizeReport {
  if (!existsSync(file)) throw noDatabase(file);
  // Not migrated: the server owns the schema; synchronous FULL like the server, so VACUUM's result is durable.
  const db = openDatabase(file, { synchronous: 'FULL', busyTimeoutMs: options.busyTimeoutMs ?? 10_000 });
  try {
    const before = sizesOf(db, file);
    const online = { learnersActive: options.learnersActive, maxBytes: options.rebuildOnlineMaxBytes ?? REBUILD_ONLINE_MAX_BYTES };
    const steps: OptimizeStep[] = [];
    if (options.full) steps.push(reindex(db, before, online));
    steps.push(vacuum(db, before, online));
    if (options.full) {
      db.pragma(`analysis_limit = ${ANALYSIS_LIMIT}`);
      steps.push(timed('analyze', () => (db.exec('ANALYZE'), `statistics refreshed (sampling ${ANALYSIS_LIMIT} rows per index)`)));
      steps.push(
        timed('pragma optimize', () => {
          const done = db.pragma('optimize') as unknown[];
          return done.length === 0 ? 'nothing more to do' : `${done.length} further analyses`;
        }),
      );
    }
    steps.push(checkpoint(db));
    return { file, before, after: sizesOf(db, file), steps };
  } finally {
    db.close();
  }
}

interface Online {
  learnersActive: number;
  maxBytes: number;
}

/** Why a rebuild of `liveBytes` waits for a moment with no learner active; undefined when it may run now. */
function postponed(online: Online, liveBytes: number, what: string): string | undefined {
  if (online.learnersActive === 0 || liveBytes <= online.maxBytes) return undefined;
  const n = online.learnersActive;
  return (
    `postponed: ${n} learner${n === 1 ? ' is' : 's are'} active and ${what} of ${MiB(liveBytes)} would hold their writes too long; ` +
    'it runs at the next optimize with no learner active'
  );
}

function reindex(db: Db, sizes: DbSizes, online: Online): OptimizeStep {
  const wait = postponed(online, sizes.dbBytes - sizes.freeBytes, 'rebuilding the indexes');
  if (wait !== undefined) return skipped('reindex', wait);
  const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").all() as Array<{ name: string }>).map(
    (r) => r.name,
  );
  const t0 = performance.now();
  let longest = 0;
  // One index per statement: each is its own write transaction, so a writer waits for one index, not all.
  for (const name of indexes) {
    const t = performance.now();
    db.exec(`REINDEX "${name.replace(/"/g, '""')}"`);
    longest = Math.max(longest, performance.now() - t);
  }
  const ms = Math.round((performance.now() - t0) * 10) / 10;
  return {
    name: 'reindex',
    ran: true,
    ms,
    lockMs: Math.round(longest * 10) / 10,
    detail: `${indexes.length} indexes rebuilt, one at a time`,
  };
}

function vacuum(db: Db, sizes: DbSizes, online: Online): OptimizeStep {
  if (!worthVacuum(sizes)) {
    return skipped('vacuum', `not needed: ${MiB(sizes.freeBytes)} free (it runs from 10 % and 1 MiB of free pages)`);
  }
  const wait = postponed(online, sizes.dbBytes - sizes.freeBytes, 'a VACUUM');
  if (wait !== undefined) return skipped('vacuum', `${wait} (${MiB(sizes.freeBytes)} to return)`);
  return timed('vacuum', () => {
    db.exec('VACUUM');
    return `rebuilt: ${MiB(sizes.freeBytes)} of free pages returned`;
  });
}

/** Tries of a checkpoint that found the log busy, and the pause between them. */
const CHECKPOINT_TRIES = 40;
const CHECKPOINT_PAUSE_MS = 25;

/**
 * `wal_checkpoint(TRUNCATE)`. A writer's own automatic checkpoint (after each commit while the log
 * is long, as after a VACUUM) holds the checkpoint lock for a moment, and SQLite then answers busy
 * at once instead of waiting: so it is tried again, briefly, before it is reported as partial.
 */
function checkpoint(db: Db): OptimizeStep {
  if (String(db.pragma('journal_mode', { simple: true })) !== 'wal') return skipped('checkpoint', 'not in WAL mode');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const t0 = performance.now();
  let longest = 0;
  let last: { busy: number; log: number; checkpointed: number } | undefined;
  let tries = 0;
  while (tries < CHECKPOINT_TRIES) {
    tries++;
    const t = performance.now();
    last = (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>)[0];
    longest = Math.max(longest, performance.now() - t);
    if (last?.busy === 0) break;
    Atomics.wait(pause, 0, 0, CHECKPOINT_PAUSE_MS); // a synchronous pause: this runs in a worker thread or a one-shot ctl
  }
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  const again = tries > 1 ? ` (after ${tries} tries: writers were checkpointing)` : '';
  const detail =
    last?.busy === 0
      ? `the log was copied into the database and truncated${again}`
      : `partial: writers kept the log busy through ${tries} tries; it is copied back by their own checkpoints and truncated at a later optimize`;
  return { name: 'checkpoint', ran: true, ms: round(performance.now() - t0), lockMs: round(longest), detail };
}
