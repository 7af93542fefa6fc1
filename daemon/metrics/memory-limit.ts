import type { Logger } from '../../shared/logger.js';
import type { ProcessFigures } from './system.js';

export interface MemoryLimitOptions {
  /** `restart.maxMemoryMb` (0: off) and `maxMemoryForMs`, read at every sample so a reload applies. */
  limits: () => { maxMemoryMb: number; maxMemoryForMs: number };
  log: Logger;
  /** Restarts the server through the lifecycle (may refuse with E_BUSY: tried again at the next sample). */
  restart: (figures: { rssMb: number; limitMb: number; overForMs: number }) => Promise<unknown>;
}

/**
 * PM2's max_memory_restart, without its flapping: a server whose RSS stays over the limit for
 * `maxMemoryForMs` (every sample over it) is restarted gracefully, once; a sample under the
 * limit, or another process, starts the count again.
 */
export class MemoryLimit {
  private overSinceMs: number | undefined;
  private pid: number | undefined;
  private restarting = false;

  constructor(private readonly options: MemoryLimitOptions) {}

  /** A sample of the serving process. */
  check(pid: number | undefined, figures: ProcessFigures | undefined, nowMs = performance.now()): void {
    const { log } = this.options;
    const { maxMemoryMb, maxMemoryForMs } = this.options.limits();
    if (maxMemoryMb === 0 || this.restarting) return;
    const rssMb = figures ? figures.rssBytes / 1_048_576 : 0;
    if (pid === undefined || pid !== this.pid || rssMb <= maxMemoryMb) {
      this.pid = pid;
      this.overSinceMs = rssMb > maxMemoryMb ? nowMs : undefined;
      return;
    }
    this.overSinceMs ??= nowMs;
    const overForMs = nowMs - this.overSinceMs;
    if (overForMs < maxMemoryForMs) return;
    const detail = { rssMb: Math.round(rssMb), limitMb: maxMemoryMb, overForMs: Math.round(overForMs) };
    log.warn(
      { event: 'memory_limit', pid, ...detail },
      `the server uses ${detail.rssMb} MB, over restart.maxMemoryMb (${maxMemoryMb} MB) for ${Math.round(overForMs / 1000)} s; restarting it gracefully`,
    );
    this.restarting = true;
    this.options
      .restart(detail)
      .then(() => {
        this.overSinceMs = undefined;
      })
      .catch((err: unknown) => {
        // Another operation holds the lifecycle (E_BUSY) or the restart failed: the next sample decides again.
        log.warn(
          { event: 'memory_limit', pid, ok: false, error: (err as Error).message },
          'the memory-limit restart did not happen; trying again',
        );
      })
      .finally(() => (this.restarting = false));
  }
}
