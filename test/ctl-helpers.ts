// Running mcp-starterctl from source as a real process, for the ctl test files.
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ROOT, tempDir, WAIT_MS } from './helpers.js';

export const CTL_MAIN = join(ROOT, 'ctl', 'main.ts');

export interface CtlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** The test runner's environment without MCP_STARTER_* variables (they would change what ctl does). */
export function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('MCP_STARTER_')),
  );
}

/** Runs mcp-starterctl from source (stdin, stdout and stderr are pipes: no terminal); killed if it outlives the test guard. */
export async function ctl(t: TestContext, args: readonly string[], env: NodeJS.ProcessEnv = {}, guardMs = WAIT_MS): Promise<CtlRun> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CTL_MAIN, ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  try {
    const [code] = (await withTimeout(once(proc, 'close'), `mcp-starterctl ${args.join(' ')}`, guardMs)) as [number | null];
    return { code, stdout, stderr };
  } catch (err) {
    // Hung: end it now, not only in an after hook that another hook may be waiting in front of.
    proc.kill('SIGKILL');
    throw err;
  }
}

export type FixtureRequest = { id: number; method: string; params?: unknown };
export type Handler = (request: FixtureRequest, socket: Socket) => void;

/** A tiny real JSON-RPC server on a Unix socket: it answers as `handler` says and records the requests. */
export async function socketFixture(
  t: TestContext,
  handler: Handler,
): Promise<{ dir: string; requests: Array<Omit<FixtureRequest, 'id'>> }> {
  const dir = tempDir(t);
  const requests: Array<Omit<FixtureRequest, 'id'>> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const request = JSON.parse(buffer.slice(0, i)) as FixtureRequest;
        buffer = buffer.slice(i + 1);
        requests.push({ method: request.method, params: request.params });
        handler(request, socket);
      }
    });
    socket.on('error', () => undefined); // ctl closing first is fine
  });
  server.listen(join(dir, 'mcp-starterd.sock'));
  await once(server, 'listening');
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A ctl still connected (a test that failed) must not hold the close, and so the test, for good.
        for (const socket of sockets) socket.destroy();
      }),
  );
  return { dir, requests };
}
