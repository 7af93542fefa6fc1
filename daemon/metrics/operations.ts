import { OPERATION_BUCKETS_SECONDS, type OperationWindow } from '../../shared/schemas/ipc.js';

/**
 * Label sets kept over the daemon's life. The child already bounds each window; this bounds the
 * sum of windows (children that come and go, each with its own sets). Past it a new set is
 * folded into `other`, one for successes and one for failures.
 */
export const MAX_TOTAL_LABEL_SETS = 64;

/** One label set's totals since the daemon started: per-bucket counts (not cumulative), as the windows carry them. */
export interface OperationTotal {
  method: string;
  tool: string;
  errorType: string;
  count: number;
  sumSeconds: number;
  buckets: number[];
}

/**
 * The learners' MCP operations summed over the children's `stats` windows since the daemon
 * started: what `mcp_server_operation_duration_seconds` exposes. Totals outlive a child, so the
 * histogram is a counter as Prometheus expects (it resets only with the daemon).
 */
export class OperationTotals {
  private readonly totals = new Map<string, OperationTotal>();

  /** Adds one `stats` message's `operations`. */
  add(windows: readonly OperationWindow[]): void {
    for (const w of windows) this.addOne(w);
  }

  /** Every label set's totals, in the order they first appeared. */
  series(): readonly OperationTotal[] {
    return [...this.totals.values()];
  }

  private addOne(w: OperationWindow): void {
    let labels = { method: w.method, tool: w.tool, errorType: w.errorType };
    let key = keyOf(labels);
    if (!this.totals.has(key) && this.totals.size >= MAX_TOTAL_LABEL_SETS) {
      labels = { method: 'other', tool: 'other', errorType: w.errorType === '' ? '' : 'other' };
      key = keyOf(labels);
    }
    let total = this.totals.get(key);
    if (!total) {
      total = { ...labels, count: 0, sumSeconds: 0, buckets: new Array<number>(OPERATION_BUCKETS_SECONDS.length + 1).fill(0) };
      this.totals.set(key, total);
    }
    total.count += w.count;
    total.sumSeconds += w.sumSeconds;
    for (const [i, n] of w.buckets.entries()) total.buckets[i] = (total.buckets[i] ?? 0) + n;
  }
}

function keyOf(labels: { method: string; tool: string; errorType: string }): string {
  return `${labels.method}\u0000${labels.tool}\u0000${labels.errorType}`;
}
