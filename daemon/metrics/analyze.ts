import type { Config } from '../../shared/schemas/config.js';
import {
  SERIES,
  type MetricsAnalysis,
  type MetricsRule,
  type MetricsSample,
  type RuleOutcome,
  type SeriesFigures,
} from '../../shared/schemas/rpc.js';

type Thresholds = Config['thresholds'];

/** The manual's rules (3.1): a rule fires when MORE than this share of the samples is over its line. */
export const RULE_SHARES: Record<MetricsRule, number> = { cpu: 0.1, memory: 0.1, response_time: 0.05, disk: 0 };

interface Rule {
  name: MetricsRule;
  value: (s: MetricsSample) => number | null;
  threshold: (t: Thresholds) => number;
  unit: string;
  label: string;
}

export const RULES: readonly Rule[] = [
  { name: 'cpu', value: (s) => s.cpu_percent, threshold: (t) => t.cpuPercent, unit: '%', label: 'CPU use' },
  { name: 'memory', value: (s) => s.memory_percent, threshold: (t) => t.memoryPercent, unit: '%', label: 'Memory use' },
  // The learners' p95 of each sample interval against the manual's 2 s.
  {
    name: 'response_time',
    value: (s) => s.response_time_p95,
    threshold: (t) => t.responseTimeMs,
    unit: 'ms',
    label: 'Response time (p95)',
  },
  { name: 'disk', value: (s) => s.disk_percent, threshold: (t) => t.diskPercent, unit: '%', label: 'Disk use' },
];

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? null;
}

function figures(samples: readonly MetricsSample[], pick: (values: number[]) => number | null): SeriesFigures {
  const out = {} as Record<(typeof SERIES)[number], number | null>;
  for (const name of SERIES) {
    const values = samples.map((s) => s[name]).filter((v): v is number => v !== null);
    const v = values.length === 0 ? null : pick(values);
    out[name] = v === null ? null : round(v);
  }
  return out;
}

/** One rule over the samples: the share over its line, and whether that share fires it. */
export function evaluateRule(rule: Rule, samples: readonly MetricsSample[], thresholds: Thresholds): RuleOutcome & { fires: boolean } {
  const threshold = rule.threshold(thresholds);
  const values = samples.map(rule.value).filter((v): v is number => v !== null);
  const over = values.filter((v) => v > threshold);
  const share = values.length === 0 ? 0 : over.length / values.length;
  const average = over.length === 0 ? null : round(over.reduce((a, b) => a + b, 0) / over.length);
  const limitShare = RULE_SHARES[rule.name];
  // Disk is a level, not a spike: its latest sample decides (the manual checks the disk as it is now).
  const latest = rule.name === 'disk' ? samples.map(rule.value).findLast((v) => v !== null) : undefined;
  const fires = rule.name === 'disk' ? latest != null && latest > threshold : share > limitShare;
  const pct = round(share * 100, 1);
  const message =
    rule.name === 'disk'
      ? `${rule.label} is ${latest ?? '?'} ${rule.unit}, over ${threshold} ${rule.unit}`
      : `${rule.label} over ${threshold} ${rule.unit} in ${pct} % of samples (the limit is ${limitShare * 100} %)${average === null ? '' : `, averaging ${average} ${rule.unit} when over`}`;
  return { rule: rule.name, share: round(share, 4), threshold, limitShare, average, message, fires };
}

/** The manual's 24 h analysis (3.1) over any window: averages, maxima, p95 per series, and the rules that fire. */
export function analyze(samples: readonly MetricsSample[], hours: number, thresholds: Thresholds): MetricsAnalysis {
  const alerts = RULES.map((r) => evaluateRule(r, samples, thresholds))
    .filter((o) => o.fires)
    .map(({ fires: _fires, ...outcome }) => outcome);
  return {
    hours,
    samples: samples.length,
    averages: figures(samples, (v) => v.reduce((a, b) => a + b, 0) / v.length),
    maxima: figures(samples, (v) => v.reduce((a, b) => Math.max(a, b))),
    p95: figures(samples, (v) =>
      percentile(
        [...v].sort((a, b) => a - b),
        95,
      ),
    ),
    alerts,
  };
}
