/** Window size cap: beyond this many requests per window, timings are sampled (every n-th kept). */
const MAX_SAMPLES = 10_000;

export interface StatsSnapshot {
  windowMs: number;
  inFlight: number;
  openStreams: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? 0;
}

/** In-flight requests, open streams and response timings over a reporting window. */
export class RequestStats {
  inFlight = 0;
  openStreams = 0;
  private samples: number[] = [];
  private requests = 0;
  private errors = 0;
  private maxMs = 0;
  private windowStart = performance.now();

  /** Call when a request starts; call the returned function once when it ends. */
  begin(): (ok: boolean) => void {
    this.inFlight++;
    const t0 = performance.now();
    let done = false;
    return (ok: boolean) => {
      if (done) return;
      done = true;
      this.inFlight--;
      const ms = performance.now() - t0;
      this.requests++;
      if (!ok) this.errors++;
      if (ms > this.maxMs) this.maxMs = ms;
      if (this.samples.length < MAX_SAMPLES) this.samples.push(ms);
      else this.samples[Math.floor(Math.random() * MAX_SAMPLES)] = ms;
    };
  }

  /** The window's figures; starts a new window. */
  snapshot(): StatsSnapshot {
    const sorted = this.samples.sort((a, b) => a - b);
    const now = performance.now();
    const round = (n: number): number => Math.round(n * 100) / 100;
    const snap: StatsSnapshot = {
      windowMs: Math.round(now - this.windowStart),
      inFlight: this.inFlight,
      openStreams: this.openStreams,
      requests: this.requests,
      errors: this.errors,
      p50Ms: round(percentile(sorted, 50)),
      p95Ms: round(percentile(sorted, 95)),
      maxMs: round(this.maxMs),
    };
    this.samples = [];
    this.requests = 0;
    this.errors = 0;
    this.maxMs = 0;
    this.windowStart = now;
    return snap;
  }
}
