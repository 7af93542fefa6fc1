import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase, probeWrite, type Db } from '../../shared/sqlite.js';

/** How often the probe writes: often enough to meet every lock a step holds for longer than this. */
const INTERVAL_MS = 100;
/** How soon a write refused by a lock is tried again (the granularity of the wait measured). */
const RETRY_MS = 5;
/** A write still refused this long after the steps ended is given up (another process holds the lock). */
const GIVE_UP_MS = 10_000;

/**
 * A tiny writer on the learning database while `db optimize` runs: every 100 ms one write in its
 * own transaction, as a learner's tool call makes, timed from its first attempt until it committed.
 * The longest is how long a learner's write would have waited. It never blocks the daemon: its
 * connection does not wait for locks (busy timeout 0), it tries again on a timer.
 */
export class ProbeWriter {
  private readonly db: Db | undefined;
  private stopped = false;
  private readonly done: Promise<void>;
  private writes = 0;
  private longestMs: number | null = null;

  constructor(file: string) {
    try {
      this.db = openDatabase(file, { synchronous: 'FULL', busyTimeoutMs: 0 });
    } catch {
      this.db = undefined; // no figures then: the steps' own lock times still say it
    }
    this.done = this.db ? this.loop(this.db) : Promise.resolve();
  }

  private async loop(db: Db): Promise<void> {
    while (!this.stopped) {
      const t0 = performance.now();
      for (;;) {
        try {
          probeWrite(db);
          const ms = performance.now() - t0;
          this.writes++;
          this.longestMs = Math.max(this.longestMs ?? 0, ms);
          break;
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          // Any other failure (a full disk) ends the probe: it measures waits, not the disk.
          if (typeof code !== 'string' || !(code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) return;
          // A write waiting when the steps end is still measured, unless something else holds the lock for good.
          if (this.stopped && performance.now() - t0 > GIVE_UP_MS) return;
          await sleep(RETRY_MS);
        }
      }
      await sleep(INTERVAL_MS);
    }
  }

  /** Stops the probe; its writes and the longest one (ms), null when none was made. */
  async stop(): Promise<{ writes: number; longestMs: number | null }> {
    this.stopped = true;
    await this.done;
    this.db?.close();
    return { writes: this.writes, longestMs: this.longestMs === null ? null : Math.round(this.longestMs * 10) / 10 };
  }
}
