import { EventEmitter } from 'node:events';
import { unlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import type { DataPaths } from '../../shared/paths.js';
import type { Config } from '../../shared/schemas/config.js';
import type { StatsMessage } from '../../shared/schemas/ipc.js';
import type { ChildStatus, LastExit, Operation, StateNotification } from '../../shared/schemas/rpc.js';
import type { PortListener } from '../listener.js';
import type { ProbePort } from '../probe-port.js';
import { LivenessProbe, probeMcp } from '../prober.js';
import { backoffDelayMs, RestartWindow } from './backoff.js';
import { ChildHandle, type ChildCommand, type ChildExit } from './child.js';
import { heldMode, isRestart, type StopReason } from './listener-mode.js';
import { nextState, type ChildEvent, type ChildState } from './machine.js';
import { OperationGate } from './operations.js';

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
  /** The daemon's private way to the child it probes. */
  probePort: ProbePort;
}

export interface StopOptions {
  timeoutMs?: number | undefined;
  force?: boolean | undefined;
}

/** How the current drain ended up: filled by the draining state's timers. */
interface DrainPlan {
  drainMs: number;
  force: boolean;
  terminated: boolean;
  killed: boolean;
}

/** A probe of the serving child (the periodic one, or the check after a stalled hand-over). */
export interface ProbeNotice {
  kind: 'liveness' | 'handoff';
  ok: boolean;
  ms: number;
  error?: string;
}

/**
 * The child's lifecycle as a state machine (machine.ts) driven by the child's events: spawning,
 * bringing up, probing, draining, handing over, restarting after a crash. Only `transition()`
 * assigns the state and changes which child serves; every state owns its timers and its async
 * work (`stateSignal` aborts when the state is left). The operators' verbs are in supervisor.ts.
 */
export class ChildMachine extends EventEmitter<{ state: [StateNotification]; stats: [StatsMessage]; probe: [ProbeNotice] }> {
  state: ChildState = 'stopped';
  /** The child that serves (in `starting`: the one being brought up). */
  child: ChildHandle | undefined;
  /** In `reloading`: the new child starting beside `child`. */
  protected next: ChildHandle | undefined;
  /** Old children still draining after a handover. */
  protected readonly retiring = new Set<ChildHandle>();
  restarts = 0;
  lastExit: LastExit = null;
  lastStderr: string[] = [];
  protected readonly ops = new OperationGate();
  /** A restart the daemon decided (crash, failed probes): an operation without a caller. */
  protected autoRestart: NonNullable<Operation> | undefined;
  protected config: Config;
  protected reloadConfig: Config | undefined;
  protected reloadError: string | undefined;
  /** What the handover in progress is, and how long its old child may drain: a reload, or a restart done as one. */
  protected handover: { kind: 'reload' | 'restart'; drainMs: number | undefined } = { kind: 'reload', drainMs: undefined };
  protected attempt = 0;
  protected window: RestartWindow;
  /** Why the serving child's next exit happens; unset means a crash. */
  protected exitReason: StopReason | undefined;
  /** Why the child is (being) stopped; drives the listener's answer. */
  protected stopReason: StopReason | null = null;
  protected drainPlan: DrainPlan = { drainMs: 0, force: false, terminated: false, killed: false };
  private timers = new Set<NodeJS.Timeout>();
  private stateController = new AbortController();
  private nextStartAtMs: number | undefined;
  private probeFailures = 0;
  private readonly liveness: LivenessProbe;

  constructor(protected readonly options: SupervisorOptions) {
    super();
    this.config = options.config;
    this.window = new RestartWindow(this.config.restart.windowMs, this.config.restart.maxRestarts);
    this.liveness = new LivenessProbe(options.url, options.probeToken, options.probePort.path);
  }

  get currentConfig(): Config {
    return this.config;
  }

  /** The operation in progress: an operator's, or a restart the daemon decided. */
  get operation(): Operation {
    return this.ops.operation ?? this.autoRestart ?? null;
  }

  /** Every server process alive: the serving one, a reload's new one, old ones still draining. */
  get pids(): number[] {
    return [this.child, this.next, ...this.retiring].flatMap((c) => (c?.isAlive ? [c.pid] : []));
  }

  protected get stateSignal(): AbortSignal {
    return this.stateController.signal;
  }

  // ---- the machine -------------------------------------------------------------------------

  protected transition(event: ChildEvent, reason: string | null = null): void {
    const from = this.state;
    const to = nextState(from, event);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stateController.abort();
    this.stateController = new AbortController();
    this.nextStartAtMs = undefined;
    this.onEdge(from, to, event);
    this.state = to;
    const note: StateNotification = { state: to, from, event, pid: this.child?.pid ?? null, reason, at: new Date().toISOString() };
    this.options.log.info({ event: 'child_state', state: to, from, trigger: event, pid: note.pid, reason }, `child ${from} → ${to}`);
    this.enter(to);
    this.applyListenerMode();
    this.emit('state', note);
  }

  /** The only place (with spawn in `starting`/`reloading`) where the serving child changes. */
  private onEdge(from: ChildState, to: ChildState, event: ChildEvent): void {
    if (from !== 'reloading') return;
    const fresh = this.next;
    this.next = undefined;
    if (event === 'ready' && fresh) {
      const old = this.child;
      this.child = fresh;
      if (this.reloadConfig) this.config = this.reloadConfig;
      this.window = new RestartWindow(this.config.restart.windowMs, this.config.restart.maxRestarts);
      this.writePidFile(fresh);
      if (old) this.retire(old);
    } else if (event === 'exit' && fresh) {
      // The old child died mid-handover: the new one becomes the child being started.
      this.child = fresh;
      this.writePidFile(fresh);
    } else if (fresh) {
      // abort, crashloop, stop: the new child never serves.
      fresh.signalGroup('SIGKILL');
    }
    this.reloadConfig = undefined;
  }

  private timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private enter(state: ChildState): void {
    switch (state) {
      case 'starting':
        this.enterStarting();
        return;
      case 'running':
        this.autoRestart = undefined;
        this.probeFailures = 0;
        this.timer(this.config.restart.stableAfterMs, () => (this.attempt = 0));
        this.scheduleProbe();
        return;
      case 'reloading':
        this.enterReloading();
        return;
      case 'backoff': {
        this.autoRestart ??= { name: 'crash-restart', since: new Date().toISOString() };
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
        this.autoRestart = undefined;
        this.options.log.error(
          { event: 'alert', kind: 'crash_loop', restarts: this.restarts, lastExit: this.lastExit, lastStderr: this.lastStderr },
          'crash loop: the server is left stopped until `mcp-starterctl start`',
        );
        return;
      case 'draining':
        this.enterDraining();
        return;
      case 'stopped':
        this.autoRestart = undefined;
        return;
    }
  }

  private enterStarting(): void {
    // Coming from `reloading` the child already exists: it is the new one, still starting.
    const child = this.child ?? this.spawn();
    if (!child) {
      this.exitReason = 'spawn-failed';
      setImmediate(() => {
        if (this.state === 'starting' && !this.child) this.onExit(undefined, { code: null, signal: null });
      });
      return;
    }
    this.child = child;
    const readyMs = this.config.restart.readyTimeoutMs;
    this.timer(readyMs, () => this.giveUp(child, `not ready within ${readyMs} ms`));
    this.bringUp(child, this.stateSignal).then(
      () => {
        if (this.child === child && this.state === 'starting') this.transition('ready');
      },
      (err: unknown) => {
        if (this.child === child && this.state === 'starting') this.giveUp(child, (err as Error).message);
      },
    );
  }

  /** A starting child that cannot come up is killed; its exit takes the crash path (backoff). */
  private giveUp(child: ChildHandle, why: string): void {
    if (!child.isAlive) return; // it exited on its own: the exit event says why
    this.options.log.error({ event: 'child_not_ready', pid: child.pid, error: why }, 'server did not become ready; killing it');
    this.exitReason = 'ready-timeout';
    child.signalGroup('SIGKILL');
  }

  private enterReloading(): void {
    const config = this.reloadConfig ?? this.config;
    const fresh = this.spawn(config, false);
    if (!fresh) {
      this.reloadError = 'the new server process could not be started';
      setImmediate(() => this.state === 'reloading' && this.transition('abort', 'spawn-failed'));
      return;
    }
    this.next = fresh;
    this.options.log.info(
      { event: `${this.handover.kind}_start`, oldPid: this.child?.pid, newPid: fresh.pid },
      `${this.handover.kind}: starting a new server beside the old one`,
    );
    const readyMs = config.restart.readyTimeoutMs;
    const fail = (why: string): void => {
      if (this.state !== 'reloading' || this.next !== fresh) return;
      this.reloadError = why;
      this.transition('abort', 'reload-failed');
    };
    this.timer(readyMs, () => fail(`the new server was not ready within ${readyMs} ms`));
    this.bringUp(fresh, this.stateSignal).then(
      () => {
        if (this.state === 'reloading' && this.next === fresh) this.transition('ready', 'handover');
      },
      (err: unknown) => fail((err as Error).message),
    );
  }

  private enterDraining(): void {
    const child = this.child;
    const plan = this.drainPlan;
    if (!child) {
      // Stopped in the instant between a failed spawn and its exit event: nothing to drain.
      setImmediate(() => this.state === 'draining' && !this.child && this.transition('exit', this.stopReason));
      return;
    }
    if (this.stopReason === 'emergency') {
      plan.killed = true;
      child.signalGroup('SIGKILL');
      return;
    }
    const terminate = (): void => {
      plan.terminated = true;
      child.signalGroup('SIGTERM');
      this.timer(this.config.drain.killTimeoutMs, () => {
        plan.killed = true;
        child.signalGroup('SIGKILL');
      });
    };
    if (plan.force || !child.ready) {
      terminate();
      return;
    }
    // A restart keeps serving requests on open connections (each answered with `Connection:
    // close`) while new ones wait in the queue, so learners see no 503.
    child.send({ type: 'drain', timeoutMs: plan.drainMs, handover: isRestart(this.stopReason) }).catch(() => terminate());
    // The child closes what is left at its own deadline; this is the daemon's, a little later.
    this.timer(plan.drainMs + 2_000, terminate);
  }

  private spawn(config = this.config, serving = true): ChildHandle | undefined {
    const { log } = this.options;
    let child: ChildHandle;
    try {
      child = new ChildHandle(this.options.command(config), log, this.options.writeRaw, config.probe.handoffTimeoutMs);
    } catch (err) {
      log.error({ err }, 'could not start the server process');
      return undefined;
    }
    child.on('stats', (s) => {
      if (child === this.child) this.emit('stats', s);
    });
    child.on('stalled', (stall) => void this.onStalled(child, stall));
    if (serving) this.writePidFile(child);
    log.info({ event: 'child_spawn', pid: child.pid }, 'server process started');
    void child.exited.then((exit) => this.onExit(child, exit));
    return child;
  }

  /** The pid file serves `emergency-stop` with the daemon down; failing to write it must not stop a start. */
  private writePidFile(child: ChildHandle): void {
    try {
      writeFileSync(this.options.paths.childPidFile, `${child.pid}\n`, { mode: 0o600 });
    } catch (err) {
      this.options.log.warn(
        { event: 'pid_file', err, file: this.options.paths.childPidFile },
        'could not write the server’s pid file; `emergency-stop` with the daemon down will not find the server',
      );
    }
  }

  private removePidFile(): void {
    try {
      unlinkSync(this.options.paths.childPidFile);
    } catch {
      // already removed, or never written (logged then)
    }
  }

  /** Tells the child where to serve, waits for `ready`, then for a passed MCP probe (on the probe socket, to this child alone). */
  private async bringUp(child: ChildHandle, signal: AbortSignal): Promise<void> {
    const { url, probeToken, probePort } = this.options;
    await child.send({ type: 'listen', url });
    await child.waitReady(signal);
    for (;;) {
      probePort.target = child;
      // A kept client negotiated the current protocol with a server of this build: one
      // list_tutorials call on it is the real MCP request a restart needs (the first start does all three).
      const timeoutMs = this.config.probe.timeoutMs;
      const probe = this.liveness.negotiated
        ? await this.liveness.probe(timeoutMs)
        : await probeMcp(url, timeoutMs, probeToken, probePort.path);
      signal.throwIfAborted();
      if (probe.ok) return;
      this.options.log.debug({ pid: child.pid, error: probe.error }, 'new server not answering its probe yet');
      await sleep(100, undefined, { signal });
    }
  }

  /** Which child gets new connections now: only one that passed its probe. */
  private forwardTarget(): ChildHandle | undefined {
    return this.state === 'running' || this.state === 'reloading' ? this.child : undefined;
  }

  protected applyListenerMode(): void {
    const target = this.forwardTarget();
    if (this.state !== 'starting' && this.state !== 'reloading') this.options.probePort.target = target;
    if (target) this.options.listener.setMode({ kind: 'forward', send: (socket) => target.handOver(socket) });
    else this.options.listener.setMode(heldMode(this.state, this.stopReason));
  }

  private retire(old: ChildHandle): void {
    this.retiring.add(old);
    const { drain } = this.config;
    const { kind, drainMs = drain.timeoutMs } = this.handover;
    this.options.log.info(
      { event: kind === 'reload' ? 'reload_done' : 'restart_handover', oldPid: old.pid, newPid: this.child?.pid },
      `${kind}: new server serving, old one draining`,
    );
    old.send({ type: 'drain', timeoutMs: drainMs, handover: true }).catch(() => old.signalGroup('SIGTERM'));
    void old.exitWithin(drainMs + drain.killTimeoutMs).then((exited) => {
      if (!exited) old.signalGroup('SIGKILL');
    });
  }

  private scheduleProbe(): void {
    this.timer(this.config.probe.intervalMs, () => void this.probe());
  }

  private async probe(): Promise<void> {
    const child = this.child;
    const signal = this.stateSignal;
    if (!child || this.state !== 'running') return;
    const result = await this.liveness.probe(this.config.probe.timeoutMs);
    if (signal.aborted || this.child !== child) return;
    this.emit('probe', { kind: 'liveness', ok: result.ok, ms: result.ms, ...(result.error === undefined ? {} : { error: result.error }) });
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
      this.autoRestart = { name: 'probe-restart', since: new Date().toISOString() };
      this.exitReason = 'probe-failures';
      child.signalGroup('SIGKILL');
      return;
    }
    this.scheduleProbe();
  }

  /**
   * The serving child has not taken a connection for `handoffTimeoutMs`: its event loop is stuck
   * or close to it. One probe decides; a failure restarts it at once rather than after three
   * probe intervals, and the connections it never took are served by the replacement.
   */
  private async onStalled(child: ChildHandle, stall: { oldestMs: number; count: number }): Promise<void> {
    if (this.child !== child || this.state !== 'running' || this.exitReason !== undefined) return;
    const signal = this.stateSignal;
    const result = await this.liveness.probe(Math.min(this.config.probe.timeoutMs, 2_000));
    if (signal.aborted || this.child !== child || this.exitReason !== undefined) return;
    this.emit('probe', { kind: 'handoff', ok: result.ok, ms: result.ms, ...(result.error === undefined ? {} : { error: result.error }) });
    if (result.ok) {
      this.options.log.warn(
        { event: 'health', check: 'handoff', ok: true, ...stall },
        'the server was slow to take connections but answers',
      );
      return;
    }
    this.options.log.error(
      {
        event: 'alert',
        kind: 'unresponsive',
        pid: child.pid,
        waitingConnections: stall.count,
        oldestMs: Math.round(stall.oldestMs),
        error: result.error,
      },
      'the server takes no connections and fails its probe; restarting it',
    );
    this.autoRestart = { name: 'probe-restart', since: new Date().toISOString() };
    this.exitReason = 'hung';
    child.signalGroup('SIGKILL');
  }

  private onExit(child: ChildHandle | undefined, exit: ChildExit): void {
    const { log } = this.options;
    // Connections the dead child never confirmed go to whoever serves next (after the transition below).
    const orphans: Socket[] = child?.takeBack() ?? [];
    try {
      this.handleExit(child, exit);
    } finally {
      if (orphans.length > 0) {
        log.info(
          { event: 'connections_requeued', pid: child?.pid, count: orphans.length },
          'connections the server never took are served by the next one',
        );
        this.options.listener.requeue(orphans);
      }
    }
  }

  private handleExit(child: ChildHandle | undefined, exit: ChildExit): void {
    const { log } = this.options;
    if (child && this.retiring.delete(child)) {
      log.info(
        { event: 'child_exit', pid: child.pid, code: exit.code, signal: exit.signal, reason: 'handover' },
        'previous server exited after the handover',
      );
      return;
    }
    if (child && child === this.next) {
      log.warn(
        {
          event: 'child_exit',
          pid: child.pid,
          code: exit.code,
          signal: exit.signal,
          reason: 'reload-failed',
          lastStderr: child.lastStderr,
        },
        'the reload’s new server exited',
      );
      this.reloadError ??= `the new server exited (${exit.signal ?? `code ${String(exit.code)}`}) before it was ready`;
      if (this.state === 'reloading') this.transition('abort', 'reload-failed');
      return;
    }
    if (child && child !== this.child) {
      log.info(
        { event: 'child_exit', pid: child.pid, code: exit.code, signal: exit.signal, reason: 'superseded' },
        'a server that no longer serves exited',
      );
      return;
    }
    this.child = undefined;
    this.removePidFile();
    const reason: StopReason = this.exitReason ?? 'crash';
    this.exitReason = undefined;
    this.lastExit = { code: exit.code, signal: exit.signal, at: new Date().toISOString(), reason };
    if (child) this.lastStderr = [...child.lastStderr];
    const planned = reason === 'requested' || reason === 'daemon-shutdown' || isRestart(reason);
    log[planned ? 'info' : 'warn'](
      { event: 'child_exit', pid: child?.pid ?? null, code: exit.code, signal: exit.signal, reason, lastStderr: this.lastStderr },
      'server exited',
    );
    switch (this.state) {
      case 'draining':
        this.transition('exit', reason);
        return;
      case 'starting':
      case 'running':
      case 'reloading':
        this.restarts++;
        if (this.window.record(performance.now())) this.transition('crashloop', reason);
        else this.transition('exit', reason);
        return;
      case 'backoff':
      case 'fatal':
      case 'stopped':
        // No child belongs to these states: nothing to do.
        return;
    }
  }

  /** Resolves when `pred` holds for the state (checked now and after every transition), or rejects when `signal` aborts. */
  protected waitState(pred: (s: ChildState) => boolean, signal?: AbortSignal): Promise<void> {
    if (pred(this.state)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.off('state', onState);
        signal?.removeEventListener('abort', onAbort);
      };
      const onState = (): void => {
        if (!pred(this.state)) return;
        done();
        resolve();
      };
      const onAbort = (): void => {
        done();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.on('state', onState);
    });
  }

  // ---- status ------------------------------------------------------------------------------

  status(): ChildStatus {
    const hint =
      this.state === 'fatal'
        ? `The server crashed ${this.config.restart.maxRestarts + 1} times within ${Math.round(this.config.restart.windowMs / 1000)} s. Read its last lines above and the log, fix the cause, then \`mcp-starterctl start\`.`
        : this.state === 'backoff'
          ? 'The server crashed and is restarted automatically; `mcp-starterctl status` again in a moment.'
          : this.state === 'stopped'
            ? this.stopReason === 'emergency'
              ? 'Stopped by an emergency stop. Start it again with `mcp-starterctl start` once the problem is handled.'
              : 'Start it with `mcp-starterctl start`.'
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
      otherPids: [this.next, ...this.retiring].flatMap((c) => (c?.isAlive ? [c.pid] : [])),
    };
  }
}
