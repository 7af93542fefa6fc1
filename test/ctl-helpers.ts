// Running mcp-starterctl from source as a real process, for the ctl test files.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ROOT, WAIT_MS } from './helpers.js';

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
