import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Polls `status` until `pred` holds (the daemon pushes no state without a subscription). */
export async function waitForStatus(socket: string, pred: (s: StatusResult) => boolean, ms = WAIT_MS): Promise<StatusResult> {
  const deadline = performance.now() + ms;
  let last: StatusResult | undefined;
  while (performance.now() < deadline) {
    try {
      last = await status(socket);
      if (pred(last)) return last;
    } catch {
      // the socket is not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`status never matched within ${ms} ms; last: ${JSON.stringify(last)}`);
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
