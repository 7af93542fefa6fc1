import type { Logger } from '../shared/logger.js';
import type { DataPaths } from '../shared/paths.js';
import type { Config } from '../shared/schemas/config.js';
import type {
  Alert,
  AlertNotification,
  Availability,
  HealthResult,
  MetricsAnalyzeResult,
  MetricsHistoryResult,
  MetricsSample,
  RpcResultInput,
} from '../shared/schemas/rpc.js';
import { HealthChecker } from './health/checks.js';
import { AlertEngine } from './metrics/alerts.js';
import { analyze } from './metrics/analyze.js';
import { MemoryLimit } from './metrics/memory-limit.js';
import { OperationTotals } from './metrics/operations.js';
import { PrometheusExporter, type PrometheusSource } from './metrics/prometheus.js';
import { Notifier } from './metrics/notifier.js';
import { Sampler } from './metrics/sampler.js';
import { AlertsTable } from './ops/alerts.js';
import { AvailabilityTracker } from './ops/availability.js';
import { OpsDatabase } from './ops/database.js';
import { HealthChecksTable } from './ops/health-checks.js';
import { ProbesTable } from './ops/probes.js';
import { SamplesTable } from './ops/samples.js';
import type { Supervisor } from './supervisor/supervisor.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** `metrics.history` answers at most this many points (sparklines, charts); longer windows are averaged into buckets. */
export const MAX_HISTORY_POINTS = 1_000;

export interface MonitorOptions {
  paths: DataPaths;
  config: Config;
  url: string;
  probeToken: string;
  supervisor: Supervisor;
  log: Logger;
  /** Pushes a notification to the control API's subscribers of a topic. */
  publish: (topic: 'metrics' | 'alerts', params: unknown) => void;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Health, metrics and alerts (manual 1.3, 2.2, 3.1): keeps ops.db (probe results, availability,
 * samples, alerts, health checks), samples every `metrics.sampleIntervalMs`, raises and clears
 * alerts, runs the operator's notifier, restarts a server over its memory limit, and runs the
 * full health check on demand (the scheduler's `health-report` job runs it hourly).
 */
export class Monitor {
  readonly ops: OpsDatabase;
  readonly availability: AvailabilityTracker;
  readonly sampler: Sampler;
  readonly engine: AlertEngine;
  private readonly probes: ProbesTable;
  private readonly samples: SamplesTable;
  private readonly alertsTable: AlertsTable;
  private readonly healthChecks: HealthChecksTable;
  private readonly checker: HealthChecker;
  private readonly notifier: Notifier;
  private readonly memoryLimit: MemoryLimit;
  private upkeepTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private healthRun: Promise<HealthResult> | undefined;
  private closed = false;
  /** The learners' MCP operations since the daemon started, for Prometheus. */
  readonly operations = new OperationTotals();
  /** CPU seconds of the servers that ran before the current one, so the Prometheus counter only grows. */
  private cpuSecondsBefore = 0;
  private cpuPid: number | undefined;
  private cpuSecondsCurrent = 0;
  private exporter: PrometheusExporter | undefined;
  private prometheusFailure: { since: string; message: string; hint: string } | undefined;

  constructor(private readonly options: MonitorOptions) {
    const { paths, config, supervisor, log } = options;
    this.ops = new OpsDatabase(paths.opsDb, log);
    this.availability = new AvailabilityTracker(this.ops);
    this.probes = new ProbesTable(this.ops);
    this.samples = new SamplesTable(this.ops);
    this.alertsTable = new AlertsTable(this.ops);
    this.healthChecks = new HealthChecksTable(this.ops);
    this.sampler = new Sampler({
      intervalMs: config.metrics.sampleIntervalMs,
      dataDir: paths.dataDir,
      childPid: () => (supervisor.state === 'running' || supervisor.state === 'reloading' ? supervisor.child?.pid : undefined),
      log,
    });
    this.engine = new AlertEngine({ config: () => supervisor.currentConfig, dataDir: paths.dataDir });
    this.notifier = new Notifier({ command: config.alerts.command, timeoutMs: config.alerts.commandTimeoutMs, log });
    this.memoryLimit = new MemoryLimit({
      limits: () => supervisor.currentConfig.restart,
      log,
      restart: () => supervisor.restart({}, 'memory-limit'),
    });
    this.checker = new HealthChecker({
      url: options.url,
      probeSocket: paths.probeSocket,
      probeToken: options.probeToken,
      learningDb: paths.learningDb,
      config: () => supervisor.currentConfig,
      child: () => ({ state: supervisor.state, pid: supervisor.child?.pid }),
      availability: () => this.availability.availability(),
    });
  }

  /** Call before the supervisor starts the child, so its first transitions are counted. */
  start(): void {
    const { supervisor, config } = this.options;
    this.availability.begin();
    this.alertsTable.clearAll(new Date().toISOString());
    supervisor.on('state', (note) => this.availability.onState(note));
    supervisor.on('stats', (stats) => {
      this.sampler.onStats(stats);
      this.operations.add(stats.operations);
    });
    supervisor.on('probe', (p) => {
      this.probes.record(p.kind, p.ok, p.ms, p.error);
      this.availability.onProbe(p.ok, p.error);
    });
    this.sampler.on('sample', (sample, proc) => this.onSample(sample, proc));
    this.engine.on('raised', (alert) => this.onAlert('raised', alert));
    this.engine.on('cleared', (alert) => this.onAlert('cleared', alert));
    this.sampler.start();
    // The heartbeat moves the open availability row: a daemon that dies loses at most this much.
    this.heartbeatTimer = setInterval(() => this.availability.heartbeat(), Math.min(config.probe.intervalMs, 10_000));
    this.heartbeatTimer.unref();
    this.upkeep();
    this.upkeepTimer = setInterval(() => this.upkeep(), HOUR_MS);
    this.upkeepTimer.unref();
  }

  private onSample(sample: MetricsSample, proc: Parameters<MemoryLimit['check']>[1]): void {
    this.countCpu(this.options.supervisor.child?.pid, proc?.cpuSeconds);
    this.samples.insert(sample);
    this.engine.add(sample);
    this.options.publish('metrics', sample);
    const { supervisor } = this.options;
    this.memoryLimit.check(supervisor.state === 'running' ? supervisor.child?.pid : undefined, proc);
  }

  private onAlert(action: AlertNotification['action'], alert: Alert): void {
    const at = new Date().toISOString();
    if (action === 'raised') this.alertsTable.raise(alert);
    else this.alertsTable.clear(alert.rule, at);
    const level = action === 'raised' ? 'warn' : 'info';
    this.options.log[level]({ event: 'alert', action, rule: alert.rule, since: alert.since, hint: alert.hint }, alert.message);
    const note: AlertNotification = { action, at, alert };
    this.options.publish('alerts', note);
    this.notifier.notify(note);
  }

  private countCpu(pid: number | undefined, cpuSeconds: number | undefined): void {
    if (pid === undefined || cpuSeconds === undefined) return;
    if (pid !== this.cpuPid) {
      this.cpuSecondsBefore += this.cpuSecondsCurrent;
      this.cpuPid = pid;
    }
    this.cpuSecondsCurrent = cpuSeconds;
  }

  /**
   * Minimal mode (DESIGN: no alert command, no Prometheus) or back: the sampler, alerts and
   * health checks go on either way, so `status`, `health` and `top` still tell what is wrong.
   */
  async setMinimal(minimal: boolean): Promise<void> {
    this.notifier.paused = minimal;
    if (minimal) {
      const exporter = this.exporter;
      this.exporter = undefined;
      this.prometheusFailure = undefined;
      await exporter?.close();
    } else {
      await this.startPrometheus();
    }
  }

  /** Serves `/metrics` when `prometheus.port` is set; a port it cannot have is an alert, not a dead daemon. */
  async startPrometheus(): Promise<void> {
    const { config, log } = this.options;
    if (config.prometheus.port === 0 || this.exporter !== undefined || this.closed) return;
    const exporter = new PrometheusExporter({ ...config.prometheus, log, source: this.prometheusSource() });
    try {
      await exporter.listen();
      this.exporter = exporter;
      this.prometheusFailure = undefined;
    } catch (err) {
      const e = err as Error & { hint?: string };
      this.prometheusFailure = {
        since: new Date().toISOString(),
        message: `The Prometheus endpoint is off: ${e.message}`,
        hint: e.hint ?? 'Set prometheus.port to a free port (or 0 to turn it off), then restart the daemon.',
      };
      log.error({ event: 'prometheus', ok: false, error: e.message }, this.prometheusFailure.message);
      await exporter.close();
    }
  }

  private prometheusSource(): PrometheusSource {
    const { supervisor } = this.options;
    return {
      childState: () => supervisor.state,
      restarts: () => supervisor.restarts,
      childCpuSecondsTotal: () => this.cpuSecondsBefore + this.cpuSecondsCurrent,
      childRssBytes: () => (supervisor.child ? (this.sampler.latestProcess?.rssBytes ?? null) : null),
      availability: () => this.availability.availability(),
      activeLearners: () => supervisor.child?.stats?.activeLearners ?? 0,
      activeAlertRules: () => this.alerts.map((a) => a.rule),
      operations: () => this.operations,
    };
  }

  /** Hourly: raw samples past the retention become hourly averages; rows past the long retention go. */
  private upkeep(): void {
    const { metrics } = this.options.config;
    const now = Date.now();
    const folded = this.samples.downsample(iso(now - metrics.retentionDays * DAY_MS));
    const cutoff = iso(now - metrics.hourlyRetentionDays * DAY_MS);
    const pruned =
      this.samples.prune(cutoff) + this.probes.prune(cutoff) + this.healthChecks.prune(cutoff) + this.alertsTable.prune(cutoff);
    if (folded + pruned > 0)
      this.options.log.info({ event: 'metrics_retention', folded, pruned }, 'metrics history downsampled and pruned');
  }

  /** The full health check, recorded in ops.db and logged; concurrent callers share one run. */
  health(): Promise<HealthResult> {
    this.healthRun ??= this.checker
      .run()
      .then((result) => {
        this.healthChecks.record(result);
        const probe = result.checks.mcp_probe;
        this.probes.record(
          'full',
          probe.status === 'pass',
          probe.response_time * 1000,
          probe.status === 'pass' ? undefined : probe.details,
        );
        const failing = Object.entries(result.checks).flatMap(([name, c]) => (c.status === 'pass' ? [] : [name]));
        this.options.log[result.status === 'healthy' ? 'info' : 'warn'](
          { event: 'health', status: result.status, failing, availability: result.availability },
          result.status === 'healthy' ? 'health check: healthy' : `health check: unhealthy (${failing.join(', ')})`,
        );
        return result;
      })
      .finally(() => (this.healthRun = undefined));
    return this.healthRun;
  }

  get availabilityNow(): Availability {
    return this.availability.availability();
  }

  /** The alerts active now: the rules', and ops.db's own trouble. */
  get alerts(): Alert[] {
    return [...this.engine.alerts, ...this.opsAlerts()];
  }

  private opsAlerts(): Alert[] {
    const prometheus: Alert[] = this.prometheusFailure ? [{ rule: 'prometheus', ...this.prometheusFailure }] : [];
    const failure = this.ops.failure;
    if (!failure) return prometheus;
    const { dataDir } = this.options.paths;
    return [
      ...prometheus,
      {
        rule: 'ops_writes',
        since: failure.since,
        message: failure.inMemory
          ? `The daemon cannot open ${this.ops.file} (${failure.code}): health and metrics history is kept in memory and lost at the next daemon restart.`
          : `The daemon cannot write ${this.ops.file} (${failure.code}); ${failure.failed} writes of health and metrics history lost so far.`,
        hint: failure.inMemory
          ? `Fix the cause (\`df -h ${dataDir}\`, \`ls -la ${dataDir}\`), then restart the daemon (systemctl restart mcp-starter).`
          : `Free disk space or fix permissions (\`df -h ${dataDir}\`); writing resumes by itself.`,
      },
    ];
  }

  current(): RpcResultInput<'metrics.current'> {
    return { current: this.sampler.latest ?? null, alerts: this.alerts };
  }

  analyze(hours: number): MetricsAnalyzeResult {
    const { samples } = this.samples.range(iso(Date.now() - hours * HOUR_MS));
    return {
      current: this.sampler.latest ?? null,
      analysis: analyze(samples, hours, this.options.supervisor.currentConfig.thresholds),
      alerts: this.alerts,
    };
  }

  history(hours: number): MetricsHistoryResult {
    const { samples, hourly } = this.samples.range(iso(Date.now() - hours * HOUR_MS));
    if (samples.length > MAX_HISTORY_POINTS) return { hours, resolution: 'bucket', samples: bucketed(samples, MAX_HISTORY_POINTS) };
    return { hours, resolution: hourly > 0 ? 'hour' : 'raw', samples };
  }

  /** `planned`: the daemon stops on purpose (the time until it is back is planned downtime). */
  async close(planned: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exporter?.close();
    clearInterval(this.upkeepTimer);
    clearInterval(this.heartbeatTimer);
    this.sampler.close();
    this.notifier.close();
    if (planned) this.availability.end();
    else this.availability.heartbeat();
    this.ops.close();
  }
}

/** Averages consecutive samples into `points` buckets (the maximum of the maxima), oldest first. */
function bucketed(samples: readonly MetricsSample[], points: number): MetricsSample[] {
  const size = Math.ceil(samples.length / points);
  const out: MetricsSample[] = [];
  for (let i = 0; i < samples.length; i += size) {
    const group = samples.slice(i, i + size);
    const first = group[0];
    if (!first) continue;
    out.push(average(group, first.at));
  }
  return out;
}

function average(group: readonly MetricsSample[], at: string): MetricsSample {
  const mean = (pick: (s: MetricsSample) => number | null): number | null => {
    const v = group.map(pick).filter((x): x is number => x !== null);
    return v.length === 0 ? null : Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 10) / 10;
  };
  const max = (pick: (s: MetricsSample) => number | null): number | null => {
    const v = group.map(pick).filter((x): x is number => x !== null);
    return v.length === 0 ? null : v.reduce((a, b) => Math.max(a, b));
  };
  return {
    at,
    cpu_percent: mean((s) => s.cpu_percent) ?? 0,
    memory_percent: mean((s) => s.memory_percent) ?? 0,
    disk_percent: mean((s) => s.disk_percent) ?? 0,
    child_cpu_percent: mean((s) => s.child_cpu_percent),
    memory_rss_mb: mean((s) => s.memory_rss_mb),
    response_time_p50: mean((s) => s.response_time_p50),
    response_time_p95: mean((s) => s.response_time_p95),
    response_time_max: max((s) => s.response_time_max),
    requests: group.reduce((a, s) => a + s.requests, 0),
    active_connections: Math.round(mean((s) => s.active_connections) ?? 0),
    in_flight: Math.round(mean((s) => s.in_flight) ?? 0),
    active_learners: Math.round(mean((s) => s.active_learners) ?? 0),
  };
}
