import { spawn, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const SERVER_MAIN = join(ROOT, 'mcp-server', 'main.ts');
/** Generous guard for process start-up on a busy 2-core machine; override with TEST_TIMEOUT_MS. */
export const WAIT_MS = Number(process.env['TEST_TIMEOUT_MS'] ?? 20_000);

/** A temp dir removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'mcp-starter-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A port free on 127.0.0.1 a moment ago (for a config that needs a fixed one). */
export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export function writeConfig(dir: string, config: unknown): string {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Resolves with the first value `pick` returns for a line, or rejects after `ms`. */
export function waitForLine<T>(lines: LineStream, pick: (line: string) => T | undefined, ms = WAIT_MS): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const check = (line: string): boolean => {
      const v = pick(line);
      if (v === undefined) return false;
      clearTimeout(timer);
      lines.off(check);
      resolvePromise(v);
      return true;
    };
    const timer = setTimeout(() => {
      lines.off(check);
      reject(new Error(`timed out after ${ms} ms waiting for a line; last lines:\n${lines.all.slice(-10).join('\n')}`));
    }, ms);
    for (const l of lines.all) if (check(l)) return;
    lines.on(check);
  });
}

/** Collects a stream's lines and lets tests wait for one. */
export class LineStream {
  readonly all: string[] = [];
  private listeners = new Set<(line: string) => boolean>();
  private buf = '';

  constructor(stream: NodeJS.ReadableStream | null) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      this.buf += chunk;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.all.push(line);
        for (const l of [...this.listeners]) l(line);
      }
    });
  }
  on(l: (line: string) => boolean): void {
    this.listeners.add(l);
  }
  off(l: (line: string) => boolean): void {
    this.listeners.delete(l);
  }
  /** Parsed JSON log lines (others skipped). */
  events(): Array<Record<string, unknown>> {
    return this.all.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return []; // not a JSON log line (e.g. a usage message)
      }
    });
  }
}

function jsonField(line: string, event: string, field: string): string | undefined {
  try {
    const obj = JSON.parse(line) as Record<string, unknown>;
    return obj['event'] === event && typeof obj[field] === 'string' ? obj[field] : undefined;
  } catch {
    return undefined; // not a JSON line
  }
}

/** Ends a process by PID if it is still running, and waits for it; SIGKILL if `signal` did not end it within `graceMs`. */
export async function endProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL', graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill(signal);
  if (signal === 'SIGKILL') {
    await exited;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)));
  if ((await Promise.race([exited, late])) === 'late') {
    proc.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

export interface RunningServer {
  proc: ChildProcess;
  url: URL;
  base: string;
  stderr: LineStream;
}

export interface ServerOptions {
  dataDir: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Starts `mcp-starter-server --transport http --port 0` and waits until it listens; killed at test end. */
export async function startHttpServer(t: TestContext, options: ServerOptions): Promise<RunningServer> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', SERVER_MAIN, '--transport', 'http', '--port', '0', '--data-dir', options.dataDir, ...(options.args ?? [])],
    { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => endProcess(proc));
  const stderr = new LineStream(proc.stderr);
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`server exited with ${String(code)} before listening:\n${stderr.all.join('\n')}`);
  });
  const url = await Promise.race([waitForLine(stderr, (l) => jsonField(l, 'listening', 'url')), exited]);
  return { proc, url: new URL(url), base: url.replace(/\/mcp$/, ''), stderr };
}

/** Forks the server with an IPC channel (as the daemon does); killed at test end. */
export function forkServer(t: TestContext, options: ServerOptions): { proc: ChildProcess; stderr: LineStream } {
  const proc = fork(SERVER_MAIN, ['--transport', 'http', '--port', '0', '--data-dir', options.dataDir, ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  t.after(() => endProcess(proc));
  return { proc, stderr: new LineStream(proc.stderr) };
}

/** A v2 SDK client on protocol 2026-07-28 over Streamable HTTP; closed at test end. */
export async function v2HttpClient(t: TestContext, url: URL, token?: string): Promise<Client> {
  const client = new Client({ name: 'test-v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  t.after(() => client.close());
  return client;
}

/** A v1 SDK client (2025 protocol, `initialize`) over Streamable HTTP; closed at test end. */
export async function v1HttpClient(t: TestContext, url: URL, token?: string): Promise<V1Client> {
  const client = new V1Client({ name: 'test-v1', version: '1.0.0' });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(new V1HttpTransport(url, { requestInit: { headers } }));
  t.after(() => client.close());
  return client;
}

/** The text of a tool result's first content block. */
export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.find((c) => c.type === 'text')?.text ?? '';
}

const PROTOCOL = '2026-07-28';

/** A well-formed 2026-07-28 `tools/call` POST, as the v2 client sends it. */
export function toolCallRequest(
  name: string,
  args: Record<string, unknown>,
  token?: string,
): { headers: Record<string, string>; body: string } {
  return {
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': PROTOCOL,
      'mcp-method': 'tools/call',
      'mcp-name': name,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name,
        arguments: args,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': PROTOCOL,
          'io.modelcontextprotocol/clientInfo': { name: 'raw-test', version: '1.0.0' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  };
}

export async function postMcp(url: URL, req: { headers: Record<string, string>; body: string }): Promise<Response> {
  return fetch(url, { method: 'POST', headers: req.headers, body: req.body });
}
