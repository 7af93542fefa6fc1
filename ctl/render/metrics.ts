import type {
  Alert,
  MetricsAnalyzeResult,
  MetricsHistoryResult,
  MetricsRule,
  MetricsSample,
  RuleOutcome,
  SeriesName,
} from '../../shared/schemas/rpc.js';
import { localTime, paint, plural, relative, table } from './format.js';
import { sparkline } from './sparkline.js';

type Unit = '%' | 'MB' | 'ms' | '';

/** Every series of a sample, in the order they are shown, with its label and unit (DESIGN.md, JSON: `metrics`). */
export const SERIES_LOOK: Readonly<Record<SeriesName, { label: string; unit: Unit }>> = {
  cpu_percent: { label: 'CPU (machine)', unit: '%' },
  memory_percent: { label: 'memory (machine)', unit: '%' },
  disk_percent: { label: 'disk (data dir)', unit: '%' },
  child_cpu_percent: { label: 'server CPU', unit: '%' },
  memory_rss_mb: { label: 'server memory', unit: 'MB' },
  response_time_p50: { label: 'response p50', unit: 'ms' },
  response_time_p95: { label: 'response p95', unit: 'ms' },
  response_time_max: { label: 'response max', unit: 'ms' },
  requests: { label: 'requests', unit: '' },
  active_connections: { label: 'connections', unit: '' },
  in_flight: { label: 'in flight', unit: '' },
  active_learners: { label: 'active learners', unit: '' },
};

export const SERIES_NAMES = Object.keys(SERIES_LOOK) as SeriesName[];

/** The width of a sparkline, in characters (one per sample, or per group of samples). */
export const SPARK_WIDTH = 40;

function number(value: number, unit: Unit): string {
  if (unit === 'ms') return value < 10 ? value.toFixed(1) : String(Math.round(value));
  if (unit === '') return Number.isInteger(value) ? String(value) : value.toFixed(1);
  return value.toFixed(1);
}

/** "12.3 %", "80.4 MB", "120 ms", "3"; a dash when there is no figure. */
export function figure(name: SeriesName, value: number | null | undefined): string {
  if (value === null || value === undefined) return '\u2013';
  const { unit } = SERIES_LOOK[name];
  return unit === '' ? number(value, unit) : `${number(value, unit)} ${unit}`;
}

/** The line of a rule, in its own unit: percent, or milliseconds for response_time. */
function ruleFigure(rule: MetricsRule, value: number): string {
  return rule === 'response_time' ? `${Math.round(value)} ms` : `${value.toFixed(1)} %`;
}

const RULE_LABEL: Record<MetricsRule, string> = {
  cpu: 'CPU',
  memory: 'memory',
  response_time: 'response time',
  disk: 'disk',
};

function share(value: number): string {
  return `${(value * 100).toFixed(value > 0 && value < 0.01 ? 2 : 1)} %`;
}

/** "✗ CPU  12.5 % of samples over 80.0 % (fires above 10.0 %), their average 91.2 %" (the alert it raises says the rest). */
export function renderRule(outcome: RuleOutcome): string {
  const over =
    outcome.limitShare === 0
      ? `over ${ruleFigure(outcome.rule, outcome.threshold)} in its latest sample`
      : `${share(outcome.share)} of samples over ${ruleFigure(outcome.rule, outcome.threshold)} (fires above ${share(outcome.limitShare)})`;
  const average = outcome.average === null ? '' : `, their average ${ruleFigure(outcome.rule, outcome.average)}`;
  return `${paint('red', `\u2717 ${RULE_LABEL[outcome.rule]}`)}  ${over}${average}`;
}

/** "✗ CPU high. (cpu, since 3 min ago) → See ctl top." */
export function renderAlert(alert: Alert, nowMs = Date.now()): string {
  return `${paint('red', `\u2717 ${alert.message}`)} (${alert.rule}, since ${relative(alert.since, nowMs)})\n    \u2192 ${alert.hint}`;
}

export function renderAlerts(alerts: readonly Alert[], nowMs = Date.now()): string {
  if (alerts.length === 0) return `${paint('green', '\u2713')} No active alerts.`;
  return [`Active alerts (${alerts.length}):`, ...alerts.map((a) => `  ${renderAlert(a, nowMs)}`)].join('\n');
}

/** Each series over the samples, oldest first. */
export function seriesOf(samples: readonly MetricsSample[], name: SeriesName): Array<number | null> {
  return samples.map((s) => s[name]);
}

function windowText(hours: number): string {
  return hours % 24 === 0 && hours >= 48 ? `${hours / 24} days` : hours === 1 ? '1 hour' : `${hours} hours`;
}

/** The figure columns right-aligned (header included), so that digits line up. */
function alignRight(cells: string[][]): string[][] {
  const widths = (cells[0] ?? []).map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  return cells.map((row) => row.map((cell, c) => cell.padStart(widths[c] ?? 0)));
}

function figuresTable(result: MetricsAnalyzeResult, history: MetricsHistoryResult): string {
  const { current, analysis } = result;
  const figures = alignRight([
    ['now', 'average', 'p95', 'max'],
    ...SERIES_NAMES.map((name) => [
      figure(name, current?.[name]),
      figure(name, analysis.averages[name]),
      figure(name, analysis.p95[name]),
      figure(name, analysis.maxima[name]),
    ]),
  ]);
  const body = SERIES_NAMES.map((name, i) => [
    SERIES_LOOK[name].label,
    ...(figures[i + 1] ?? []),
    sparkline(seriesOf(history.samples, name), SPARK_WIDTH),
  ]);
  const resolution = history.resolution === 'raw' ? 'samples' : 'hourly averages';
  return table(['', ...(figures[0] ?? []), `history (${resolution}, oldest left)`], body);
}

function rulesText(outcomes: readonly RuleOutcome[]): string {
  if (outcomes.length === 0) return `${paint('green', '\u2713')} Every alert rule is within its line over this window.`;
  return [`Alert rules that fire over this window (${outcomes.length}):`, ...outcomes.map((o) => `  ${renderRule(o)}`)].join('\n');
}

/** `ctl metrics`: current values, averages, p95 and maxima with a sparkline per series, the rules that fire, the active alerts. */
export function renderMetrics({ analyze, history }: { analyze: MetricsAnalyzeResult; history: MetricsHistoryResult }): string {
  const { current, analysis } = analyze;
  const window = windowText(analysis.hours);
  const latest = current === null ? 'no sample yet' : `latest sample ${localTime(current.at)} (${relative(current.at)})`;
  const head = `Metrics over the last ${window}: ${plural(analysis.samples, 'sample')} \u00b7 ${latest}`;
  if (analysis.samples === 0 && current === null) {
    return [
      head,
      'No samples yet. mcp-starterd takes one every metrics.sampleIntervalMs (10 s unless configured; 0 turns sampling off).',
      renderAlerts(analyze.alerts),
    ].join('\n\n');
  }
  return [head, figuresTable(analyze, history), rulesText(analysis.alerts), renderAlerts(analyze.alerts)].join('\n\n');
}
