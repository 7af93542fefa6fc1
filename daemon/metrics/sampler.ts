import { EventEmitter } from 'node:events';
import type { Logger } from '../../shared/logger.js';
import type { StatsMessage } from '../../shared/schemas/ipc.js';
import type { MetricsSample } from '../../shared/schemas/rpc.js';
import { forgetProcesses, machineFigures, processFigures, type ProcessFigures } from './system.js';

export interface SamplerOptions {
  /** 0: no periodic sampling (a sample is still taken when asked). */
  intervalMs: number;
  dataDir: string;
  /** The serving child's pid, if one runs. */
  childPid: () => number | undefined;
  log: Logger;
}

/** The child's stats windows since the last sample, folded into one. */
interface Window {
  requests: number;
  p50Sum: number;
  p95Sum: number;
  maxMs: number;
  last: StatsMessage | undefined;
}

const emptyWindow = (last?: StatsMessage): Window => ({ requests: 0, p50Sum: 0, p95Sum: 0, maxMs: 0, last });
const round = (n: number): number => Math.round(n * 10) / 10;

/**
 * Every `intervalMs`: the machine's CPU, memory and disk, the server process's CPU and memory
 * (pidusage), and the server's own figures from its stats reports. The server reports more often
 * than the daemon samples, so a sample's p50/p95 are the request-weighted means of the windows'
 * and its max the largest; a sample with no learner request has null response times.
 */
export class Sampler extends EventEmitter<{ sample: [MetricsSample, ProcessFigures | undefined] }> {
  latest: MetricsSample | undefined;
  /** The latest figures of the serving process (CPU seconds, RSS in bytes). */
  latestProcess: ProcessFigures | undefined;
  private window: Window = emptyWindow();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<MetricsSample> | undefined;
  private failures = 0;

  constructor(private readonly options: SamplerOptions) {
    super();
  }

  start(): void {
    if (this.options.intervalMs === 0 || this.timer) return;
    this.timer = setInterval(() => {
      // A sample still running (a slow /proc on a loaded machine) is not overlapped: this tick is skipped.
      if (this.running) return;
      this.sample().catch((err: unknown) => this.failed(err));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** A stats report of the serving child. */
  onStats(stats: StatsMessage): void {
    const w = this.window;
    w.requests += stats.requests;
    w.p50Sum += stats.p50Ms * stats.requests;
    w.p95Sum += stats.p95Ms * stats.requests;
    w.maxMs = Math.max(w.maxMs, stats.maxMs);
    w.last = stats;
  }

  /** Takes a sample now (or joins the one being taken). */
  sample(): Promise<MetricsSample> {
    this.running ??= this.take().finally(() => (this.running = undefined));
    return this.running;
  }

  private async take(): Promise<MetricsSample> {
    const pid = this.options.childPid();
    const [machine, proc] = await Promise.all([machineFigures(this.options.dataDir), pid === undefined ? undefined : processFigures(pid)]);
    const w = this.window;
    // A child that is gone leaves no gauges behind; its last counts still belong to this sample.
    const last = pid === undefined ? undefined : w.last;
    this.window = emptyWindow(last);
    const sample: MetricsSample = {
      at: new Date().toISOString(),
      cpu_percent: machine.cpuPercent,
      memory_percent: machine.memoryPercent,
      disk_percent: machine.diskPercent,
      child_cpu_percent: proc?.cpuPercent ?? null,
      memory_rss_mb: proc ? round(proc.rssBytes / 1_048_576) : null,
      response_time_p50: w.requests > 0 ? round(w.p50Sum / w.requests) : null,
      response_time_p95: w.requests > 0 ? round(w.p95Sum / w.requests) : null,
      response_time_max: w.requests > 0 ? round(w.maxMs) : null,
      requests: w.requests,
      active_connections: last?.connections ?? 0,
      in_flight: last?.inFlight ?? 0,
      active_learners: last?.activeLearners ?? 0,
    };
    this.latest = sample;
    this.latestProcess = proc;
    this.failures = 0;
    this.emit('sample', sample, proc);
    return sample;
  }

  private failed(err: unknown): void {
    // Said once per run of failures, not every tick.
    if (this.failures++ === 0)
      this.options.log.warn({ event: 'metrics', ok: false, error: (err as Error).message }, 'taking a metrics sample failed');
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    forgetProcesses();
  }
}
