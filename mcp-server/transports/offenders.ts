import type { Logger } from '../../shared/logger.js';

/** Keys remembered at most; past it the oldest are forgotten (an attacker cannot grow this map). */
const MAX_KEYS = 10_000;

/**
 * Logs a limit hit once per offender and limit per window, not once per request or byte: the
 * first hit is logged at once, later ones in the same window are counted and reported with the
 * next line for that offender (`repeated`).
 */
export class OffenderLog {
  private readonly seen = new Map<string, { sinceMs: number; repeated: number }>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = 60_000,
    private readonly now: () => number = () => performance.now(),
    /** The log event: `limit_hit`, or `request_refused` for Host, Origin and token refusals (read by `ctl diagnose`). */
    private readonly event = 'limit_hit',
  ) {}

  /** Forgets offenders whose window has passed (their next hit is logged anew either way); returns how many. */
  forgetExpired(): number {
    const nowMs = this.now();
    let forgotten = 0;
    for (const [key, entry] of this.seen) {
      if (nowMs - entry.sinceMs < this.windowMs) continue;
      this.seen.delete(key);
      forgotten++;
    }
    return forgotten;
  }

  hit(limit: string, offender: string, fields: Record<string, unknown>, message: string): void {
    const key = `${limit}\u0000${offender}`;
    const nowMs = this.now();
    const entry = this.seen.get(key);
    if (entry && nowMs - entry.sinceMs < this.windowMs) {
      entry.repeated++;
      return;
    }
    this.seen.delete(key);
    if (this.seen.size >= MAX_KEYS) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.set(key, { sinceMs: nowMs, repeated: 0 });
    this.log.warn({ event: this.event, limit, offender, repeated: entry?.repeated ?? 0, ...fields }, message);
  }
}
