import type { Db } from '../../shared/sqlite.js';
import type { MetricsSample } from '../../shared/schemas/rpc.js';
import type { WeeklyServer } from '../../shared/schemas/weekly.js';

/** The server-operation figures of a span of time, read from ops.db. */

interface Interval {
  start: string;
  end: string;
  condition: 'up' | 'down' | 'planned';
  reason: string;
}

export interface Span {
  fromMs: number;
  toMs: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function intervals(db: Db, span: Span): Interval[] {
  return db
    .prepare('SELECT start, end, condition, reason FROM availability WHERE end >= ? AND start < ? ORDER BY id')
    .all(iso(span.fromMs), iso(span.toMs)) as Interval[];
}

/** Up, down and planned time within a span (each row clipped to it). */
export function timeIn(db: Db, span: Span, nowMs = Date.now()): { upMs: number; downMs: number; plannedMs: number } {
  const out = { upMs: 0, downMs: 0, plannedMs: 0 };
  const to = Math.min(span.toMs, nowMs);
  for (const row of intervals(db, span)) {
    const ms = Math.max(0, Math.min(Date.parse(row.end), to) - Math.max(Date.parse(row.start), span.fromMs));
    if (row.condition === 'up') out.upMs += ms;
    else if (row.condition === 'down') out.downMs += ms;
    else out.plannedMs += ms;
  }
  return out;
}

/** Up ÷ (up + down); null when the span holds no measured time. */
export function availabilityIn(db: Db, span: Span, nowMs = Date.now()): number | null {
  const { upMs, downMs } = timeIn(db, span, nowMs);
  return upMs + downMs === 0 ? null : upMs / (upMs + downMs);
}

/**
 * Why the server went down or was restarted, counted: each stretch of down time by the reason
 * it began with (a crash, failed probes, a memory restart, the daemon not running), and each
 * planned stop by its reason (an operator's stop or restart, a reload's handover).
 */
export function restartCauses(db: Db, span: Span): WeeklyServer['restarts'] {
  const counts = new Map<string, { count: number; planned: boolean }>();
  let previous: Interval['condition'] | undefined;
  for (const row of intervals(db, span)) {
    const begins = row.condition !== 'up' && row.condition !== previous;
    previous = row.condition;
    if (!begins || Date.parse(row.start) < span.fromMs) continue;
    const cause = causeOf(row.reason);
    const key = `${row.condition}:${cause}`;
    const entry = counts.get(key) ?? { count: 0, planned: row.condition === 'planned' };
    entry.count++;
    counts.set(key, entry);
  }
  return [...counts.entries()]
    .map(([key, v]) => ({ cause: key.slice(key.indexOf(':') + 1), count: v.count, planned: v.planned }))
    .sort((a, b) => Number(a.planned) - Number(b.planned) || b.count - a.count);
}

/** A short cause from an interval's reason (a state event or a probe's error). */
function causeOf(reason: string): string {
  if (reason.startsWith('the daemon was not running')) return 'daemon-down';
  if (reason === 'the daemon stopped on purpose') return 'daemon-stopped';
  if (reason.length <= 40 && /^[a-z-]+$/.test(reason)) return reason;
  return 'probe-failed';
}

/** The value at quantile `q` of `values` (nearest rank); null for none. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** CPU, memory and response figures of the samples in a span. */
export function sampleFigures(samples: readonly MetricsSample[]): {
  cpuPercent: number | null;
  memoryPercent: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
} {
  const answered = samples.filter((s) => s.requests > 0);
  return {
    cpuPercent: mean(samples.map((s) => s.cpu_percent)),
    memoryPercent: mean(samples.map((s) => s.memory_percent)),
    p50Ms: quantile(
      answered.flatMap((s) => (s.response_time_p50 === null ? [] : [s.response_time_p50])),
      0.5,
    ),
    p95Ms: quantile(
      answered.flatMap((s) => (s.response_time_p95 === null ? [] : [s.response_time_p95])),
      0.95,
    ),
  };
}
