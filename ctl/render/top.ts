import type { Alert, ChildState, MetricsSample, SeriesName } from '../../shared/schemas/rpc.js';
import { paint, plural } from './format.js';
import { figure, renderAlert, seriesOf, SERIES_LOOK, SERIES_NAMES, SPARK_WIDTH } from './metrics.js';
import { sparkline } from './sparkline.js';

/** What `ctl top` shows: kept by ctl/top.ts from `metrics.current`, `status` and the notifications. */
export interface TopView {
  child: { state: ChildState; pid: number | null };
  /** The samples seen, oldest first, at most SPARK_WIDTH. */
  samples: MetricsSample[];
  alerts: Alert[];
  /** The last state change or alert, said in one line. */
  lastEvent: string | undefined;
}

/** The series a one-line view shows, with a short label. */
const LINE_SERIES: ReadonlyArray<[SeriesName, string]> = [
  ['cpu_percent', 'cpu'],
  ['memory_percent', 'mem'],
  ['disk_percent', 'disk'],
  ['child_cpu_percent', 'server cpu'],
  ['memory_rss_mb', 'rss'],
  ['response_time_p50', 'p50'],
  ['response_time_p95', 'p95'],
  ['requests', 'requests'],
  ['active_connections', 'connections'],
  ['in_flight', 'in flight'],
  ['active_learners', 'learners'],
];

/** One plain line per sample (`ctl top` when stdout is not a terminal). */
export function renderSampleLine(sample: MetricsSample): string {
  return `${sample.at} ${LINE_SERIES.map(([name, label]) => `${label} ${figure(name, sample[name])}`).join(' \u00b7 ')}`;
}

/** 14:03:10 in local time. */
function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString('en-GB', { hour12: false });
}

function headline(view: TopView): string {
  const { state, pid } = view.child;
  const color = state === 'running' ? 'green' : state === 'fatal' ? 'red' : 'yellow';
  const latest = view.samples.at(-1);
  const at = latest === undefined ? 'waiting for the first sample\u2026' : `sample at ${clock(latest.at)}`;
  return `mcp-starterctl top \u00b7 ${paint(color, state)}${pid === null ? '' : ` pid ${pid}`} \u00b7 ${at}`;
}

function seriesRows(view: TopView): string[] {
  const latest = view.samples.at(-1);
  const width = Math.max(...SERIES_NAMES.map((n) => SERIES_LOOK[n].label.length));
  return SERIES_NAMES.map((name) => {
    const now = figure(name, latest?.[name]).padStart(9);
    return `  ${SERIES_LOOK[name].label.padEnd(width)}  ${now}  ${sparkline(seriesOf(view.samples, name), SPARK_WIDTH)}`;
  });
}

function alertRows(view: TopView, nowMs: number): string[] {
  if (view.alerts.length === 0) return [`  ${paint('green', '\u2713')} no active alerts`];
  return [`  ${plural(view.alerts.length, 'active alert')}:`, ...view.alerts.flatMap((a) => `  ${renderAlert(a, nowMs)}`.split('\n'))];
}

/** The whole view, one string per line (the caller fits them to the terminal); `isLive` adds how to quit. */
export function renderTopFrame(view: TopView, isLive: boolean, nowMs = Date.now()): string[] {
  return [
    headline(view),
    '',
    ...seriesRows(view),
    '',
    ...alertRows(view, nowMs),
    ...(view.lastEvent === undefined ? [] : ['', `  last event: ${view.lastEvent}`]),
    ...(isLive ? ['', paint('dim', '  q or Ctrl-C quits')] : []),
  ];
}
