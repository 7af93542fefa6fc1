import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { PassThrough } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { addLearner } from '../shared/learners.js';
import { openLearningDb } from '../shared/learning-db.js';
import { endProcess, LineStream, ROOT, startHttpServer, tempDir, textOf, waitForLine, writeConfig } from './helpers.js';

/**
 * The bridge as a process: what `mcp-starterctl connect` runs, minus argv parsing. Each process
 * appends its pid to $BRIDGE_PIDS so a test can prove every one (the SDK's probe sibling too) ended.
 */
const ENTRY = [
  "require('node:fs').appendFileSync(process.env.BRIDGE_PIDS, process.pid + '\\n');",
  "import('./ctl/connect.ts')",
  '.then((m) => m.runConnect({ url: process.argv[1], token: process.argv[2] }))',
  '.then((code) => process.exit(code));',
].join('');

interface BridgeCommand {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  pidFile: string;
}

function bridgeCommand(t: TestContext, url: string, token?: string): BridgeCommand {
  const pidFile = join(tempDir(t, 'mcp-starter-connect-'), 'pids');
  return {
    command: process.execPath,
    args: ['--import', 'tsx', '-e', ENTRY, url, ...(token === undefined ? [] : [token])],
    cwd: ROOT,
    env: { BRIDGE_PIDS: pidFile, PATH: process.env['PATH'] ?? '' },
    pidFile,
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: gone (and reaped)
  }
}

function bridgePids(cmd: BridgeCommand): number[] {
  try {
    return readFileSync(cmd.pidFile, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // no bridge got as far as starting
  }
}

/** Every bridge process started with `cmd`; any still running is killed by PID, and the test fails. */
function assertAllEnded(cmd: BridgeCommand): number[] {
  const pids = bridgePids(cmd);
  const alive = pids.filter(isAlive);
  for (const pid of alive) process.kill(pid, 'SIGKILL');
  assert.deepEqual(alive, [], 'every bridge process has ended');
  return pids;
}

/** A v2 SDK client (negotiating 2026-07-28) that launches the bridge, as Claude Desktop's config would. */
async function v2Client(t: TestContext, cmd: BridgeCommand): Promise<{ client: Client; stderr: LineStream }> {
  const transport = new StdioClientTransport({ command: cmd.command, args: cmd.args, cwd: cmd.cwd, env: cmd.env, stderr: 'pipe' });
  const stderr = new LineStream(transport.stderr as PassThrough | null);
  const client = new Client({ name: 'test-v2-connect', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  t.after(async () => {
    await client.close();
    assertAllEnded(cmd);
  });
  await client.connect(transport);
  return { client, stderr };
}

interface RawBridge {
  proc: ChildProcess;
  stdout: LineStream;
  stderr: LineStream;
  send(message: object): void;
  /** The message on stdout answering request `id`. */
  reply(id: string | number): Promise<Record<string, unknown>>;
  /** Closes stdin and resolves with the exit code and signal. */
  end(): Promise<unknown[]>;
}

/** The bridge spawned directly, for tests that write JSON-RPC lines and read stdout and stderr. */
function rawBridge(t: TestContext, cmd: BridgeCommand): RawBridge {
  const proc = spawn(cmd.command, cmd.args, { cwd: cmd.cwd, env: cmd.env, stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => endProcess(proc));
  const stdout = new LineStream(proc.stdout);
  return {
    proc,
    stdout,
    stderr: new LineStream(proc.stderr),
    send: (message) => void proc.stdin?.write(`${JSON.stringify(message)}\n`),
    reply: (id) => waitForLine(stdout, (line) => (parseLine(line)['id'] === id ? parseLine(line) : undefined)),
    end: () => {
      const exited = once(proc, 'exit');
      proc.stdin?.end();
      return exited;
    },
  };
}

/** The per-request envelope a 2026-07-28 client sends (what the v2 Client puts on every request). */
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

function errorOf(reply: Record<string, unknown>): { code: number; message: string; data: { code: string } } {
  assert.ok(reply['error'], `expected an error, got ${JSON.stringify(reply)}`);
  return reply['error'] as { code: number; message: string; data: { code: string } };
}

type FrontAction = '503' | 'reset' | 'empty-stream' | 'pass';

/**
 * An HTTP front for the real server that misbehaves on cue, as a daemon restart looks from the
 * outside: POST number n gets `script[n]` (a draining child's 503, a connection cut before any
 * answer, an event stream that ends without one, or the real server), and `pass` once the script
 * runs out (`always` overrides).
 */
async function scriptedFront(
  t: TestContext,
  target: URL,
  script: FrontAction[],
  always?: FrontAction,
): Promise<{ url: string; posts: () => number; firstPost: Promise<void> }> {
  let posts = 0;
  let onFirstPost: () => void = () => undefined;
  const firstPost = new Promise<void>((resolve) => (onFirstPost = resolve));
  const front = createHttpServer((req, res) => {
    if (req.method === 'POST') onFirstPost();
    const action = req.method === 'POST' ? (always ?? script[posts++] ?? 'pass') : 'pass';
    if (always !== undefined && req.method === 'POST') posts++;
    if (action === 'reset') return void req.socket.destroy();
    if (action === 'empty-stream') return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(': bye\n\n');
    if (action === '503') {
      const body = {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, message: 'restarting', data: { message: 'The server is restarting.', hint: 'Retry.' } },
      };
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify(body));
      return;
    }
    const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  t.after(() => {
    front.closeAllConnections();
    return new Promise((resolve) => front.close(resolve));
  });
  return { url: `http://127.0.0.1:${(front.address() as AddressInfo).port}/mcp`, posts: () => posts, firstPost };
}

type ToolResult = { structuredContent?: Record<string, unknown>; isError?: boolean };

interface AnyClient {
  listTools(): Promise<{ tools: Array<{ name: string }> }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
}

/** What a learner does first: see the tools, list tutorials, start one, look at progress (returned). */
async function learnerSession(client: AnyClient): Promise<Record<string, unknown>> {
  const tools = (await client.listTools()).tools.map((tool) => tool.name);
  assert.ok(tools.includes('list_tutorials') && tools.includes('start_tutorial'), tools.join());
  const list = (await client.callTool({ name: 'list_tutorials', arguments: {} })) as ToolResult;
  assert.match(JSON.stringify(list.structuredContent), /what-is-mcp/);
  const started = (await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: 'what-is-mcp' } })) as ToolResult;
  assert.equal(started.isError, undefined, textOf(started));
  assert.equal((started.structuredContent?.['step'] as { step?: number } | undefined)?.step, 1);
  const progress = (await client.callTool({ name: 'get_progress', arguments: {} })) as ToolResult;
  const rows = progress.structuredContent?.['tutorials'] as Array<{ id: string; status: string }>;
  assert.equal(rows.find((row) => row.id === 'what-is-mcp')?.status, 'in_progress');
  return progress.structuredContent ?? {};
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function parseLine(line: string): Record<string, unknown> {
  const message = JSON.parse(line) as Record<string, unknown>;
  assert.equal(message['jsonrpc'], '2.0', `stdout line is not JSON-RPC: ${line}`);
  return message;
}

describe('mcp-starterctl connect bridges a stdio client to the HTTP server', () => {
  test('a v2 client negotiates 2026-07-28 through the bridge and learns', { timeout: 90_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const cmd = bridgeCommand(t, server.url.href);
    const { client, stderr } = await v2Client(t, cmd);
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    await learnerSession(client);
    await client.close();
    // The SDK probes the era on a sibling process first: both bridges have ended.
    assert.equal(assertAllEnded(cmd).length, 2);
    assert.deepEqual(stderr.all, [], 'a healthy bridge says nothing on stderr');
  });

  test('a v1 client (2025 protocol, initialize) works through the bridge', { timeout: 90_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const cmd = bridgeCommand(t, server.url.href);
    const client = new V1Client({ name: 'test-v1-connect', version: '1.0.0' });
    t.after(async () => {
      await client.close();
      assertAllEnded(cmd);
    });
    await client.connect(new V1StdioTransport({ command: cmd.command, args: cmd.args, cwd: cmd.cwd, env: cmd.env, stderr: 'ignore' }));
    assert.match(client.getServerVersion()?.name ?? '', /mcp-starter/);
    await learnerSession(client);
    await client.close();
    assert.equal(assertAllEnded(cmd).length, 1);
  });

  test(
    'with the server down, requests get a JSON-RPC error saying so, and the bridge exits when stdin closes',
    { timeout: 90_000 },
    async (t) => {
      const url = `http://127.0.0.1:${await closedPort()}/mcp`;
      const bridge = rawBridge(t, bridgeCommand(t, url));
      const clientInfo = { name: 'raw', version: '1' };
      bridge.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo } });
      bridge.send({ jsonrpc: '2.0', id: 'modern', method: 'tools/list', params: { _meta: MODERN_META } });
      for (const id of [1, 'modern']) {
        const error = errorOf(await bridge.reply(id));
        assert.equal(error.data.code, 'E_NOT_RUNNING');
        assert.equal(error.message, `cannot reach ${url} (ECONNREFUSED) → is mcp-starterd running? \`mcp-starterctl status\``);
      }
      // A line that is not JSON is skipped (as the SDK's stdio servers do); JSON that is not
      // JSON-RPC gets an Invalid Request error without an id. Lines are handled in order.
      bridge.proc.stdin?.write('not json\n');
      bridge.send({ not: 'json-rpc' });
      const invalid = await waitForLine(bridge.stdout, (line) => (errorOf(parseLine(line)).code === -32600 ? line : undefined));
      assert.doesNotMatch(invalid, /"id"/);
      assert.deepEqual(await bridge.end(), [0, null]);
      for (const line of bridge.stdout.all) parseLine(line);
      assert.deepEqual(
        bridge.stdout.all.map((line) => errorOf(parseLine(line)).code),
        [-32002, -32002, -32600],
      );
      // One line per problem on stderr, not one per request.
      assert.deepEqual(bridge.stderr.all, [
        `mcp-starterctl connect: cannot reach ${url} (ECONNREFUSED) → is mcp-starterd running? \`mcp-starterctl status\``,
        'mcp-starterctl connect: Invalid request: a line on stdin is not a JSON-RPC 2.0 message. → send one JSON-RPC message per line',
      ]);
    },
  );
});

describe('mcp-starterctl connect through a restart', () => {
  test('retries a request the server answered with 503 until it serves again', { timeout: 90_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const front = await scriptedFront(t, server.url, ['503', '503', '503']);
    const bridge = rawBridge(t, bridgeCommand(t, front.url));
    bridge.send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: MODERN_META } });
    const reply = await bridge.reply(1);
    assert.ok((reply['result'] as { tools?: unknown[] } | undefined)?.tools?.length, JSON.stringify(reply));
    assert.equal(front.posts(), 4);
    assert.deepEqual(await bridge.end(), [0, null]);
  });

  test('gives up on 503 after a bounded time, with an error that says why', { timeout: 90_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const front = await scriptedFront(t, server.url, [], '503');
    const bridge = rawBridge(t, bridgeCommand(t, front.url));
    const startedMs = performance.now();
    bridge.send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: MODERN_META } });
    const error = errorOf(await bridge.reply(1));
    const elapsedMs = performance.now() - startedMs;
    assert.match(error.message, /is restarting or busy \(HTTP 503\) and did not recover within 5 s: The server is restarting\./);
    // Bounded, not fast: its budget is 5 s, and a busy machine may add seconds around it (no timed test).
    assert.ok(elapsedMs < 25_000, `gave up after ${Math.round(elapsedMs)} ms`);
    assert.ok(front.posts() >= 4, `${front.posts()} attempts`);
    assert.deepEqual(await bridge.end(), [0, null]);
  });

  test('closing stdin ends the bridge at once, even while it retries a request', { timeout: 90_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const front = await scriptedFront(t, server.url, [], '503');
    const bridge = rawBridge(t, bridgeCommand(t, front.url));
    bridge.send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: MODERN_META } });
    await front.firstPost;
    const startedMs = performance.now();
    assert.deepEqual(await bridge.end(), [0, null]);
    const elapsedMs = performance.now() - startedMs;
    assert.ok(elapsedMs < 2_500, `exited ${Math.round(elapsedMs)} ms after stdin closed, not at the end of the 5 s retry budget`);
    assert.deepEqual(bridge.stdout.all, [], 'a request cut short by the client closing stdin is not answered');
  });

  test(
    'a connection cut or a stream ended before the answer is an error for that request, not sent twice',
    { timeout: 90_000 },
    async (t) => {
      const server = await startHttpServer(t, { dataDir: tempDir(t) });
      const front = await scriptedFront(t, server.url, ['reset', 'empty-stream']);
      const bridge = rawBridge(t, bridgeCommand(t, front.url));
      const call = { method: 'tools/call', params: { name: 'list_tutorials', arguments: {}, _meta: MODERN_META } };
      bridge.send({ jsonrpc: '2.0', id: 1, ...call });
      const cut = errorOf(await bridge.reply(1));
      assert.match(
        cut.message,
        /lost the connection to .* \(UND_ERR_SOCKET\) before it answered → the server may have restarted; send the request again/,
      );
      bridge.send({ jsonrpc: '2.0', id: 2, ...call });
      const ended = errorOf(await bridge.reply(2));
      assert.match(ended.message, /closed the connection before answering → the server may be restarting; send the request again/);
      assert.equal(front.posts(), 2);
      bridge.send({ jsonrpc: '2.0', id: 3, ...call });
      assert.ok((await bridge.reply(3))['result'], 'the bridge goes on');
      assert.deepEqual(await bridge.end(), [0, null]);
    },
  );

  test('a request sent while the server restarts on its port waits for it, and progress is kept', { timeout: 90_000 }, async (t) => {
    const dataDir = tempDir(t);
    const first = await startHttpServer(t, { dataDir });
    const bridge = rawBridge(t, bridgeCommand(t, first.url.href));
    const call = (id: number, name: string, args: object): void =>
      bridge.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: MODERN_META } });
    call(1, 'start_tutorial', { tutorial_id: 'what-is-mcp' });
    assert.ok((await bridge.reply(1))['result']);
    await endProcess(first.proc);
    // Refused connections are retried (for up to 5 s) once the server has answered: it is restarting.
    const second = startHttpServer(t, { dataDir, args: ['--port', first.url.port] });
    call(2, 'get_progress', { tutorial_id: 'what-is-mcp' });
    await second;
    const progress = (await bridge.reply(2))['result'] as ToolResult;
    assert.equal((progress.structuredContent?.['tutorials'] as Array<{ status: string }>)[0]?.status, 'in_progress');
    assert.deepEqual(await bridge.end(), [0, null]);
  });
});

describe('mcp-starterctl connect with a server that requires tokens', () => {
  async function tokenServer(t: TestContext): Promise<{ url: string; token: string }> {
    const dataDir = tempDir(t);
    const db = openLearningDb(join(dataDir, 'mcp-starter.db'));
    const { token } = addLearner(db, 'ann');
    db.close();
    const server = await startHttpServer(t, { dataDir, args: ['--config', writeConfig(dataDir, { server: { requireAuth: true } })] });
    return { url: server.url.href, token };
  }

  test('sends --token as a bearer token, and the learner is the token holder', { timeout: 90_000 }, async (t) => {
    const { url, token } = await tokenServer(t);
    const { client } = await v2Client(t, bridgeCommand(t, url, token));
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    const progress = await learnerSession(client);
    assert.equal(progress['learner'], 'ann');
  });

  test('without a token the client is told the server needs one and how to pass it', { timeout: 90_000 }, async (t) => {
    const { url } = await tokenServer(t);
    const bridge = rawBridge(t, bridgeCommand(t, url));
    bridge.send({ jsonrpc: '2.0', id: 7, method: 'server/discover', params: { _meta: MODERN_META } });
    const error = errorOf(await bridge.reply(7));
    assert.equal(error.data.code, 'E_UNAUTHORIZED');
    assert.match(error.message, /refused the request \(HTTP 401\): This server needs a learner token\./);
    assert.match(error.message, /`mcp-starterctl connect --token TOKEN`/);
    assert.deepEqual(await bridge.end(), [0, null]);
  });

  test('a v2 client without a token fails to connect with that message', { timeout: 90_000 }, async (t) => {
    const { url } = await tokenServer(t);
    const cmd = bridgeCommand(t, url);
    const client = new Client({ name: 'test-v2-connect', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    t.after(async () => {
      await client.close();
      assertAllEnded(cmd);
    });
    const transport = new StdioClientTransport({ command: cmd.command, args: cmd.args, cwd: cmd.cwd, env: cmd.env, stderr: 'ignore' });
    await assert.rejects(client.connect(transport), /needs a learner token.*--token TOKEN/);
  });
});
