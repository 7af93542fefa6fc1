import { toAppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { DbOptimizeResult } from '../shared/schemas/backup.js';
import { ServerOptimized, type OptimizePart, type OptimizeResult } from '../shared/schemas/optimize.js';
import type { ChildHandle } from './supervisor/child.js';

/** A keep-alive connection idle this long is closed; one idle a moment ago may be carrying its client's next request. */
export const OPTIMIZE_MIN_IDLE_MS = 1_000;
/** The server answers at once unless it is swamped. */
const SERVER_ANSWER_MS = 10_000;

export interface OptimizeDeps {
  /** The `db optimize` step (learning DB and ops.db). */
  optimizeDb: () => Promise<DbOptimizeResult>;
  /** The server serving now, if any. */
  child: () => ChildHandle | undefined;
  log: Logger;
}

const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function failed(part: OptimizePart['part'], err: unknown): OptimizePart {
  const e = toAppError(err);
  return { part, ok: false, summary: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }) };
}

function databasePart(db: DbOptimizeResult): OptimizePart {
  const ran = db.learning.steps.filter((s) => s.ran).map((s) => s.name);
  const total = (x: DbOptimizeResult['learning']['before']): number => x.dbBytes + x.walBytes;
  const saved = total(db.learning.before) - total(db.learning.after);
  return {
    part: 'database',
    ok: true,
    summary:
      `${ran.join(', ') || 'nothing needed'}; learning DB and WAL ${mb(total(db.learning.before))} → ${mb(total(db.learning.after))}` +
      `${saved > 0 ? ` (${mb(saved)} freed)` : ''}; writers waited at most ${Math.round(db.writers.longestLockMs)} ms`,
  };
}

function serverParts(s: ServerOptimized): OptimizePart[] {
  return [
    {
      part: 'memory',
      ok: true,
      summary: s.gcRan
        ? `garbage collected: heap ${mb(s.heapUsedBeforeBytes)} → ${mb(s.heapUsedAfterBytes)}, RSS ${mb(s.rssBeforeBytes)} → ${mb(s.rssAfterBytes)}`
        : `heap ${mb(s.heapUsedAfterBytes)}, RSS ${mb(s.rssAfterBytes)} (the server runs without --expose-gc: no collection forced)`,
    },
    {
      part: 'cache',
      ok: true,
      summary: `${plural(s.sessionsEnded, 'idle learner session')} ended, ${plural(s.offendersForgotten, 'expired offender entry', 'expired offender entries')} dropped${s.sqliteCacheReleased ? ', SQLite page cache released' : ''}`,
    },
    {
      part: 'connections',
      ok: true,
      summary: `${plural(s.idleConnectionsClosed, 'idle keep-alive connection')} closed (idle over ${OPTIMIZE_MIN_IDLE_MS / 1000} s)`,
    },
  ];
}

async function optimizeServer(child: ChildHandle | undefined): Promise<ServerOptimized> {
  if (!child?.isAlive) throw new Error('no server is running: start it with `mcp-starterctl start`');
  return ServerOptimized.parse(await child.optimize(OPTIMIZE_MIN_IDLE_MS, SERVER_ANSWER_MS));
}

/**
 * `ctl optimize`: the database step and the server's memory, cache and connection steps, run
 * side by side; a part that fails (a database busy with another optimisation, no server
 * running) says why and does not stop the others.
 */
export async function optimize(deps: OptimizeDeps): Promise<OptimizeResult> {
  const t0 = performance.now();
  const [db, server] = await Promise.allSettled([deps.optimizeDb(), optimizeServer(deps.child())]);
  const parts: OptimizePart[] = [
    db.status === 'fulfilled' ? databasePart(db.value) : failed('database', db.reason),
    ...(server.status === 'fulfilled'
      ? serverParts(server.value)
      : (['memory', 'cache', 'connections'] as const).map((part) => failed(part, server.reason))),
  ];
  const result: OptimizeResult = {
    parts,
    database: db.status === 'fulfilled' ? db.value : null,
    server: server.status === 'fulfilled' ? server.value : null,
    ms: performance.now() - t0,
  };
  deps.log.info({ event: 'optimize', parts, ms: result.ms }, 'optimised');
  return result;
}
