import { EventEmitter } from 'node:events';
import type { Config } from '../../shared/schemas/config.js';
import type { Alert, MetricsRule, MetricsSample } from '../../shared/schemas/rpc.js';
import { evaluateRule, RULE_SHARES, RULES } from './analyze.js';

/** Fewer samples than this (2 min at the default 10 s) say nothing yet about a share: the busy seconds of a start are not a trend. */
export const MIN_SAMPLES = 12;
/** Disk hysteresis: a raised disk alert clears once the disk is this many points under its line. */
export const DISK_CLEAR_POINTS = 2;

export interface AlertEngineOptions {
  /** Read at every sample, so a reload's new thresholds apply from the next one. */
  config: () => Pick<Config, 'thresholds' | 'alerts'>;
  /** The data dir, named in the hints. */
  dataDir: string;
}

const HINTS: Record<MetricsRule, (dataDir: string) => string> = {
  cpu: () =>
    'The machine is busy: `mcp-starterctl top` shows whether the server is the cause (its CPU beside the machine\u2019s); `top` shows the other processes.',
  memory: () =>
    'Memory is short: `mcp-starterctl top` shows the server\u2019s share; `free -m` and `top -o %MEM` the rest. `restart.maxMemoryMb` restarts a server that keeps growing.',
  response_time: () =>
    'Learners wait too long: see `mcp-starterctl top` (requests in flight, CPU) and `mcp-starterctl logs --level warn`; `mcp-starterctl diagnose` checks the usual causes.',
  disk: (dataDir) =>
    `Free space on the disk of ${dataDir} (\`df -h ${dataDir}\`); old logs and backups are in ${dataDir}/logs and ${dataDir}/backups.`,
};

/**
 * The manual's alert rules (3.1) on the latest `alerts.windowMinutes` of samples, raised and
 * cleared with hysteresis: a rule raises when its share of samples over the line passes the
 * manual's (10 %, 10 %, 5 %; disk: its latest sample over the line) and clears only once the
 * share has fallen to `alerts.clearRatio` of that (disk: DISK_CLEAR_POINTS under the line), so an
 * alert does not flap with every sample near the line.
 */
export class AlertEngine extends EventEmitter<{ raised: [Alert]; cleared: [Alert] }> {
  private readonly window: MetricsSample[] = [];
  private readonly active = new Map<MetricsRule, Alert>();

  constructor(private readonly options: AlertEngineOptions) {
    super();
  }

  /** The alerts raised and not cleared, oldest first. */
  get alerts(): Alert[] {
    return [...this.active.values()];
  }

  /** Adds a sample, re-evaluates every rule, and raises or clears (events) what changed. */
  add(sample: MetricsSample): void {
    const windowMs = this.options.config().alerts.windowMinutes * 60_000;
    const atMs = Date.parse(sample.at);
    this.window.push(sample);
    while (this.window.length > 0 && atMs - Date.parse(this.window[0]?.at ?? sample.at) > windowMs) this.window.shift();
    for (const rule of RULES) this.evaluate(rule, sample.at);
  }

  private evaluate(rule: (typeof RULES)[number], at: string): void {
    const outcome = evaluateRule(rule, this.window, this.options.config().thresholds);
    const enough = rule.name === 'disk' || this.window.length >= MIN_SAMPLES;
    const active = this.active.get(rule.name);
    if (!active) {
      if (!enough || !outcome.fires) return;
      const alert: Alert = { rule: rule.name, since: at, message: outcome.message, hint: HINTS[rule.name](this.options.dataDir) };
      this.active.set(rule.name, alert);
      this.emit('raised', alert);
      return;
    }
    // Keep the message current while it stays raised.
    if (outcome.fires) {
      active.message = outcome.message;
      return;
    }
    if (!this.clears(rule, outcome.share)) return;
    this.active.delete(rule.name);
    this.emit('cleared', { ...active, message: `Cleared: ${outcome.message}` });
  }

  private clears(rule: (typeof RULES)[number], share: number): boolean {
    if (rule.name === 'disk') {
      const latest = this.window.map(rule.value).findLast((v) => v !== null);
      return latest != null && latest <= rule.threshold(this.options.config().thresholds) - DISK_CLEAR_POINTS;
    }
    return share <= RULE_SHARES[rule.name] * this.options.config().alerts.clearRatio;
  }
}
