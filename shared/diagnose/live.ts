import type { Config } from '../schemas/config.js';
import type { DiagnoseCategory, DiagnoseSeverity } from '../schemas/diagnose.js';
import type { Alert, ChildStatus, MetricsAnalysis, MetricsRule } from '../schemas/rpc.js';
import { isErrorLevel } from './log-tail.js';
import type { LogView } from './log-checks.js';
import { ctlCommand, type CheckSpec, type NewFinding, type Outcome } from './run.js';

/**
 * The checks only the running daemon can make: the server's state and why it last exited, the
 * metrics against the manual's lines (CPU 80 %, memory 75 %, responses 2 s), connections near
 * their limits, and the alerts it holds. Pure: the daemon hands in what it knows.
 */

export interface LiveState {
  child: ChildStatus;
  /** Active alerts (`status().alerts`). */
  alerts: readonly Alert[];
  /** The metrics over the alert window; `samples` says how much it rests on. */
  analysis: MetricsAnalysis;
  /** Fewer samples than this say nothing about a share (the alert engine's rule). */
  minSamples: number;
  /** The server's latest figures; undefined while none runs. */
  stats: { inFlight: number; openStreams: number } | undefined;
  /** Connections waiting in the daemon's queue for a server to take them. */
  queuedConnections: number;
  controlConnections: number;
  config: Config;
  url: string;
  log: LogView;
}

/** A limit counts as near at this share of it. */
export const NEAR_LIMIT_SHARE = 0.8;
const LOGS_COMMAND = ctlCommand('logs --level error -n 20');

function describeExit(child: ChildStatus): string {
  const e = child.lastExit;
  if (!e) return 'it has not exited yet';
  const how = e.signal !== null ? `signal ${e.signal}` : `exit code ${String(e.code)}`;
  return `its last exit was ${e.reason} (${how}) at ${e.at}`;
}

/** The server's last lines: what it printed to stderr before dying, and its last error lines in the log. */
function lastWords(child: ChildStatus, log: LogView): string[] {
  const stderr = child.lastStderr.slice(-5).map((l) => `stderr: ${l}`);
  let logged: string[] = [];
  try {
    logged = log
      .get()
      .entries.filter((e) => isErrorLevel(e.level) && e.source.startsWith('mcp-starter-server'))
      .slice(0, 3)
      .map((e) => `log ${e.time ?? '?'}: ${e.message}`);
  } catch {
    // the log check reports an unreadable log
  }
  return [...stderr, ...logged];
}

function childCheck(state: () => LiveState): CheckSpec {
  return {
    id: 'server',
    category: 'connection',
    what: 'the MCP server process',
    run: (): Outcome => {
      const { child, config, log } = state();
      const summary = `${child.state}${child.pid === null ? '' : `, pid ${child.pid}`}, ${child.restarts} restarts`;
      switch (child.state) {
        case 'fatal':
          return {
            summary,
            findings: [
              {
                id: 'server_crash_loop',
                severity: 'critical',
                title: 'The MCP server is down after a crash loop: learners cannot connect',
                cause: `It crashed more than ${config.restart.maxRestarts} times within ${Math.round(config.restart.windowMs / 1000)} s, so the daemon stopped restarting it; ${describeExit(child)}. Fix the cause its last lines show, then start it.`,
                fix: ctlCommand('start'),
                details: lastWords(child, log),
              },
            ],
          };
        case 'backoff':
          return {
            summary,
            findings: [
              {
                id: 'server_restarting',
                severity: 'error',
                title: 'The MCP server crashed and is waiting to restart',
                cause: `${describeExit(child)}; the daemon restarts it${child.nextStartAt === null ? '' : ` at ${child.nextStartAt}`} (restart ${child.restarts}). Learners' requests wait meanwhile; repeated crashes end in a crash loop.`,
                fix: LOGS_COMMAND,
                details: lastWords(child, log),
              },
            ],
          };
        case 'stopped':
          return {
            summary,
            findings: [
              {
                id: 'server_stopped',
                severity: 'error',
                title: 'The MCP server is stopped: learners cannot connect',
                cause: `The daemon runs but its server does not (${describeExit(child)}); learners get 503 answers until it starts.`,
                fix: ctlCommand('start'),
              },
            ],
          };
        case 'starting':
        case 'running':
        case 'reloading':
        case 'draining':
          return { summary };
      }
    },
  };
}

const RULE_LOOK: Record<Exclude<MetricsRule, 'disk'>, { id: string; title: string; fix: string }> = {
  cpu: { id: 'cpu_high', title: 'CPU use is over its line', fix: ctlCommand('top') },
  memory: { id: 'memory_high', title: 'Memory use is over its line', fix: ctlCommand('top') },
  response_time: { id: 'response_slow', title: 'Responses take longer than the manual\u2019s 2 s', fix: ctlCommand('top') },
};

/** The manual's rules (3.1) over the alert window, and the alerts the engine holds for them. */
function metricsCheck(state: () => LiveState): CheckSpec {
  return {
    id: 'metrics',
    category: 'slowdown',
    what: 'CPU, memory and response times against their lines',
    run: (): Outcome => {
      const { analysis, alerts, minSamples, config } = state();
      const { thresholds } = config;
      const lines = `CPU ${thresholds.cpuPercent} %, memory ${thresholds.memoryPercent} %, responses ${thresholds.responseTimeMs} ms`;
      const findings = new Map<string, NewFinding>();
      const enough = analysis.samples >= minSamples;
      for (const outcome of enough ? analysis.alerts : []) {
        if (outcome.rule === 'disk') continue; // the disk check reads the disk itself
        const look = RULE_LOOK[outcome.rule];
        findings.set(look.id, {
          id: look.id,
          severity: 'warning',
          title: look.title,
          cause: `${outcome.message}, over the last ${Math.round(analysis.hours * 60)} minutes.`,
          fix: look.fix,
        });
      }
      for (const alert of alerts) {
        if (alert.rule !== 'cpu' && alert.rule !== 'memory' && alert.rule !== 'response_time') continue;
        const look = RULE_LOOK[alert.rule];
        if (!findings.has(look.id))
          findings.set(look.id, {
            id: look.id,
            severity: 'warning',
            title: look.title,
            cause: `${alert.message} (alert since ${alert.since}).`,
            fix: look.fix,
          });
      }
      const avg = analysis.averages;
      const summary = enough
        ? `${analysis.samples} samples in ${Math.round(analysis.hours * 60)} min: CPU avg ${avg.cpu_percent ?? '?'} %, memory avg ${avg.memory_percent ?? '?'} %, p95 max ${analysis.maxima.response_time_p95 ?? '-'} ms (lines: ${lines})`
        : `${analysis.samples} samples in ${Math.round(analysis.hours * 60)} min: too few to judge (the rules need ${minSamples})`;
      return { summary, findings: [...findings.values()], skipped: !enough && findings.size === 0 };
    },
  };
}

function nearLimit(id: string, what: string, now: number, limit: number, key: string): NewFinding | undefined {
  if (now < limit * NEAR_LIMIT_SHARE) return undefined;
  return {
    id,
    severity: now >= limit ? 'error' : 'warning',
    title: `${what}: ${now} of ${limit}`,
    cause: `${what} ${now >= limit ? 'reached' : 'is near'} its limit ${key} (${limit}); more are ${key.startsWith('control') ? 'refused' : 'made to wait or refused with 503'}. If the load is real, raise ${key} in the config, then reload.`,
    fix: ctlCommand('reload'),
  };
}

function limitsCheck(state: () => LiveState): CheckSpec {
  return {
    id: 'limits',
    category: 'connection',
    what: 'open requests, streams and connections against their limits',
    run: (): Outcome => {
      const s = state();
      const { server, control } = s.config;
      const inFlight = s.stats?.inFlight ?? 0;
      const streams = s.stats?.openStreams ?? 0;
      const findings = [
        nearLimit(
          'requests_near_limit',
          'Learners\u2019 requests in progress',
          inFlight,
          server.maxConcurrentRequests,
          'server.maxConcurrentRequests',
        ),
        nearLimit('streams_near_limit', 'Open response streams', streams, server.maxOpenStreams, 'server.maxOpenStreams'),
        nearLimit(
          'connections_queued',
          'Connections waiting for a server',
          s.queuedConnections,
          server.maxQueuedConnections,
          'server.maxQueuedConnections',
        ),
        nearLimit(
          'control_near_limit',
          'Control-socket connections',
          s.controlConnections,
          control.maxConnections,
          'control.maxConnections',
        ),
      ].filter((f): f is NewFinding => f !== undefined);
      return {
        summary: `${inFlight}/${server.maxConcurrentRequests} requests, ${streams}/${server.maxOpenStreams} streams, ${s.queuedConnections} queued, ${s.controlConnections}/${control.maxConnections} control connections`,
        findings,
      };
    },
  };
}

/** The first command a hint names in backquotes: an alert's hint is prose, a finding's fix is a command. */
export function commandIn(hint: string): string | undefined {
  return /`([^`]+)`/.exec(hint)?.[1];
}

const ALERT_LOOK: Record<string, { category: DiagnoseCategory; severity: DiagnoseSeverity }> = {
  disk_writes: { category: 'learning_data', severity: 'critical' },
  log_writes: { category: 'installation', severity: 'error' },
  ops_writes: { category: 'installation', severity: 'warning' },
  prometheus: { category: 'installation', severity: 'warning' },
};
const METRIC_RULES = new Set(['cpu', 'memory', 'response_time', 'disk']);

/** The daemon's other alerts (a disk that refuses the server's writes, a log it cannot write, …). */
function alertsCheck(state: () => LiveState): CheckSpec {
  return {
    id: 'alerts',
    category: 'installation',
    what: 'the daemon\u2019s active alerts',
    run: (): Outcome => {
      const { alerts } = state();
      const findings = alerts
        .filter((a) => !METRIC_RULES.has(a.rule))
        .map((a): NewFinding => {
          const look = ALERT_LOOK[a.rule] ?? { category: 'installation', severity: 'error' };
          return {
            id: `alert_${a.rule}`,
            category: look.category,
            severity: look.severity,
            title: a.message,
            cause: `Active since ${a.since}. ${a.hint}`,
            fix: commandIn(a.hint) ?? ctlCommand('status'),
          };
        });
      return { summary: `${alerts.length} active alert(s)`, findings };
    },
  };
}

/** The port is the daemon's while it runs: it binds it and hands it to each server. */
function portCheck(state: () => LiveState): CheckSpec {
  return { id: 'port', category: 'connection', what: 'the port', run: () => ({ summary: `held by mcp-starterd: ${state().url}` }) };
}

export function liveChecks(state: () => LiveState): CheckSpec[] {
  return [childCheck(state), portCheck(state), limitsCheck(state), metricsCheck(state), alertsCheck(state)];
}
