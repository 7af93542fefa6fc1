import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../shared/errors.js';
import type { Config } from '../../shared/schemas/config.js';
import type { ChildStatus, StopResult } from '../../shared/schemas/rpc.js';
import type { ChildHandle } from './child.js';
import { ChildMachine, type StopOptions } from './child-machine.js';
import type { StopReason } from './listener-mode.js';
import { busyError, preemptedError } from './operations.js';

export type { StopOptions, StopReason };
export type { SupervisorOptions } from './child-machine.js';

/**
 * The operators' verbs on the child's lifecycle, one at a time (operations.ts): start, stop,
 * restart, reload, and the emergency kill that pre-empts whatever runs. Each drives the machine
 * (child-machine.ts) through its transitions and waits for the states it expects.
 */
export class Supervisor extends ChildMachine {
  private stopping: Promise<StopResult> | undefined;

  /**
   * Starts the child (also out of `fatal`, unlike systemd's start limit, and out of a backoff
   * wait) and waits until it runs or fails. A start while one is under way joins it.
   */
  async start(): Promise<ChildStatus> {
    const joining = this.ops.name === 'start' || (this.autoRestart !== undefined && this.state === 'starting');
    if (joining) {
      await this.waitState((s) => s !== 'starting');
      return this.status();
    }
    return this.ops.run('start', 'start the server', async (signal) => {
      this.beginStart();
      await this.waitState((s) => s !== 'starting', signal);
      return this.status();
    });
  }

  private beginStart(): void {
    if (this.state !== 'stopped' && this.state !== 'fatal' && this.state !== 'backoff') return;
    this.attempt = 0;
    this.window.reset();
    this.stopReason = null;
    this.autoRestart = undefined;
    this.transition('start');
  }

  /**
   * The manual's safe stop: drain (new requests get 503, in-flight ones finish), then SIGTERM,
   * then SIGKILL. A stop waits for the operation in progress (each is bounded by its timers), but
   * not for a backoff wait, which it ends; a second stop joins the first.
   */
  stop(options: StopOptions = {}, reason: 'requested' | 'daemon-shutdown' = 'requested'): Promise<StopResult> {
    this.stopping ??= this.queueStop(options, reason).finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async queueStop(options: StopOptions, reason: 'requested' | 'daemon-shutdown'): Promise<StopResult> {
    for (;;) {
      // A restore must not be left half-way by an operator's stop (the daemon's own shutdown waits for it).
      const held = this.ops.operation;
      if (reason === 'requested' && held?.name === 'restore') throw busyError('stop the server', held);
      await this.ops.idle();
      if (this.autoRestart && this.state === 'starting') await this.waitState((s) => s !== 'starting');
      if (!this.ops.operation) break;
    }
    return this.ops.run(reason === 'daemon-shutdown' ? 'shutdown' : 'stop', 'stop the server', () => this.drainAndStop(options, reason));
  }

  private async drainAndStop({ timeoutMs, force = false }: StopOptions, reason: StopReason): Promise<StopResult> {
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
    this.stopReason = reason;
    if (was === 'stopped') return result(true, false);
    if (was === 'backoff' || was === 'fatal' || !child) {
      this.transition('stop', reason);
      await this.waitRetired();
      return result(true, false);
    }
    const drainMs = timeoutMs ?? this.config.drain.timeoutMs;
    this.options.log.info(
      { event: 'stop_requested', activeLearners, inFlight, drainMs, force, reason },
      `stopping: ${activeLearners} active learners, ${inFlight} requests in flight`,
    );
    this.drainPlan = { drainMs, force, terminated: false, killed: false };
    this.exitReason = reason;
    this.transition('stop', reason);
    await this.waitState((s) => s === 'stopped');
    await child.reapGroup();
    await this.waitRetired();
    // Its last report (`drained`) may still be on the channel when the exit is seen.
    await Promise.race([child.channelClosed, sleep(500)]);
    const plan = this.drainPlan;
    // Drained: it finished what was in flight by itself, with nothing cut at its deadline.
    return result(!plan.terminated && !plan.killed && was === 'running' && child.drainForced === false, plan.killed);
  }

  /** Old children of a handover end with the stop too: at the same deadline, not their own. */
  private async waitRetired(): Promise<void> {
    const old = [...this.retiring];
    if (old.length === 0) return;
    const { drain } = this.config;
    await Promise.all(
      old.map(async (c) => {
        if (await c.exitWithin(this.drainPlan.force ? 0 : drain.timeoutMs)) return;
        c.signalGroup('SIGTERM');
        if (!(await c.exitWithin(drain.killTimeoutMs))) c.signalGroup('SIGKILL');
        await c.exited;
      }),
    );
  }

  /**
   * A restart, as one operation: a handover when a server runs (`handOver`), else stop then start
   * with new connections waiting in the queue meanwhile (`--force`, a server not running, and
   * `memory-limit`: the daemon's own restart of a server over `restart.maxMemoryMb`, PM2's
   * max_memory_restart, under its own operation name so `status` and a refused verb say so).
   */
  restart(options: StopOptions = {}, reason: 'restart' | 'memory-limit' = 'restart'): Promise<{ stop: StopResult; child: ChildStatus }> {
    if (this.autoRestart) return Promise.reject(busyError('restart the server', this.autoRestart));
    const name = reason === 'restart' ? 'restart' : 'memory-restart';
    return this.ops.run(name, 'restart the server', async (signal) => {
      if (reason === 'restart' && options.force !== true && this.state === 'running' && this.child) return this.handOver(options, signal);
      const stop = await this.drainAndStop(options, reason);
      signal.throwIfAborted();
      this.beginStart();
      await this.waitState((s) => s !== 'starting', signal);
      return { stop, child: this.status() };
    });
  }

  /**
   * A restore of the learning database (DESIGN.md, Data), as one operation: drain and stop the
   * server, run `swap` (synchronous: the files change in one turn of the event loop, with no server
   * process alive), then start it again and wait until it runs or fails. New connections wait in the
   * queue meanwhile, as in a restart. A `swap` that throws changes nothing: the server is started
   * again on the database it had. An emergency stop during the restore pre-empts the start.
   */
  restore<T>(swap: () => T): Promise<{ swapped: T; stop: StopResult; child: ChildStatus; downMs: number; preempted: boolean }> {
    // A backoff wait is ended by the restore's stop, as by `stop` (a crash loop over a damaged database is what a restore is for).
    if (this.autoRestart && this.state !== 'backoff') return Promise.reject(busyError('restore a backup', this.autoRestart));
    return this.ops.run('restore', 'restore a backup', async (signal) => {
      const t0 = performance.now();
      const stop = await this.drainAndStop({}, 'restore');
      const result = (
        swapped: T,
        preempted: boolean,
      ): { swapped: T; stop: StopResult; child: ChildStatus; downMs: number; preempted: boolean } => ({
        swapped,
        stop,
        child: this.status(),
        downMs: Math.round(performance.now() - t0),
        preempted,
      });
      signal.throwIfAborted();
      let swapped: T;
      try {
        swapped = swap();
      } catch (err) {
        this.beginStart();
        await this.waitState((s) => s !== 'starting', signal).catch(() => undefined);
        throw err;
      }
      if (signal.aborted) return result(swapped, true);
      this.beginStart();
      try {
        await this.waitState((s) => s !== 'starting', signal);
      } catch {
        return result(swapped, true);
      }
      return result(swapped, false);
    });
  }

  /** Kills the child at once (emergency): pre-empts any operation, no drain. Resolves once every server process is gone. */
  async kill(): Promise<number | null> {
    this.ops.preempt();
    this.stopping = undefined;
    return this.ops.run('emergency-stop', 'stop the server in an emergency', async () => {
      const victims = [this.child, this.next, ...this.retiring].filter((c): c is ChildHandle => c !== undefined);
      const servingPid = this.child?.pid ?? null;
      this.stopReason = 'emergency';
      this.autoRestart = undefined;
      for (const c of victims) c.signalGroup('SIGKILL');
      switch (this.state) {
        case 'starting':
        case 'running':
        case 'reloading':
          this.exitReason = 'emergency';
          this.drainPlan = { drainMs: 0, force: true, terminated: false, killed: true };
          this.transition('stop', 'emergency');
          break;
        case 'backoff':
        case 'fatal':
          this.transition('stop', 'emergency');
          break;
        case 'draining':
          this.exitReason = 'emergency';
          this.drainPlan.killed = true;
          this.applyListenerMode();
          break;
        case 'stopped':
          this.applyListenerMode();
          break;
      }
      await Promise.all(victims.map((c) => c.exited));
      await this.waitState((s) => s === 'stopped');
      await Promise.all(victims.map((c) => c.reapGroup()));
      return servingPid;
    });
  }

  /**
   * The operator's restart of a serving child, done as a handover: a fresh process starts beside
   * the old one and takes new connections once it answers its probe; the old one drains (its open
   * connections' requests answered with `Connection: close`, idle ones closed) and exits. Learners
   * never wait for a process to start, and nobody gets a 503 (issue 11). The answer comes once the
   * old one has gone, with its drain's figures. `--force` keeps stop-then-start; so does the
   * memory-limit restart, which must not run two large processes at once.
   */
  private async handOver(options: StopOptions, signal: AbortSignal): Promise<{ stop: StopResult; child: ChildStatus }> {
    const t0 = performance.now();
    const old = this.child;
    if (!old) throw new AppError('E_CHILD_STATE', 'No server runs to restart.', { hint: 'Start it with `mcp-starterctl start`.' });
    const activeLearners = old.stats?.activeLearners ?? 0;
    const inFlight = old.stats?.inFlight ?? 0;
    this.reloadConfig = this.config;
    this.reloadError = undefined;
    this.handover = { kind: 'restart', drainMs: options.timeoutMs };
    try {
      this.transition('reload', 'restart');
      const fresh = this.next;
      await this.waitState((s) => s !== 'reloading' && s !== 'starting', signal).catch((err: unknown) => {
        throw err instanceof AppError ? err : preemptedError('restart');
      });
      if (this.state === 'running' && fresh && this.child === fresh) {
        const { drain } = this.config;
        const drainedInTime = await old.exitWithin((options.timeoutMs ?? drain.timeoutMs) + drain.killTimeoutMs + 1_000);
        await Promise.race([old.channelClosed, sleep(500)]);
        const stop: StopResult = {
          was: 'running',
          activeLearners,
          inFlight,
          drained: drainedInTime && old.drainForced === false,
          killed: old.proc.signalCode === 'SIGKILL',
          ms: Math.round(performance.now() - t0),
        };
        return { stop, child: this.status() };
      }
      if (fresh) await fresh.exited;
      const why = this.reloadError ?? `the server went to ${this.state} during the handover`;
      throw new AppError('E_CHILD_STATE', `Restart failed, the old server keeps serving: ${why}.`, {
        hint: 'See the log for the new server’s last lines (`mcp-starterctl status` shows them when it crashed); `mcp-starterctl restart --force` stops the old one first.',
      });
    } finally {
      this.handover = { kind: 'reload', drainMs: undefined };
    }
  }

  /**
   * Zero-downtime handover: a new child (with `config`) starts beside the old one; once it is
   * ready and answers the probe, new connections go to it and the old one drains. A failed new
   * child changes nothing: the old one keeps serving, and the error says why.
   */
  reload(config: Config): Promise<{ oldPid: number | null; newPid: number | null }> {
    if (this.autoRestart) return Promise.reject(busyError('reload', this.autoRestart));
    return this.ops.run('reload', 'reload', async (signal) => {
      const old = this.child;
      if (this.state !== 'running' || !old) {
        // Nothing serves: the new config applies at the next start.
        this.config = config;
        return { oldPid: null, newPid: null };
      }
      this.reloadConfig = config;
      this.reloadError = undefined;
      this.transition('reload');
      const fresh = this.next;
      // The old child dying mid-handover leaves the new one starting: the reload ends when it runs or fails.
      await this.waitState((s) => s !== 'reloading' && s !== 'starting', signal).catch((err: unknown) => {
        throw err instanceof AppError ? err : preemptedError('reload');
      });
      if (this.state === 'running' && fresh && this.child === fresh) return { oldPid: old.pid, newPid: fresh.pid };
      if (fresh) await fresh.exited;
      const why = this.reloadError ?? `the server went to ${this.state} during the handover`;
      throw new AppError('E_CHILD_STATE', `Reload refused, the old server keeps serving: ${why}.`, {
        hint: 'Check the config (`mcp-starterctl config validate`) and the log, where the new server’s last lines are.',
      });
    });
  }
}
