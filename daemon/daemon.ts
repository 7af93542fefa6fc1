import { statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyPortOverride, loadConfig } from '../shared/config.js';
import { AppError } from '../shared/errors.js';
import type { DataPaths } from '../shared/paths.js';
import { packageRoot } from '../shared/paths.js';
import type { Config } from '../shared/schemas/config.js';
import type { Alert, ChildStatus, ReloadResult, StatusResult } from '../shared/schemas/rpc.js';
import { newToken } from '../shared/tokens.js';
import { version } from '../shared/version.js';
import { ControlServer } from './control-server.js';
import { emergencyStop } from './emergency.js';
import { PortListener } from './listener.js';
import { ProbePort } from './probe-port.js';
import { acquireLock } from './lock.js';
import { journalMirror } from './logs/journal.js';
import { LogWriter } from './logs/writer.js';
import { configuredJobs, type JobDeps } from './jobs/all.js';
import { Monitor } from './monitor.js';
import { JobRunsTable } from './ops/job-runs.js';
import { AVAILABILITY_GOAL } from './ops/availability.js';
import { registerLifecycle } from './rpc/lifecycle.js';
import { registerJobs } from './rpc/jobs.js';
import { registerLogs } from './rpc/logs.js';
import { registerDb } from './rpc/db.js';
import { diagnose, registerDiagnose, type DiagnoseDeps } from './rpc/diagnose.js';
import { registerReports } from './rpc/reports.js';
import { registerUpkeep } from './rpc/upkeep.js';
import { SamplesTable } from './ops/samples.js';
import { writeWeekly, type WeeklyReportDeps } from './reports/weekly-writer.js';
import { learningSteps } from './jobs/learning-steps.js';
import { registerMonitoring } from './rpc/monitoring.js';
import type { ChildCommand } from './supervisor/child.js';
import { Scheduler } from './scheduler.js';
import { Supervisor } from './supervisor/supervisor.js';
import { checkHttpConfig } from '../shared/http-config.js';
import { CHILD_CONFIG_ENV } from '../shared/config.js';

export interface DaemonOptions {
  paths: DataPaths;
  config: Config;
  configFile: string | undefined;
  /** `--port`, which wins over the config for the daemon's lifetime. */
  portOverride: number | undefined;
  /** `--minimal`: start in the manual's minimal recovery mode. */
  minimal?: boolean;
}

export type DaemonMode = StatusResult['mode'];

/** The server's config in minimal mode: everything as configured, but logging at debug level. */
function minimalChildConfig(config: Config): Config {
  return { ...config, logs: { ...config.logs, level: 'debug' } };
}

/** Environment variable naming another module to fork as the server (test fixtures). */
export const CHILD_MODULE_ENV = 'MCP_STARTERD_CHILD';

/**
 * The server command: compiled JS in production; the TypeScript source (through tsx) when the
 * daemon itself runs from source. The child gets the daemon's parsed config (file, environment
 * and `--port` applied once, here) rather than reading the file again.
 */
export function serverCommand(dataDir: string, config: Config, probeToken: string): ChildCommand {
  const fromSource = import.meta.url.endsWith('.ts');
  const modulePath = process.env[CHILD_MODULE_ENV] ?? join(packageRoot(), fromSource ? 'mcp-server/main.ts' : 'dist/mcp-server/main.js');
  return {
    modulePath,
    args: ['--transport', 'http', '--listen-handle', '--data-dir', dataDir],
    // --expose-gc: `ctl optimize` asks the server to collect garbage and report its heap before and after.
    execArgv: [...(modulePath.endsWith('.ts') ? ['--import', 'tsx'] : []), '--expose-gc'],
    env: { ...process.env, MCP_STARTER_PROBE_TOKEN: probeToken, [CHILD_CONFIG_ENV]: JSON.stringify(config) },
  };
}

/** mcp-starterd's parts, started in order and closed in reverse. */
export class Daemon {
  readonly logs: LogWriter;
  readonly listener: PortListener;
  readonly control: ControlServer;
  readonly probePort: ProbePort;
  supervisor!: Supervisor;
  monitor: Monitor | undefined;
  scheduler: Scheduler | undefined;
  url = '';
  /** Normal, or the manual's minimal recovery mode (DESIGN.md): set by `--minimal` and enterMinimal(), ended by `start`. */
  mode: DaemonMode;
  private readonly startedAtMs = performance.now();
  private lock: { release: () => void } | undefined;
  private pidFileWritten = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: DaemonOptions) {
    this.mode = options.minimal === true ? 'minimal' : 'normal';
    this.logs = new LogWriter(options.paths.logsDir, options.config.logs.level, options.config.logs);
    // Under systemd every line reaches journald too (`journalctl -u mcp-starter`); the files stay what `ctl logs` reads.
    this.logs.mirror = journalMirror();
    this.listener = new PortListener(this.logs.log.child({ component: 'listener' }), options.config.server);
    this.probePort = new ProbePort(options.paths.probeSocket, this.logs.log.child({ component: 'probe' }));
    this.control = new ControlServer(options.paths.socket, this.logs.log.child({ component: 'control' }), options.config.control);
  }

  private loadConfig(): Config {
    const config = applyPortOverride(loadConfig({ file: this.options.configFile }), this.options.portOverride);
    const current = this.supervisor.currentConfig.server;
    if (config.server.port !== current.port || config.server.host !== current.host) {
      throw new AppError(
        'E_CONFIG_INVALID',
        `The new config moves the server from ${current.host}:${current.port} to ${config.server.host}:${config.server.port}; a reload keeps the port.`,
        {
          hint: 'Restart the daemon to change host or port (systemctl restart mcp-starter).',
        },
      );
    }
    return config;
  }

  async start(): Promise<void> {
    const { paths, config } = this.options;
    checkHttpConfig(config.server);
    this.prepareDataDir();
    await this.control.listen();
    await this.probePort.listen();
    const bound = await this.listener.listen(config.server.host, config.server.port);
    const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
    this.url = `http://${host}:${bound.port}/mcp`;
    const probeToken = newToken();
    this.supervisor = this.createSupervisor(probeToken);
    const monitor = await this.startMonitor(probeToken);
    this.scheduler = this.createScheduler(this.registerMethods(monitor), monitor);
    this.streamEvents();
    this.logs.log.info(
      {
        event: 'daemon_start',
        pid: process.pid,
        version: version(),
        url: this.url,
        socket: paths.socket,
        dataDir: paths.dataDir,
        mode: this.mode,
      },
      this.mode === 'minimal' ? 'mcp-starterd started in minimal mode' : 'mcp-starterd started',
    );
    await this.supervisor.start();
    // After the child's first start, so a catch-up health report checks a server that had its chance to come up.
    this.scheduler.start();
  }

  /** Takes the data dir's lock, warns when it is open to others, writes the pid file. */
  private prepareDataDir(): void {
    const { paths } = this.options;
    const log = this.logs.log;
    this.lock = acquireLock(paths.lockFile);
    const openMode = statSync(paths.dataDir).mode & 0o077;
    if (openMode !== 0) {
      log.warn(
        { event: 'data_dir_permissions', dataDir: paths.dataDir, mode: (statSync(paths.dataDir).mode & 0o777).toString(8) },
        `the data dir ${paths.dataDir} can be read by other users; \`chmod 700 ${paths.dataDir}\` makes it private (new files in it are 0600 either way)`,
      );
    }
    try {
      writeFileSync(paths.daemonPidFile, `${process.pid}\n`, { mode: 0o600 });
      this.pidFileWritten = true;
    } catch (err) {
      // Only `emergency-stop` with the daemon down reads it; a full disk must not stop the service.
      log.warn({ event: 'pid_file', err, file: paths.daemonPidFile }, 'could not write the daemon’s pid file');
    }
  }

  private createSupervisor(probeToken: string): Supervisor {
    const { paths, config } = this.options;
    return new Supervisor({
      config,
      paths,
      // Read at each spawn: a server started in minimal mode logs at debug level.
      command: (childConfig) =>
        serverCommand(paths.dataDir, this.mode === 'minimal' ? minimalChildConfig(childConfig) : childConfig, probeToken),
      probeToken,
      probePort: this.probePort,
      listener: this.listener,
      url: this.url,
      log: this.logs.log.child({ component: 'supervisor' }),
      writeRaw: (line) => this.logs.writeRaw(line),
    });
  }

  /** Health, metrics, alerts, availability; Prometheus unless in minimal mode. */
  private async startMonitor(probeToken: string): Promise<Monitor> {
    const { paths, config } = this.options;
    const monitor = new Monitor({
      paths,
      config,
      url: this.url,
      probeToken,
      supervisor: this.supervisor,
      log: this.logs.log.child({ component: 'monitor' }),
      publish: (topic, params) => this.control.publish(topic, params),
    });
    this.monitor = monitor;
    monitor.start();
    if (this.mode === 'minimal') await monitor.setMinimal(true);
    else await monitor.startPrometheus();
    return monitor;
  }

  /** The control API's methods beyond the lifecycle; returns what the scheduled jobs run. */
  private registerMethods(monitor: Monitor): JobDeps {
    const { paths } = this.options;
    const log = this.logs.log;
    const supervisor = this.supervisor;
    const config = (): Config => supervisor.currentConfig;
    registerMonitoring(this.control, monitor);
    registerLogs(this.control, this.logs);
    const db = registerDb(this.control, {
      supervisor,
      paths,
      config,
      ops: monitor.ops,
      log: log.child({ component: 'db' }),
      health: () => monitor.health(),
    });
    const diagnosis: DiagnoseDeps = {
      paths,
      configFile: this.options.configFile,
      config,
      status: () => this.status(),
      analyze: (hours) => monitor.analyze(hours),
      stats: () => supervisor.child?.stats,
      queuedConnections: () => this.listener.queued,
      controlConnections: () => this.control.connections.size,
    };
    registerDiagnose(this.control, diagnosis);
    registerReports(this.control, { paths, config });
    const samples = new SamplesTable(monitor.ops);
    const weekly: WeeklyReportDeps = { paths, config, ops: monitor.ops.db, samples: (from, to) => samples.range(from, to).samples };
    registerUpkeep(this.control, {
      optimize: { optimizeDb: () => db.optimize(), child: () => supervisor.child, log: log.child({ component: 'optimize' }) },
      weekly,
      recover: {
        paths,
        configFile: this.options.configFile,
        env: process.env,
        diagnose: () => diagnose(diagnosis),
        restore: (file) => db.restore(file),
        enterMinimal: () => this.enterMinimal(),
        health: () => monitor.health(),
        log: log.child({ component: 'recover' }),
      },
    });
    registerLifecycle(this.control, {
      supervisor,
      status: () => this.status(),
      emergencyStop: (reason) => emergencyStop(supervisor, paths, log, reason),
      reload: () => this.reload(),
      start: () => this.startServer(),
    });
    return {
      health: () => monitor.health(),
      rotateLogs: () => this.logs.rotateNow(),
      backup: (signal) => db.backup('daily', signal),
      optimize: (signal) => db.optimize(signal),
      weeklyReport: () => writeWeekly(weekly),
      learning: learningSteps({ paths, config, log: log.child({ component: 'maintenance' }) }),
    };
  }

  /** The scheduled jobs (paused in minimal mode), recorded in ops.db and pushed on topic `jobs`. */
  private createScheduler(jobs: JobDeps, monitor: Monitor): Scheduler {
    const { config } = this.options;
    const scheduler = new Scheduler({
      jobs: configuredJobs(config.schedule, jobs),
      timezone: config.schedule.timezone,
      runs: new JobRunsTable(monitor.ops),
      log: this.logs.log.child({ component: 'scheduler' }),
    });
    if (this.mode === 'minimal') scheduler.pause();
    scheduler.on('run', (run) => this.control.publish('jobs', run));
    registerJobs(this.control, scheduler);
    return scheduler;
  }

  /** What subscribers see: state changes, the server's figures, every log line. */
  private streamEvents(): void {
    this.supervisor.on('state', (n) => this.control.publish('state', n));
    // Subscribers get the figures; the operation histogram (up to 256 label sets) is Prometheus's.
    this.supervisor.on('stats', ({ operations: _operations, ...figures }) => this.control.publish('stats', figures));
    this.logs.onLine = (line) => this.control.publish('logs', { line });
  }

  /**
   * `start`: starts the server; in minimal mode it also returns to normal (DESIGN.md): jobs,
   * alert command and Prometheus come back, and a running server is handed over to one that logs
   * at the configured level. If that handover is refused (another operation runs: E_BUSY), the
   * daemon stays in minimal mode and says so.
   */
  private async startServer(): Promise<ChildStatus> {
    if (this.mode === 'normal') return this.supervisor.start();
    return this.switchMode('normal');
  }

  /**
   * The manual's minimal recovery mode at run time (`ctl recover` with the daemon up): no
   * scheduled jobs, no alert command, no Prometheus, and the server handed over to one that logs
   * at debug level (or started so, when it is not serving).
   */
  enterMinimal(): Promise<ChildStatus> {
    return this.switchMode('minimal');
  }

  /**
   * Hands the server over to one started in `mode` (or starts it), then switches the daemon's
   * parts. A refused handover (E_BUSY: another operation runs) leaves the daemon as it was.
   */
  private async switchMode(mode: DaemonMode): Promise<ChildStatus> {
    const was = this.mode;
    this.mode = mode; // read by the server command at the next spawn
    let child: ChildStatus;
    try {
      const serving = this.supervisor.state === 'running' || this.supervisor.state === 'reloading';
      child = serving ? (await this.supervisor.restart({})).child : await this.supervisor.start();
    } catch (err) {
      this.mode = was;
      throw err;
    }
    const minimal = mode === 'minimal';
    if (minimal) this.scheduler?.pause();
    else this.scheduler?.resume();
    await this.monitor?.setMinimal(minimal);
    if (minimal) {
      this.logs.log.warn({ event: 'mode', mode }, 'minimal mode: the server logs at debug; no scheduled jobs, alert command or Prometheus');
    } else {
      this.logs.log.info({ event: 'mode', mode }, 'left minimal mode: scheduled jobs, the alert command and Prometheus are back');
    }
    return child;
  }

  /** Re-reads the config and hands over to a new child; a bad config is refused and the old child keeps serving. */
  async reload(): Promise<ReloadResult> {
    const t0 = performance.now();
    const log = this.logs.log;
    try {
      const before = JSON.stringify(this.supervisor.currentConfig);
      const config = this.loadConfig();
      const pids = await this.supervisor.reload(config);
      this.logs.setLimits(config.logs);
      const result = { ...pids, ms: Math.round(performance.now() - t0), configChanged: JSON.stringify(config) !== before };
      log.info({ event: 'reload', ...result }, 'reloaded');
      return result;
    } catch (err) {
      log.error({ event: 'reload', ok: false, error: (err as Error).message }, 'reload refused; the running server is unchanged');
      throw err;
    }
  }

  status(): StatusResult {
    const { paths } = this.options;
    const supervisor = this.supervisor;
    const { drain, restart } = supervisor.currentConfig;
    const stats = supervisor.child?.stats;
    return {
      daemon: {
        pid: process.pid,
        version: version(),
        uptimeMs: Math.round(performance.now() - this.startedAtMs),
        socket: paths.socket,
        dataDir: paths.dataDir,
        timeouts: { drainMs: drain.timeoutMs, killMs: drain.killTimeoutMs, readyMs: restart.readyTimeoutMs },
      },
      child: supervisor.status(),
      operation: supervisor.operation,
      url: this.url,
      mode: this.mode,
      activeLearners: stats?.activeLearners ?? 0,
      inFlight: stats?.inFlight ?? 0,
      availability: this.monitor?.availabilityNow ?? { h24: null, d7: null, goal: AVAILABILITY_GOAL },
      alerts: this.alerts(),
    };
  }

  private alerts(): Alert[] {
    return [...this.logAlerts(), ...this.diskAlerts(), ...(this.monitor?.alerts ?? [])];
  }

  /** The server's own report that its disk refuses writes (from its stats). */
  private diskAlerts(): Alert[] {
    const degraded = this.supervisor.child?.stats?.degraded;
    if (!degraded) return [];
    const { dataDir } = this.options.paths;
    const fix =
      degraded.kind === 'read_only'
        ? `Make ${dataDir} writable again (\`findmnt -T ${dataDir}\`, its permissions)`
        : degraded.kind === 'full'
          ? `Free disk space (\`df -h ${dataDir}\`)`
          : `Check the disk under ${dataDir} (\`dmesg\`, \`df -h ${dataDir}\`)`;
    return [
      {
        rule: 'disk_writes',
        since: degraded.since,
        message: `The server cannot save learners' changes: ${degraded.reason} (${degraded.code}; ${degraded.failedWrites} refused so far). Reads still work.`,
        hint: degraded.restartNeeded
          ? `${fix}, then \`mcp-starterctl restart\`: the database was opened read-only at start.`
          : `${fix}; saving resumes by itself.`,
      },
    ];
  }

  private logAlerts(): Alert[] {
    const failure = this.logs.failure;
    if (!failure) return [];
    return [
      {
        rule: 'log_writes',
        since: failure.since,
        message: `The daemon cannot write its log file ${this.logs.file} (${failure.code}); ${failure.dropped} lines dropped so far.`,
        hint:
          failure.code === 'ENOSPC' || failure.code === 'EDQUOT'
            ? `Free disk space (\`df -h ${this.options.paths.dataDir}\`); writing resumes by itself.`
            : `Check the logs folder's permissions and mount (\`ls -ld ${this.options.paths.logsDir}\`); writing resumes by itself.`,
      },
    ];
  }

  /** Graceful shutdown: drain the child, stop listening, close the socket, release the lock. Idempotent. */
  close(reason = 'signal'): Promise<void> {
    this.closing ??= (async () => {
      const log = this.logs.log;
      log.info({ event: 'daemon_stop', reason }, 'mcp-starterd stopping');
      // No job starts during the shutdown; a run in progress is aborted and recorded while ops.db is open.
      await this.scheduler?.close();
      if (this.supervisor) await this.supervisor.stop({}, 'daemon-shutdown');
      // A shutdown asked for (SIGTERM, SIGINT, a failed start): the time until the next start is planned.
      await this.monitor?.close(true);
      this.listener.close();
      this.probePort.close();
      await this.control.close();
      if (this.pidFileWritten) {
        try {
          unlinkSync(this.options.paths.daemonPidFile);
        } catch {
          // already gone
        }
      }
      this.lock?.release();
      log.info({ event: 'daemon_exit' }, 'mcp-starterd stopped');
      this.logs.close();
    })();
    return this.closing;
  }
}
