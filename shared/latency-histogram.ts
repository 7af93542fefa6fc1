/**
 * Latency in a fixed log-scale histogram: buckets 5 % wide from 0.01 ms to about 2.8 h, so any
 * percentile is within 2.5 % of the truth (the bucket's geometric middle), clamped to the exact
 * minimum and maximum seen; ~430 counters per tool, whatever the number of calls.
 */
export class LatencyHistogram {
  static readonly MIN_MS = 0.01;
  static readonly RATIO = 1.05;
  static readonly BUCKETS = Math.ceil(Math.log(1e9) / Math.log(LatencyHistogram.RATIO)) + 2;
  private static readonly LOG_RATIO = Math.log(LatencyHistogram.RATIO);
  private readonly counts = new Uint32Array(LatencyHistogram.BUCKETS);
  count = 0;
  min = Infinity;
  max = -Infinity;

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const { MIN_MS, BUCKETS, LOG_RATIO } = LatencyHistogram;
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(ms / MIN_MS) / LOG_RATIO) + 1);
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** The q-quantile (0 < q ≤ 1) by nearest rank; null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    // The ends are known exactly.
    if (rank === 1) return this.min;
    if (rank >= this.count) return this.max;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen < rank) continue;
      // Bucket i ≥ 1 holds [MIN·R^(i-1), MIN·R^i); its geometric middle is MIN·R^(i-½). The last holds everything above.
      if (i === this.counts.length - 1) return this.max;
      const middle = i === 0 ? this.min : LatencyHistogram.MIN_MS * LatencyHistogram.RATIO ** (i - 0.5);
      return Math.min(this.max, Math.max(this.min, middle));
    }
    return this.max;
  }
}
