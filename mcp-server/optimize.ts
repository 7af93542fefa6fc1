import type { OptimizedMessage } from '../shared/schemas/ipc.js';
import type { Db } from '../shared/sqlite.js';

/** What the server's optimisation touches (`ctl optimize`, the manual's 3.2 memory/cache/connection rules). */
export interface OptimizeTargets {
  db: Db;
  /** Ends learner sessions idle past the gap; returns how many. */
  endIdleSessions: () => number;
  /** Closes idle keep-alive connections and drops expired offender entries. */
  transport: { optimize(minIdleMs: number): { idleConnectionsClosed: number; offendersForgotten: number } };
}

/** `global.gc` exists when the process runs with --expose-gc (the daemon starts its server so). */
function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}

/**
 * Frees what the server can free without losing anything: expired sessions and cache entries,
 * SQLite's page cache (refilled from the file on demand), idle connections (clients reconnect),
 * then a full garbage collection; reports the heap and RSS before and after.
 */
export function optimizeServer(targets: OptimizeTargets, id: number, minIdleMs: number): OptimizedMessage {
  const t0 = performance.now();
  const before = process.memoryUsage();
  const sessionsEnded = targets.endIdleSessions();
  const { idleConnectionsClosed, offendersForgotten } = targets.transport.optimize(minIdleMs);
  let sqliteCacheReleased = true;
  try {
    targets.db.pragma('shrink_memory');
  } catch {
    sqliteCacheReleased = false; // a closed or failing database: the rest still helps
  }
  const gcRan = collectGarbage();
  const after = process.memoryUsage();
  return {
    type: 'optimized',
    id,
    gcRan,
    heapUsedBeforeBytes: before.heapUsed,
    heapUsedAfterBytes: after.heapUsed,
    rssBeforeBytes: before.rss,
    rssAfterBytes: after.rss,
    sessionsEnded,
    offendersForgotten,
    sqliteCacheReleased,
    idleConnectionsClosed,
    ms: performance.now() - t0,
  };
}
