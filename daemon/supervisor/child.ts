import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import { LineSplitter } from '../../shared/lines.js';
import { AppError } from '../../shared/errors.js';
import { ChildMessage, type OptimizedMessage, type ParentMessage, type ReadyMessage, type StatsMessage } from '../../shared/schemas/ipc.js';

/** How to start the server child: injectable so tests can run misbehaving fixtures. */
export interface ChildCommand {
  /** The module to fork. */
  modulePath: string;
  args: string[];
  execArgv: string[];
  env: NodeJS.ProcessEnv;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_KEEP = 20;
/** A captured line longer than this is logged in pieces rather than buffered whole. */
const MAX_CAPTURED_LINE = 64 * 1024;

/**
 * One forked mcp-starter-server: its own process group (so a stop reaches every descendant),
 * an IPC channel, stdout/stderr captured line by line into the daemon's log.
 */
export class ChildHandle extends EventEmitter<{
  stats: [StatsMessage];
  ready: [ReadyMessage];
  stalled: [{ oldestMs: number; count: number }];
}> {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly startedAtMs = performance.now();
  readonly startedAt = new Date().toISOString();
  ready: ReadyMessage | undefined;
  stats: StatsMessage | undefined;
  /** Set by the child's `drained` report: whether its drain had to cut requests or streams. */
  drainForced: boolean | undefined;
  /** Last non-JSON stderr lines: what a crashing program printed. */
  readonly lastStderr: string[] = [];
  readonly exited: Promise<ChildExit>;
  /** The IPC channel closed: every message the child sent has been read (`exit` can come first). */
  readonly channelClosed: Promise<void>;
  private readyWaiters: Array<(msg: ReadyMessage) => void> = [];
  /** Connections handed over and not yet confirmed: the daemon's copies, by id, with when they were sent. */
  private readonly unconfirmed = new Map<number, { socket: Socket; sentAtMs: number }>();
  private nextConnectionId = 0;
  private nextOptimizeId = 0;
  /** `optimize` requests waiting for their answer, by id. */
  private readonly optimizeWaiters = new Map<number, (msg: OptimizedMessage) => void>();
  private stallTimer: NodeJS.Timeout | undefined;
  /** When the child last confirmed a connection: under a burst it takes them one by one, and that is progress. */
  private lastConfirmedAtMs = 0;

  constructor(
    command: ChildCommand,
    private readonly log: Logger,
    writeRaw: (line: string) => void,
    /** A connection not confirmed within this long emits `stalled`. */
    private readonly stallAfterMs = 5_000,
  ) {
    super();
    this.proc = fork(command.modulePath, command.args, {
      execArgv: command.execArgv,
      env: command.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    if (this.proc.pid === undefined) throw new Error(`could not start ${command.modulePath}`);
    this.pid = this.proc.pid;
    this.exited = once(this.proc, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    this.channelClosed = this.proc.connected ? once(this.proc, 'disconnect').then(() => undefined) : Promise.resolve();
    this.proc.on('error', (err) => log.error({ err, pid: this.pid }, 'child process error'));
    this.proc.on('message', (raw: unknown) => this.onMessage(raw));
    this.capture(this.proc.stdout, 'stdout', writeRaw);
    this.capture(this.proc.stderr, 'stderr', writeRaw);
  }

  private capture(stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr', writeRaw: (line: string) => void): void {
    if (!stream) return;
    const lines = new LineSplitter({ maxLineLength: MAX_CAPTURED_LINE, overflow: 'split', onLine: (l) => this.line(l, name, writeRaw) });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => lines.push(chunk));
    stream.on('end', () => lines.end());
  }

  private line(line: string, stream: 'stdout' | 'stderr', writeRaw: (line: string) => void): void {
    if (line.trim() === '') return;
    // The child logs JSON lines (pino): they go into the daemon's file as they are.
    if (line.startsWith('{') && line.endsWith('}')) {
      writeRaw(line);
      return;
    }
    this.lastStderr.push(line.slice(0, 1000));
    if (this.lastStderr.length > STDERR_KEEP) this.lastStderr.shift();
    this.log.info({ event: 'child_output', stream, pid: this.pid, line }, 'child output');
  }

  private onMessage(raw: unknown): void {
    const parsed = ChildMessage.safeParse(raw);
    if (!parsed.success) {
      this.log.warn({ pid: this.pid }, 'ignored a malformed IPC message from the child');
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'ready':
        this.ready = msg;
        for (const w of this.readyWaiters.splice(0)) w(msg);
        this.emit('ready', msg);
        return;
      case 'accepted': {
        const entry = this.unconfirmed.get(msg.id);
        if (!entry) return;
        this.unconfirmed.delete(msg.id);
        this.lastConfirmedAtMs = performance.now();
        // Closes only the daemon's descriptor; the child's copy keeps the connection open.
        entry.socket.destroy();
        return;
      }
      case 'stats':
        this.stats = msg;
        this.emit('stats', msg);
        return;
      case 'drained':
        this.drainForced = msg.forced;
        return;
      case 'draining':
        this.log.info({ event: 'child_draining', pid: this.pid, ...msg }, 'child draining');
        return;
      case 'optimized':
        this.optimizeWaiters.get(msg.id)?.(msg);
        return;
    }
  }

  get isAlive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves when the child reports ready; rejects if it exits first or the signal aborts. */
  waitReady(signal: AbortSignal): Promise<ReadyMessage> {
    if (this.ready) return Promise.resolve(this.ready);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      void this.exited.then(() => reject(new Error('the server exited before it was ready')));
      this.readyWaiters.push((msg) => {
        signal.removeEventListener('abort', onAbort);
        resolve(msg);
      });
    });
  }

  /**
   * Asks the child to free what it can (`ctl optimize`) and resolves with what it did. Rejects
   * (E_TIMEOUT) when it does not answer within `timeoutMs`, or (E_CHILD_STATE) when it exits or
   * its channel closes first.
   */
  optimize(minIdleMs: number, timeoutMs: number): Promise<OptimizedMessage> {
    const id = this.nextOptimizeId++;
    return new Promise<OptimizedMessage>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.optimizeWaiters.delete(id);
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new AppError('E_TIMEOUT', `The server (pid ${this.pid}) did not answer the optimize request within ${timeoutMs} ms.`, {
            hint: 'It may be overloaded: see `mcp-starterctl top`, then try again.',
          }),
        );
      }, timeoutMs);
      this.optimizeWaiters.set(id, (msg) => {
        finish();
        resolve(msg);
      });
      const gone = (): void => {
        if (!this.optimizeWaiters.has(id)) return;
        finish();
        reject(new AppError('E_CHILD_STATE', `The server (pid ${this.pid}) went away before it answered the optimize request.`));
      };
      void this.channelClosed.then(gone);
      this.send({ type: 'optimize', id, minIdleMs }).catch(gone);
    });
  }

  send(msg: ParentMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.proc.connected) {
        reject(new Error('IPC channel closed'));
        return;
      }
      this.proc.send(msg, undefined, {}, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Passes an accepted connection to the child. The daemon keeps its copy until the child
   * confirms (`accepted`): a child that dies first never took it, and `takeBack` returns it.
   * Rejects when the channel is closed or the send fails (the socket is then not the child's).
   */
  handOver(socket: Socket): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.proc.connected) {
        reject(new Error('IPC channel closed'));
        return;
      }
      const id = this.nextConnectionId++;
      this.unconfirmed.set(id, { socket, sentAtMs: performance.now() });
      this.watchStall();
      this.proc.send({ type: 'connection', id } satisfies ParentMessage, socket, { keepOpen: true }, (err) => {
        if (!err) return resolve();
        this.unconfirmed.delete(id);
        reject(err);
      });
    });
  }

  /**
   * One timer while connections wait for confirmation: `stalled` when some wait and the child has
   * confirmed none for `stallAfterMs` — no progress, not the age of the oldest, since a busy child
   * handed a burst takes them one at a time.
   */
  private watchStall(delayMs = this.stallAfterMs): void {
    if (this.stallTimer) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.unconfirmed.size === 0 || !this.isAlive) return;
      const stuckMs = this.noProgressMs();
      if (stuckMs >= this.stallAfterMs) this.emit('stalled', { oldestMs: this.oldestUnconfirmedMs(), count: this.unconfirmed.size });
      this.watchStall(Math.max(1, this.stallAfterMs - (stuckMs % this.stallAfterMs)));
    }, delayMs);
    this.stallTimer.unref();
  }

  /** How long connections have waited with no confirmation from the child at all (0 when none wait). */
  private noProgressMs(nowMs = performance.now()): number {
    const oldest = this.oldestUnconfirmedMs(nowMs);
    return oldest === 0 ? 0 : Math.min(oldest, nowMs - this.lastConfirmedAtMs);
  }

  /** The connections this child was handed and never confirmed (call once it is gone or given up). */
  takeBack(): Socket[] {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const sockets = [...this.unconfirmed.values()].map((e) => e.socket).filter((s) => !s.destroyed);
    this.unconfirmed.clear();
    return sockets;
  }

  /** How long the oldest unconfirmed connection has waited for the child (0 when none): a hang shows here first. */
  oldestUnconfirmedMs(nowMs = performance.now()): number {
    let oldest = 0;
    for (const e of this.unconfirmed.values()) oldest = Math.max(oldest, nowMs - e.sentAtMs);
    return oldest;
  }

  /** Signals the child's whole process group. */
  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch (err) {
      // ESRCH: the group is already gone, which is what we want.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** Whether it exited within `ms`. */
  async exitWithin(ms: number): Promise<boolean> {
    if (!this.isAlive) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const ok = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return ok;
  }

  /** After the leader exits, makes sure no descendant of its group is left behind: SIGTERM, a short wait, SIGKILL. */
  async reapGroup(): Promise<void> {
    if (!this.groupAlive()) return;
    this.log.warn({ event: 'orphans', pgid: this.pid }, 'processes of the server group outlived it; ending them');
    this.signalGroup('SIGTERM');
    for (let i = 0; i < 20 && this.groupAlive(); i++) await new Promise((r) => setTimeout(r, 25));
    if (this.groupAlive()) this.signalGroup('SIGKILL');
  }

  /** Whether any process of the child's group is still alive. */
  groupAlive(): boolean {
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch {
      return false; // ESRCH: no process left in the group
    }
  }
}
