// HTTP as a hostile input surface (issue 11): fair caps, timeouts on handed-over sockets, restarts
// learners do not notice, ordered overload, revocation, Origin ports, oversized streamed bodies.
// Real servers (standalone, or under a real daemon) on 127.0.0.1; every test bounds itself and
// ends what it started.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, watch } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { openLearningDb } from '../shared/learning-db.js';
import { addLearner, revokeLearner } from '../shared/learners.js';
import { HttpErrorBody } from '../shared/schemas/http.js';
import { AdmissionGate, type Ticket } from '../mcp-server/transports/limits.js';
import type { Refusal } from '../mcp-server/transports/refusal.js';
import { rpc, startDaemon, status } from './daemon-helpers.js';
import { startHttpServer, tempDir, toolCallRequest, v2HttpClient, WAIT_MS, writeConfig, type RunningServer } from './helpers.js';

const T = { timeout: 60_000 };

// ---------------------------------------------------------------------------------------------
// Requests, raw and otherwise.

type Call = ReturnType<typeof toolCallRequest>;

/** A well-formed 2026-07-28 `tools/call` POST. */
const toolCall = (name: string, args: Record<string, unknown> = {}, token?: string): Call => toolCallRequest(name, args, token);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** One request on a connection of its own; rejects on a connection error (a torn connection). */
function send(url: URL, call: Call, init: { method?: string; path?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: init.method ?? 'POST',
        path: init.path ?? url.pathname,
        headers: { ...call.headers, ...init.headers },
        agent: false,
        signal: AbortSignal.timeout(WAIT_MS),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.method === 'GET' ? undefined : call.body);
  });
}

function errorOf(answer: Answer): HttpErrorBody['error']['data'] {
  return HttpErrorBody.parse(JSON.parse(answer.body)).error.data;
}

/** A raw connection; what it receives is collected, `closed` resolves with all of it when the server closes. */
function rawConnection(t: TestContext, url: URL): Promise<{ socket: Socket; received: () => string; closed: Promise<string> }> {
  const socket = connect(Number(url.port), url.hostname);
  t.after(() => void socket.destroy());
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (text += c));
  socket.on('error', () => undefined); // a reset shows as 'close' too
  const closed = once(socket, 'close').then(() => text);
  return once(socket, 'connect').then(() => ({ socket, received: () => text, closed }));
}

function head(url: URL, method: string, headers: Record<string, string>): string {
  const lines = [`${method} ${url.pathname} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A POST whose headers arrive whole and whose body (declared 100 bytes) stops after 7. */
async function unfinishedBody(t: TestContext, url: URL, call: Call): Promise<{ socket: Socket; closed: Promise<string> }> {
  const c = await rawConnection(t, url);
  await new Promise<void>((resolve) =>
    c.socket.write(head(url, 'POST', { ...call.headers, 'Content-Length': '100' }) + call.body.slice(0, 7), () => resolve()),
  );
  return c;
}

/** Resolves with `promise`, or rejects after `ms`: a guard, so a hang fails the test instead of stalling it. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

function jsonBodyOf(raw: string): HttpErrorBody {
  return HttpErrorBody.parse(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)));
}

async function serverWith(t: TestContext, config: unknown, env: NodeJS.ProcessEnv = {}): Promise<RunningServer & { dataDir: string }> {
  const dataDir = tempDir(t);
  const server = await startHttpServer(t, { dataDir, args: ['--config', writeConfig(dataDir, config)], env });
  return { ...server, dataDir };
}

function withDb<T>(dataDir: string, fn: (db: ReturnType<typeof openLearningDb>) => T): T {
  const db = openLearningDb(join(dataDir, 'mcp-starter.db'));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Resolves when the file holds a line `pred` accepts (fs.watch), or rejects after `ms`. */
function fileLine(file: string, pred: (line: string) => boolean, ms = WAIT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const line = readFileSync(file, 'utf8').split('\n').find(pred);
      if (line === undefined) return false;
      clearTimeout(timer);
      watcher.close();
      resolve(line);
      return true;
    };
    const watcher = watch(file, () => void check());
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`no matching line in ${file} within ${ms} ms`));
    }, ms);
    check();
  });
}

/** Limits for unit tests of the gate. */
const GATE = {
  maxConcurrentRequests: 1,
  maxOpenStreams: 4,
  maxRequestsPerConnection: 100,
  maxStreamsPerConnection: 1,
  maxRequestsPerLearner: 100,
  maxStreamsPerLearner: 4,
  maxQueuedRequests: 10,
  maxQueueWaitMs: 250,
  reservedRequests: 1,
};

function pick(r: Ticket | Refusal | undefined): { status: number; limit: string } | undefined {
  return r === undefined || 'caller' in r ? undefined : { status: r.status, limit: r.limit };
}

// ---------------------------------------------------------------------------------------------

describe('fair limits', () => {
  test('serves another client while one client holds unfinished request bodies on many connections', T, async (t) => {
    const server = await serverWith(t, { server: { maxConcurrentRequests: 2, maxRequestsPerConnection: 1 } });
    const held = await Promise.all(Array.from({ length: 10 }, () => unfinishedBody(t, server.url, toolCall('get_progress'))));
    const other = await send(server.url, toolCall('list_tutorials'));
    assert.equal(other.status, 200, other.body);
    const again = await send(server.url, toolCall('get_progress'));
    assert.equal(again.status, 200, again.body);
    assert.equal(held.length, 10);
  });

  test('a learner who holds maxRequestsPerLearner requests gets 429; other learners and the local learner are served', T, async (t) => {
    const server = await serverWith(t, { server: { maxRequestsPerLearner: 2 } });
    const ada = withDb(server.dataDir, (db) => addLearner(db, 'ada'));
    const grace = withDb(server.dataDir, (db) => addLearner(db, 'grace'));
    const held = await Promise.all([1, 2].map(() => unfinishedBody(t, server.url, toolCall('get_progress', {}, ada.token))));
    // Grace's answer is a full round trip through the server: Ada's held requests (sent before) are counted by then.
    assert.equal((await send(server.url, toolCall('get_progress', {}, grace.token))).status, 200);
    const refused = await send(server.url, toolCall('get_progress', {}, ada.token));
    assert.equal(refused.status, 429, refused.body);
    assert.equal(refused.headers['retry-after'], '1');
    assert.match(errorOf(refused).message, /You already have 2 requests in progress \(the limit per learner is 2\)/);
    assert.equal((await send(server.url, toolCall('get_progress'))).status, 200, 'the local learner has its own share');
    // Ada's share comes back when her held requests end.
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    assert.equal((await send(server.url, toolCall('list_tutorials', {}, grace.token))).status, 200);
    assert.equal((await send(server.url, toolCall('get_progress', {}, ada.token))).status, 200);
  });

  test('per-connection and per-learner caps count requests and streams of their own connection or learner only (the gate)', () => {
    const gate = new AdmissionGate({
      ...GATE,
      maxRequestsPerConnection: 2,
      maxRequestsPerLearner: 3,
      maxStreamsPerConnection: 1,
      maxStreamsPerLearner: 2,
    });
    const [connA, connB, connC] = [{}, {}, {}];
    const claim = (connection: object, learner: string | undefined): Ticket | Refusal =>
      gate.claim({ connection, learner, reserved: false });
    const ticket = (connection: object, learner: string | undefined): Ticket => {
      const t = claim(connection, learner);
      assert.ok('caller' in t, JSON.stringify(t));
      return t;
    };
    // Two requests on connection A; a third there is refused, another connection is not.
    const a1 = ticket(connA, 'ada');
    ticket(connA, 'ada');
    assert.deepEqual(pick(claim(connA, 'ada')), { status: 429, limit: 'maxRequestsPerConnection' });
    ticket(connB, 'ada');
    // Ada now has three requests: her fourth is refused on any connection; Grace and the local learner are not.
    assert.deepEqual(pick(claim(connC, 'ada')), { status: 429, limit: 'maxRequestsPerLearner' });
    ticket(connC, 'grace');
    ticket(connC, undefined);
    a1.release();
    a1.release(); // idempotent
    ticket({}, 'ada');
    // Streams: one per connection, two per learner.
    const s1 = ticket({}, 'bob');
    assert.equal(s1.asStream(), undefined);
    const sameConnection = gate.claim({ connection: s1.caller.connection, learner: 'bob', reserved: false });
    assert.ok('caller' in sameConnection);
    assert.deepEqual(pick(sameConnection.asStream()), { status: 429, limit: 'maxStreamsPerConnection' });
    sameConnection.release();
    assert.equal(ticket({}, 'bob').asStream(), undefined);
    assert.deepEqual(pick(ticket({}, 'bob').asStream()), { status: 429, limit: 'maxStreamsPerLearner' });
    // The probe is never counted against learners.
    for (let i = 0; i < 5; i++) assert.ok('caller' in gate.claim({ connection: connA, learner: undefined, reserved: true }));
  });

  test('the daemon probe (probe token) and GET /health are never refused or queued because of learners', T, async (t) => {
    const probeToken = 'probe-secret-for-this-test';
    const server = await serverWith(t, { server: { maxConcurrentRequests: 1 } }, { MCP_STARTER_PROBE_TOKEN: probeToken });
    // Learners hold unfinished bodies as well as calling as fast as they can.
    await Promise.all([1, 2, 3, 4].map(() => unfinishedBody(t, server.url, toolCall('get_progress'))));
    let learnersDone = false;
    const learnerStatuses: number[] = [];
    const learners = Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        for (let n = 0; n < 12; n++) {
          const a = await send(server.url, toolCall(n % 4 === 3 ? 'list_tutorials' : 'get_progress'), {
            headers: { 'x-client': String(i) },
          });
          learnerStatuses.push(a.status);
        }
      }),
    ).finally(() => (learnersDone = true));
    const probe: Answer[] = [];
    const health: Answer[] = [];
    while (!learnersDone) {
      const [p, h] = await Promise.all([
        send(server.url, toolCall('list_tutorials', {}, probeToken)),
        send(server.url, { headers: {}, body: '' }, { method: 'GET', path: '/health' }),
      ]);
      probe.push(p);
      health.push(h);
    }
    await learners;
    assert.ok(probe.length >= 3, `only ${probe.length} probes ran beside the learners`);
    assert.deepEqual(
      probe.filter((p) => p.status !== 200).map((p) => `${p.status} ${p.body}`),
      [],
    );
    assert.deepEqual(
      health.filter((h) => h.status !== 200).map((h) => h.status),
      [],
    );
    assert.ok(learnerStatuses.length === 32 * 12);
    // The probe's own answers are quick however long the learners' queue is.
    assert.ok(Math.max(...health.map((h) => h.ms)) < 2_000, `slowest /health ${Math.round(Math.max(...health.map((h) => h.ms)))} ms`);
  });
});

describe('overload served in order', () => {
  test(
    'past capacity requests wait in a bounded queue; the rest get 503 with Retry-After at once, none waits past maxQueueWaitMs',
    T,
    async (t) => {
      const server = await serverWith(t, { server: { maxConcurrentRequests: 1, maxQueuedRequests: 2, maxQueueWaitMs: 1_000 } });
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => send(server.url, toolCall(i % 4 === 0 ? 'list_tutorials' : 'get_progress'))),
      );
      const statuses = new Set(answers.map((a) => a.status));
      assert.deepEqual(
        [...statuses].filter((s) => s !== 200 && s !== 503),
        [],
      );
      assert.ok(answers.some((a) => a.status === 200));
      for (const a of answers.filter((x) => x.status === 503)) {
        assert.ok(Number(a.headers['retry-after']) >= 1, 'Retry-After on every 503');
        assert.match(errorOf(a).message, /^The server is busy: /);
      }
      const slowest = Math.max(...answers.map((a) => a.ms));
      assert.ok(slowest < 1_000 + 2_000, `slowest answer ${Math.round(slowest)} ms`);
    },
  );

  test('the gate starts waiting requests in arrival order, and refuses at once one it cannot start in time', T, async () => {
    let nowMs = 0;
    const gate = new AdmissionGate(GATE, () => nowMs);
    const caller = { connection: {}, learner: undefined, reserved: false };
    const ticket = (): Ticket => {
      const t = gate.claim(caller);
      assert.ok('caller' in t);
      return t;
    };
    const never = new AbortController().signal;
    const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r)); // slots free at the end of a turn
    // Eight requests, one every 50 ms, teach the gate the pace at which slots come free.
    for (let i = 0; i < 8; i++, nowMs += 50) {
      const tk = ticket();
      assert.equal(await tk.start(never), undefined);
      tk.release();
      await nextTurn();
    }
    const running = ticket();
    assert.equal(await running.start(never), undefined);
    const order: string[] = [];
    const waiting = ['b', 'c', 'd', 'e', 'f'].map((name) => {
      const tk = ticket();
      return tk.start(never).then((r: Refusal | undefined) => {
        order.push(r === undefined ? name : `${name}:${r.limit}`);
        return tk;
      });
    });
    // A sixth waiter would start after about 6 × 50 ms = 300 ms > maxQueueWaitMs (250): refused now, not after waiting.
    const late = await ticket().start(never);
    assert.equal(late?.status, 503);
    assert.equal(late?.limit, 'maxQueueWaitMs');
    assert.deepEqual(order, []);
    running.release();
    for (const w of waiting) (await w).release();
    assert.deepEqual(order, ['b', 'c', 'd', 'e', 'f']);
  });
});

describe('timeouts on handed-over connections', () => {
  test('slow-loris connections are cut with a 408 within the header timeout, and logged once', T, async (t) => {
    const d = await startDaemon(t, tempDir(t), { MCP_STARTER_SERVER_HEADERS_TIMEOUT_MS: '1000' });
    const url = new URL((await status(d.socket)).url);
    const conns = await Promise.all(Array.from({ length: 5 }, () => rawConnection(t, url)));
    const t0 = performance.now();
    let n = 0;
    for (const c of conns) c.socket.write(`POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\n`);
    const drip = setInterval(() => {
      n++;
      for (const c of conns) if (c.socket.writable) c.socket.write(`X-Slow-${n}: a\r\n`);
    }, 200);
    t.after(() => clearInterval(drip));
    const silent = await rawConnection(t, url); // sends nothing at all
    const texts = await within(8_000, Promise.all([...conns, silent].map((c) => c.closed)), 'slow connections cut');
    const ms = performance.now() - t0;
    clearInterval(drip);
    assert.ok(ms < 5_000, `cut after ${Math.round(ms)} ms`);
    for (const text of texts) {
      assert.equal(statusOf(text), 408, text);
      assert.match(jsonBodyOf(text).error.data.message, /did not arrive within 1000 ms/);
    }
    // Six cut connections from one address: one log line.
    const log = join(d.dataDir, 'logs', 'mcp-starterd.log');
    await fileLine(log, (l) => l.includes('"limit":"headersTimeoutMs"'));
    const lines = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"event":"limit_hit"') && l.includes('"limit":"headersTimeoutMs"'));
    assert.equal(lines.length, 1, lines.join('\n'));
  });

  test('a keep-alive connection that then drips its next request headers is cut too', T, async (t) => {
    const d = await startDaemon(t, tempDir(t), { MCP_STARTER_SERVER_HEADERS_TIMEOUT_MS: '1000' });
    const url = new URL((await status(d.socket)).url);
    const c = await rawConnection(t, url);
    c.socket.write(`GET /health HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    await within(
      WAIT_MS,
      new Promise<void>((resolve) => c.socket.on('data', () => /\r\n\r\n[\s\S]*\}$/.test(c.received()) && resolve())),
      'first answer',
    );
    let n = 0;
    c.socket.write(`GET /health HTTP/1.1\r\nHost: ${url.host}\r\n`);
    const drip = setInterval(() => c.socket.writable && c.socket.write(`X-Slow-${n++}: a\r\n`), 200);
    t.after(() => clearInterval(drip));
    const text = await within(8_000, c.closed, 'keep-alive slow-loris cut');
    clearInterval(drip);
    assert.match(text, /HTTP\/1\.1 408/);
  });

  test('an unfinished POST body is answered with 408 after the body timeout', T, async (t) => {
    const d = await startDaemon(t, tempDir(t), { MCP_STARTER_SERVER_REQUEST_TIMEOUT_MS: '1500' });
    const url = new URL((await status(d.socket)).url);
    const t0 = performance.now();
    const c = await unfinishedBody(t, url, toolCall('get_progress'));
    const text = await within(10_000, c.closed, 'the unfinished body answered');
    const ms = performance.now() - t0;
    assert.equal(statusOf(text), 408, text);
    assert.match(jsonBodyOf(text).error.data.message, /did not arrive within 1500 ms \(7 bytes came\)/);
    assert.ok(ms >= 1_400 && ms < 6_000, `answered after ${Math.round(ms)} ms`);
  });
});

describe('restarts learners do not notice', () => {
  test(
    'restarts under busy clients fail no call, and an idle keep-alive client holds one up no longer than keepAliveTimeoutMs',
    T,
    async (t) => {
      const d = await startDaemon(t, tempDir(t), { MCP_STARTER_SERVER_KEEP_ALIVE_TIMEOUT_MS: '2000' });
      const url = new URL((await status(d.socket)).url);
      const clients = await Promise.all([1, 2, 3, 4].map(() => v2HttpClient(t, url)));
      const idle = new Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => idle.destroy());
      const idleRequest = (): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = request({ host: url.hostname, port: url.port, path: '/health', agent: idle }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        });
      let stop = false;
      t.after(() => (stop = true)); // a failed assertion or a timeout still ends the loops
      const failures: string[] = [];
      let calls = 0;
      const loops = clients.map(async (client) => {
        for (let n = 1; !stop; n++) {
          try {
            await client.callTool({ name: n % 4 === 0 ? 'list_tutorials' : 'get_progress', arguments: {} });
          } catch (err) {
            failures.push(String(err));
          }
          calls++;
        }
      });
      const restartMs: number[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          assert.equal(await idleRequest(), 200);
          const t0 = performance.now();
          const r = await rpc(d.socket, 'restart', undefined, 30_000);
          assert.equal(r.error, undefined, JSON.stringify(r.error));
          restartMs.push(performance.now() - t0);
        }
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      assert.deepEqual(failures, []);
      assert.ok(calls > 12, `only ${calls} calls were made`);
      // The idle client's connection ends at the keep-alive timeout (2 s); the rest is the new server's start under tsx.
      assert.ok(Math.max(...restartMs) < 2_000 + 6_000, `restarts took ${restartMs.map(Math.round).join(', ')} ms`);
    },
  );

  test(
    'with drainIdleCloseMs, a restart closes an idle keep-alive connection once idle that long, not at the keep-alive timeout',
    T,
    async (t) => {
      // An idle keep-alive connection would hold the old server for 20 s without drainIdleCloseMs.
      const d = await startDaemon(t, tempDir(t), {
        MCP_STARTER_SERVER_KEEP_ALIVE_TIMEOUT_MS: '20000',
        MCP_STARTER_SERVER_DRAIN_IDLE_CLOSE_MS: '500',
      });
      const url = new URL((await status(d.socket)).url);
      const c = await rawConnection(t, url);
      c.socket.write(`GET /health HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
      await within(
        WAIT_MS,
        new Promise<void>((resolve) => c.socket.on('data', () => /\r\n\r\n[\s\S]*\}$/.test(c.received()) && resolve())),
        'first answer',
      );
      const t0 = performance.now();
      const r = await rpc(d.socket, 'restart', undefined, 30_000);
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      const ms = performance.now() - t0;
      assert.ok(ms < 10_000, `the restart took ${Math.round(ms)} ms`);
      await within(WAIT_MS, c.closed, 'the idle connection closed');
    },
  );
});

describe('revocation, Origin, oversized bodies', () => {
  test("a revoked learner's open request is closed with 401 within authRecheckMs", T, async (t) => {
    // The default recheck (5 s): well inside the guard below, and far from Node's own 30 s request timeout.
    const server = await serverWith(t, {});
    const rita = withDb(server.dataDir, (db) => addLearner(db, 'rita'));
    const open = await unfinishedBody(t, server.url, toolCall('get_progress', {}, rita.token));
    assert.equal((await send(server.url, toolCall('list_tutorials'))).status, 200);
    withDb(server.dataDir, (db) => revokeLearner(db, 'rita'));
    const text = await within(12_000, open.closed, 'the revoked request closed');
    assert.equal(statusOf(text), 401, text);
    assert.match(jsonBodyOf(text).error.data.message, /revoked/);
  });

  test('an Origin is compared by host and port', T, async (t) => {
    const server = await serverWith(t, {});
    const call = toolCall('list_tutorials');
    const own = await send(server.url, call, { headers: { origin: `http://localhost:${server.url.port}` } });
    assert.equal(own.status, 200);
    const otherPort = await send(server.url, call, { headers: { origin: `http://localhost:${Number(server.url.port) + 1}` } });
    assert.equal(otherPort.status, 403);
    assert.match(errorOf(otherPort).hint, /server\.allowedOrigins/);
    const noPort = await send(server.url, call, { headers: { origin: 'http://127.0.0.1' } });
    assert.equal(noPort.status, 403);
  });

  test('a client that streams an oversized body to its end gets the 413, not a torn connection', T, async (t) => {
    const server = await serverWith(t, {});
    const call = toolCall('submit_step', { tutorial_id: 'first-tool', answer: 'x'.repeat(1024 * 1024) });
    const streamed = (headers: Record<string, string>): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: server.url.hostname,
            port: server.url.port,
            method: 'POST',
            path: '/mcp',
            headers: { ...call.headers, ...headers },
            agent: false,
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: 0 }));
          },
        );
        req.on('error', reject); // EPIPE / ECONNRESET: the torn connection of issue 11
        const bytes = Buffer.from(call.body);
        for (let i = 0; i < bytes.length; i += 64 * 1024) req.write(bytes.subarray(i, i + 64 * 1024));
        req.end();
      });
    for (const headers of [{}, { 'content-length': String(Buffer.byteLength(call.body)) }] as Array<Record<string, string>>) {
      const a = await within(WAIT_MS, streamed(headers), 'the 413');
      assert.equal(a.status, 413);
      assert.equal(a.headers.connection, 'close');
      assert.equal(errorOf(a).hint, 'Send shorter arguments; answers are a letter or a few words.');
    }
  });
});
