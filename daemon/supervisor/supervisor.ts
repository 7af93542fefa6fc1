import { EventEmitter } from 'node:events';
import { unlinkSync, writeFileSync } from 'node:fs';
import { AppError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { DataPaths } from '../../shared/paths.js';
import type { Config } from '../../shared/schemas/config.js';
import type { StatsMessage } from '../../shared/schemas/ipc.js';
import type { ChildStatus, LastExit, StateNotification, StopResult } from '../../shared/schemas/rpc.js';
import type { PortListener } from '../listener.js';
import { LivenessProbe, probeMcp, ProbeHistory } from '../prober.js';
import { backoffDelayMs, RestartWindow } from './backoff.js';
import { ChildHandle, type ChildCommand, type ChildExit } from './child.js';
import { nextState, type ChildEvent, type ChildState } from './machine.js';

export interface SupervisorOptions {
  config: Config;
  paths: DataPaths;
  /** The command that starts a server child with a given config (injectable for fixtures). */
  command: (config: Config) => ChildCommand;
  listener: PortListener;
  /** The URL clients (and the probe) use: the daemon's port. */
  url: string;
  log: Logger;
  writeRaw: (line: string) => void;
  /** Sent by the probe so the server can tell it from a learner (children get it as MCP_STARTER_PROBE_TOKEN). */
  probeToken: string;
}

type StopReason = 'requested' | 'crash' | 'probe-failures' | 'ready-timeout' | 'emergency' | 'daemon-shutdown' | 'handover';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The child's lifecycle: an explicit state machine (machine.ts) driven by the child's events and
 * by requests. Timers belong to states: entering a state arms them, leaving it clears them.
 */
export class Supervisor extends EventEmitter<{ state: [StateNotification]; stats: [StatsMessage] }> {
  state: ChildState = 'stopped';
  child: ChildHandle | undefined;
  restarts = 0;
  lastExit: LastExit = null;
  lastStderr: string[] = [];
  readonly history = new ProbeHistory();
  private config: Config;
  private attempt = 0;
  private window: RestartWindow;
  private pendingReason: StopReason | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private nextStartAtMs: number | undefined;
  private probing = false;
  private probeFailures = 0;
  private stopping: Promise<StopResult> | undefined;
  private readonly liveness: LivenessProbe;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.config = options.config;
    this.window = new RestartWindow(this.config.restart.windowMs, this.config.restart.maxRestarts);
    this.liveness = new LivenessProbe(options.url, options.probeToken);
  }

  get currentConfig(): Config {
    return this.config;
  }

  private transition(event: ChildEvent, reason: string | null = null): void {
    const from = this.state;
    const to = nextState(from, event);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.nextStartAtMs = undefined;
    this.state = to;
    const note: StateNotification = { state: to, from, event, pid: this.child?.pid ?? null, reason, at: new Date().toISOString() };
    this.options.log.info({ event: 'child_state', state: to, from, trigger: event, pid: note.pid, reason }, `child ${from} → ${to}`);
    this.emit('state', note);
    this.enter(to);
  }

  private timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private enter(state: ChildState): void {
    const { listener } = this.options;
    switch (state) {
      case 'starting':
        this.spawn();
        return;
      case 'running':
        this.probeFailures = 0;
        this.timer(this.config.restart.stableAfterMs, () => (this.attempt = 0));
        this.scheduleProbe();
        return;
      case 'backoff': {
        listener.setMode({ kind: 'queue' });
        const delayMs = backoffDelayMs(this.attempt++, {
          initialMs: this.config.restart.backoffInitialMs,
          maxMs: this.config.restart.backoffMaxMs,
        });
        this.nextStartAtMs = Date.now() + delayMs;
        this.options.log.info(
          { event: 'child_restart', attempt: this.attempt, delayMs, restarts: this.restarts },
          `restarting the server in ${delayMs} ms`,
        );
        this.timer(delayMs, () => this.transition('retry'));
        return;
      }
      case 'fatal':
        listener.setMode({
          kind: 'refuse',
          message: 'The MCP server keeps crashing and was stopped.',
          hint: 'The operator can see why with `mcp-starterctl status`.',
        });
        this.options.log.error(
          { event: 'alert', kind: 'crash_loop', restarts: this.restarts, lastExit: this.lastExit, lastStderr: this.lastStderr },
          'crash loop: the server is left stopped until `mcp-starterctl start`',
        );
        return;
      case 'draining':
        listener.setMode({ kind: 'refuse', message: 'The MCP server is stopping.', hint: 'Retry once it is started again.' });
        return;
      case 'stopped':
        listener.setMode({
          kind: 'refuse',
          message: 'The MCP server is stopped.',
          hint: 'The operator starts it with `mcp-starterctl start`.',
        });
        return;
    }
  }

  private spawn(): void {
    const { log, paths, listener } = this.options;
    listener.setMode({ kind: 'queue' });
    let child: ChildHandle;
    try {
      child = new ChildHandle(this.options.command(this.config), log, this.options.writeRaw);
    } catch (err) {
      log.error({ err }, 'could not start the server process');
      this.timer(0, () => this.onExit(undefined, { code: null, signal: null }));
      return;
    }
    this.child = child;
    this.pendingReason = undefined;
    child.on('stats', (s) => this.emit('stats', s));
    writeFileSync(paths.childPidFile, `${child.pid}\n`, { mode: 0o600 });
    log.info({ event: 'child_spawn', pid: child.pid }, 'server process started');
    void child.exited.then((exit) => this.onExit(child, exit));
    void this.bringUp(child);
  }

  /** Hands the child its socket, waits for `ready`, then for a passed MCP probe. */
  private async bringUp(child: ChildHandle): Promise<void> {
    const readyMs = this.config.restart.readyTimeoutMs;
    const signal = AbortSignal.timeout(readyMs);
    try {
      await child.send({ type: 'listen', url: this.options.url });
      await child.waitReady(signal);
      this.options.listener.setMode({ kind: 'forward', send: (socket) => child.send({ type: 'connection' }, socket) });
      for (;;) {
        const probe = await probeMcp(this.options.url, Math.min(this.config.probe.timeoutMs, readyMs), this.options.probeToken);
        if (this.child !== child || this.state !== 'starting') return;
        if (probe.ok) break;
        if (signal.aborted) throw new Error(`the MCP probe kept failing: ${probe.error ?? ''}`);
        await sleep(100);
      }
      this.transition('ready');
    } catch (err) {
      if (this.child !== child || this.state !== 'starting') return;
      const why = signal.aborted ? `not ready within ${readyMs} ms` : (err as Error).message;
      this.options.log.error({ event: 'child_not_ready', pid: child.pid, error: why }, 'server did not become ready; killing it');
      this.pendingReason = 'ready-timeout';
      child.signalGroup('SIGKILL');
    }
  }

  private scheduleProbe(): void {
    this.timer(this.config.probe.intervalMs, () => void this.probe());
  }

  private async probe(): Promise<void> {
    const child = this.child;
    if (this.probing || !child || this.state !== 'running') return;
    this.probing = true;
    const result = await this.liveness.probe(this.config.probe.timeoutMs).finally(() => (this.probing = false));
    if (this.child !== child || this.state !== 'running') return;
    this.history.record(result.ok);
    this.probeFailures = result.ok ? 0 : this.probeFailures + 1;
    if (!result.ok) {
      this.options.log.warn(
        { event: 'health', check: 'mcp_probe', ok: false, ms: Math.round(result.ms), error: result.error, failures: this.probeFailures },
        'MCP probe failed',
      );
    }
    if (this.probeFailures >= this.config.probe.failuresBeforeRestart) {
      this.options.log.error(
        { event: 'alert', kind: 'unresponsive', pid: child.pid, failures: this.probeFailures },
        'the server stopped answering; restarting it',
      );
      this.pendingReason = 'probe-failures';
      child.signalGroup('SIGKILL');
      return;
    }
    this.scheduleProbe();
  }

  private onExit(child: ChildHandle | undefined, exit: ChildExit): void {
    const { log, paths } = this.options;
    if (child && child !== this.child) {
      log.info(
        { event: 'child_exit', pid: child.pid, code: exit.code, signal: exit.signal, reason: 'handover' },
        'previous server exited after the handover',
      );
      return;
    }
    this.child = undefined;
    try {
      unlinkSync(paths.childPidFile);
    } catch {
      // already removed
    }
    const reason: StopReason = this.pendingReason ?? 'crash';
    this.pendingReason = undefined;
    this.lastExit = { code: exit.code, signal: exit.signal, at: new Date().toISOString(), reason };
    if (child) this.lastStderr = [...child.lastStderr];
    const level = reason === 'requested' || reason === 'daemon-shutdown' ? 'info' : 'warn';
    log[level](
      { event: 'child_exit', pid: child?.pid ?? null, code: exit.code, signal: exit.signal, reason, lastStderr: this.lastStderr },
      'server exited',
    );
    if (this.state === 'draining') {
      this.transition('exit', reason);
      return;
    }
    if (this.state !== 'starting' && this.state !== 'running') return;
    this.restarts++;
    if (this.window.record(performance.now())) this.transition('crashloop', reason);
    else this.transition('exit', reason);
  }

  status(): ChildStatus {
    const hint =
      this.state === 'fatal'
        ? `The server crashed ${this.config.restart.maxRestarts + 1} times within ${Math.round(this.config.restart.windowMs / 1000)} s. Read its last lines above and the log, fix the cause, then \`mcp-starterctl start\`.`
        : this.state === 'backoff'
          ? 'The server crashed and is restarted automatically; `mcp-starterctl status` again in a moment.'
          : this.state === 'stopped'
            ? 'Start it with `mcp-starterctl start`.'
            : null;
    return {
      state: this.state,
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      startedAt: this.child?.startedAt ?? null,
      lastExit: this.lastExit,
      lastStderr: this.lastStderr,
      hint,
      nextStartAt: this.nextStartAtMs === undefined ? null : new Date(this.nextStartAtMs).toISOString(),
    };
  }

  /** Starts the child (also out of `fatal`, unlike systemd's start limit) and waits until it runs or fails. */
  async start(): Promise<ChildStatus> {
    if (this.state === 'draining') {
      throw new AppError('E_CHILD_STATE', 'The server is stopping right now.', { hint: 'Wait for the stop to finish, then start it.' });
    }
    if (this.state === 'stopped' || this.state === 'fatal' || this.state === 'backoff') {
      this.attempt = 0;
      this.window.reset();
      this.transition('start');
    }
    await this.settled();
    return this.status();
  }

  /** Resolves when the state is no longer `starting` (or after twice the ready timeout). */
  settled(): Promise<void> {
    if (this.state !== 'starting') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('state', onState);
        resolve();
      };
      const onState = (n: StateNotification): void => {
        if (n.state !== 'starting') done();
      };
      const timer = setTimeout(done, this.config.restart.readyTimeoutMs * 2);
      this.on('state', onState);
    });
  }

  /** The manual's safe stop: drain (new requests get 503, in-flight ones finish), then SIGTERM, then SIGKILL. */
  stop(options: { timeoutMs?: number | undefined; force?: boolean | undefined; reason?: StopReason } = {}): Promise<StopResult> {
    this.stopping ??= this.doStop(options).finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async doStop({
    timeoutMs,
    force = false,
    reason = 'requested',
  }: {
    timeoutMs?: number | undefined;
    force?: boolean | undefined;
    reason?: StopReason;
  }): Promise<StopResult> {
    const t0 = performance.now();
    const was = this.state;
    const child = this.child;
    const activeLearners = child?.stats?.activeLearners ?? 0;
    const inFlight = child?.stats?.inFlight ?? 0;
    const result = (drained: boolean, killed: boolean): StopResult => ({
      was,
      activeLearners,
      inFlight,
      drained,
      killed,
      ms: Math.round(performance.now() - t0),
    });
    if (was === 'stopped') return result(true, false);
    if (was === 'backoff' || was === 'fatal' || !child) {
      this.transition('stop', reason);
      return result(true, false);
    }
    const drainMs = timeoutMs ?? this.config.drain.timeoutMs;
    this.options.log.info(
      { event: 'stop_requested', activeLearners, inFlight, drainMs, force, reason },
      `stopping: ${activeLearners} active learners, ${inFlight} requests in flight`,
    );
    this.pendingReason = reason;
    this.transition('stop', reason);
    let drained = false;
    if (!force && was === 'running') {
      await child.send({ type: 'drain', timeoutMs: drainMs, handover: false }).catch(() => undefined);
      drained = await child.exitWithin(drainMs + 2_000);
    }
    let killed = false;
    if (child.isAlive) {
      child.signalGroup('SIGTERM');
      if (!(await child.exitWithin(this.config.drain.killTimeoutMs))) {
        killed = true;
        child.signalGroup('SIGKILL');
        await child.exited;
      }
    }
    await child.reapGroup();
    return result(drained, killed);
  }

  /** Kills the child at once (emergency): no drain. */
  async kill(): Promise<number | null> {
    const child = this.child;
    if (this.state === 'backoff' || this.state === 'fatal') this.transition('stop', 'emergency');
    if (!child) return null;
    this.pendingReason = 'emergency';
    if (this.state === 'starting' || this.state === 'running') this.transition('stop', 'emergency');
    child.signalGroup('SIGKILL');
    await child.exited;
    await child.reapGroup();
    return child.pid;
  }

  /**
   * Zero-downtime handover: a new child (with `config`) starts beside the old one; once it is
   * ready and answers the probe, new connections go to it and the old one drains.
   */
  async reload(config: Config): Promise<{ oldPid: number | null; newPid: number | null }> {
    const old = this.child;
    if (this.state !== 'running' || !old) {
      this.config = config;
      return { oldPid: null, newPid: null };
    }
    const { log, listener } = this.options;
    const fresh = new ChildHandle(this.options.command(config), log, this.options.writeRaw);
    log.info({ event: 'reload_start', oldPid: old.pid, newPid: fresh.pid }, 'reload: starting a new server beside the old one');
    const signal = AbortSignal.timeout(config.restart.readyTimeoutMs);
    try {
      await fresh.send({ type: 'listen', url: this.options.url });
      await fresh.waitReady(signal);
      listener.setMode({ kind: 'forward', send: (socket) => fresh.send({ type: 'connection' }, socket) });
      const probe = await probeMcp(this.options.url, config.probe.timeoutMs, this.options.probeToken);
      if (!probe.ok) throw new Error(`the new server failed its MCP probe: ${probe.error ?? ''}`);
    } catch (err) {
      listener.setMode({ kind: 'forward', send: (socket) => old.send({ type: 'connection' }, socket) });
      fresh.signalGroup('SIGKILL');
      await fresh.exited;
      throw new AppError('E_CHILD_STATE', `Reload refused, the old server keeps serving: ${(err as Error).message}`, {
        hint: 'Check the config and the log (the new server’s last lines are there).',
        cause: err,
      });
    }
    this.config = config;
    this.window = new RestartWindow(config.restart.windowMs, config.restart.maxRestarts);
    this.child = fresh;
    fresh.on('stats', (s) => this.emit('stats', s));
    writeFileSync(this.options.paths.childPidFile, `${fresh.pid}\n`, { mode: 0o600 });
    void fresh.exited.then((exit) => this.onExit(fresh, exit));
    await old.send({ type: 'drain', timeoutMs: config.drain.timeoutMs, handover: true }).catch(() => old.signalGroup('SIGTERM'));
    void old.exitWithin(config.drain.timeoutMs + config.drain.killTimeoutMs).then((ok) => {
      if (!ok) old.signalGroup('SIGKILL');
    });
    log.info({ event: 'reload_done', oldPid: old.pid, newPid: fresh.pid }, 'reload: new server serving, old one draining');
    return { oldPid: old.pid, newPid: fresh.pid };
  }
}
