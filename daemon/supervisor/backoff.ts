export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * Delay before restart attempt `attempt` (0-based): the first retry is immediate, then
 * initial, 2×initial, 4×initial … capped at `maxMs`.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy): number {
  if (attempt <= 0) return 0;
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt - 1, 30));
}

/** Restarts within the window, counting the new one; more than `max` is a crash loop. */
export class RestartWindow {
  private times: number[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  /** Records a restart at `nowMs` (monotonic); true when this one makes it a crash loop. */
  record(nowMs: number): boolean {
    this.times = this.times.filter((t) => nowMs - t < this.windowMs);
    this.times.push(nowMs);
    return this.times.length > this.max;
  }

  reset(): void {
    this.times = [];
  }
}
