import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { LineSplitter } from '../shared/lines.js';
import type { TestContext } from 'node:test';
import type { ChildState, StatusResult } from '../shared/schemas/rpc.js';
import { endProcess, LineStream, ROOT, WAIT_MS } from './helpers.js';

export const DAEMON_MAIN = join(ROOT, 'daemon', 'main.ts');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** Short timers so a restart, a crash loop or a hung child shows within a second or two. */
export const FAST_ENV: NodeJS.ProcessEnv = {
  MCP_STARTER_RESTART_BACKOFF_INITIAL_MS: '50',
  MCP_STARTER_RESTART_BACKOFF_MAX_MS: '500',
  MCP_STARTER_RESTART_MAX_RESTARTS: '3',
  MCP_STARTER_RESTART_WINDOW_MS: '30000',
  MCP_STARTER_RESTART_READY_TIMEOUT_MS: '15000',
  MCP_STARTER_PROBE_INTERVAL_MS: '300',
  MCP_STARTER_PROBE_TIMEOUT_MS: '1000',
  MCP_STARTER_PROBE_FAILURES_BEFORE_RESTART: '2',
  MCP_STARTER_DRAIN_KILL_TIMEOUT_MS: '1000',
  MCP_STARTER_STATS_INTERVAL_MS: '200',
};

/** One JSON-RPC call on the control socket (a new connection per call, as ctl does). */
export function rpc<T = unknown>(
  socket: string,
  method: string,
  params?: unknown,
  timeoutMs = WAIT_MS,
): Promise<{ result?: T; error?: { code: number; message: string; data?: { code: string; hint?: string } } }> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      buf += chunk;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      s.end();
      resolve(JSON.parse(buf.slice(0, i)) as { result?: T });
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) })}\n`);
  });
}

export async function status(socket: string): Promise<StatusResult> {
  const r = await rpc<StatusResult>(socket, 'status');
  if (!r.result) throw new Error(`status failed: ${JSON.stringify(r.error)}`);
  return r.result;
}

/**
 * Watches the daemon through its own `subscribe` stream (state and stats): `until(pred)` checks
 * `status` now and again after every notification, so tests await events instead of polling.
 * Before the daemon's socket exists it waits for the socket file to appear (fs.watch).
 */
export class DaemonWatch {
  private sock: Socket | undefined;
  private waiters = new Set<() => void>();
  private closed = false;
  readonly notifications: Array<{ method: string; params: Record<string, unknown> }> = [];

  constructor(readonly socket: string) {}

  private poke(): void {
    for (const w of [...this.waiters]) w();
  }

  private async connect(deadline: number): Promise<void> {
    while (!this.closed && this.sock === undefined) {
      try {
        this.sock = await this.subscribe();
        return;
      } catch {
        // Not up yet: wait for the socket file to (re)appear, or a short guard for a stale one.
        await socketAppears(this.socket, Math.max(1, Math.min(250, deadline - performance.now())));
        if (performance.now() > deadline) return;
      }
    }
  }

  private subscribe(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(this.socket);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => undefined);
        s.on('close', () => {
          if (this.sock === s) this.sock = undefined;
          this.poke();
        });
        const lines = new LineSplitter({
          maxLineLength: 16 * 1024 * 1024,
          overflow: 'split',
          onLine: (line) => {
            const msg = JSON.parse(line) as { method?: string; params?: Record<string, unknown> };
            if (msg.method !== undefined) this.notifications.push({ method: msg.method, params: msg.params ?? {} });
            this.poke();
          },
        });
        s.setEncoding('utf8');
        s.on('data', (c: string) => lines.push(c));
        s.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { topics: ['state', 'stats'] } })}\n`);
        resolve(s);
      });
    });
  }

  /** Resolves with the first status for which `pred` holds; rejects after `ms` with the last status seen. */
  async until(pred: (s: StatusResult) => boolean, ms = WAIT_MS): Promise<StatusResult> {
    const deadline = performance.now() + ms;
    let last: StatusResult | undefined;
    while (performance.now() < deadline) {
      if (this.sock === undefined) await this.connect(deadline);
      const changed = new Promise<void>((resolve) => {
        const w = (): void => {
          this.waiters.delete(w);
          resolve();
        };
        this.waiters.add(w);
        setTimeout(w, Math.max(0, deadline - performance.now())).unref();
      });
      try {
        last = await status(this.socket);
        if (pred(last)) return last;
      } catch {
        // the daemon is between sockets (starting or gone): the subscription's close wakes us
      }
      await changed;
    }
    throw new Error(`status never matched within ${ms} ms; last: ${JSON.stringify(last)}`);
  }

  close(): void {
    this.closed = true;
    this.sock?.destroy();
  }
}

/** Resolves when `path` exists (fs.watch on its folder), or after `ms`. */
function socketAppears(path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (existsSync(path)) return resolve();
    let watcher: FSWatcher | undefined;
    const done = (): void => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(dirname(path), () => {
        if (existsSync(path)) done();
      });
    } catch {
      // the folder is not there yet: the timer decides
    }
  });
}

/** Waits until `pred` holds for the daemon's status, woken by its subscription stream. */
export async function waitForStatus(socket: string, pred: (s: StatusResult) => boolean, ms = WAIT_MS): Promise<StatusResult> {
  const watch = new DaemonWatch(socket);
  try {
    return await watch.until(pred, ms);
  } finally {
    watch.close();
  }
}

export const inState =
  (state: ChildState) =>
  (s: StatusResult): boolean =>
    s.child.state === state;

export interface RunningDaemon {
  proc: ChildProcess;
  socket: string;
  stderr: LineStream;
  dataDir: string;
}

/** Starts mcp-starterd from source on port 0; ended (SIGKILL, then its child group) at test end. */
export function spawnDaemon(t: TestContext, dataDir: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): RunningDaemon {
  const proc = spawn(process.execPath, ['--import', 'tsx', DAEMON_MAIN, '--data-dir', dataDir, '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...FAST_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const socket = join(dataDir, 'mcp-starterd.sock');
  t.after(async () => {
    let childPid: number | undefined;
    try {
      childPid = (await status(socket)).child.pid ?? undefined;
    } catch {
      // daemon already gone
    }
    await endProcess(proc, 'SIGTERM');
    if (childPid !== undefined) {
      try {
        process.kill(-childPid, 'SIGKILL');
      } catch {
        // the group is gone, as it should be
      }
    }
  });
  return { proc, socket, stderr: new LineStream(proc.stderr), dataDir };
}

export async function startDaemon(t: TestContext, dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
  const d = spawnDaemon(t, dataDir, env);
  const exited = once(d.proc, 'exit').then(([code]) => {
    throw new Error(`daemon exited with ${String(code)}:\n${d.stderr.all.join('\n')}`);
  });
  await Promise.race([waitForStatus(d.socket, inState('running')), exited]);
  return d;
}

/** Whether a process runs (a zombie waiting for its parent to reap it does not count). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false; // ESRCH: gone
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false; // vanished between the two checks
  }
}

/**
 * Subscribes to `topic` on a connection of its own; `found` resolves with the first notification
 * `pred` accepts (bounded by WAIT_MS). Resolves once the subscription is acknowledged.
 */
export async function subscription(
  socket: string,
  topic: 'metrics' | 'alerts' | 'stats' | 'logs' | 'state' | 'jobs',
  pred: (params: unknown) => boolean,
): Promise<{ found: Promise<unknown> }> {
  const s = connect(socket);
  let acked: () => void = () => undefined;
  const ack = new Promise<void>((r) => (acked = r));
  const found = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching ${topic} notification within ${WAIT_MS} ms`)), WAIT_MS);
    let buf = '';
    s.setEncoding('utf8');
    s.on('error', reject);
    s.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, i)) as { id?: number; method?: string; params?: unknown };
        buf = buf.slice(i + 1);
        if (msg.id === 1) acked();
        if (msg.method === topic && pred(msg.params)) {
          clearTimeout(timer);
          resolve(msg.params);
        }
      }
    });
    s.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { topics: [topic] } })}\n`);
  }).finally(() => s.destroy());
  found.catch(() => undefined);
  await ack;
  return { found };
}
