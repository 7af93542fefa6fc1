import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { ChildMessage, type ReadyMessage } from '../shared/schemas/ipc.js';
import { forkServer, postMcp, tempDir, toolCallRequest, WAIT_MS } from './helpers.js';
import type { ChildProcess } from 'node:child_process';

/** The next IPC message of a given type from the child, parsed with the shared schema. */
function nextMessage<T extends ChildMessage['type']>(proc: ChildProcess, type: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} message within ${WAIT_MS} ms`)), WAIT_MS);
    const onMessage = (raw: unknown): void => {
      const msg = ChildMessage.parse(raw);
      if (msg.type !== type) return;
      clearTimeout(timer);
      proc.off('message', onMessage);
      resolve(msg as Extract<ChildMessage, { type: T }>);
    };
    proc.on('message', onMessage);
  });
}

/** Writes raw bytes on a socket and resolves with the status code of the next response. */
function readStatus(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m && buf.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function openSocket(t: TestContext, port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  return socket;
}

function portOf(ready: ReadyMessage): number {
  return Number(new URL(ready.url).port);
}

const STATS_ENV = { MCP_STARTER_STATS_INTERVAL_MS: '200' };

describe('the server under a daemon (IPC channel)', () => {
  test(
    'reports ready and stats, then drains: finishes the request in flight, answers a new one with 503, exits 0',
    { timeout: 60_000 },
    async (t) => {
      const dir = tempDir(t);
      const { proc } = forkServer(t, { dataDir: dir, env: STATS_ENV });
      const ready = await nextMessage(proc, 'ready');
      assert.equal(ready.pid, proc.pid);
      assert.ok(ready.tutorials >= 6);
      const stats = await nextMessage(proc, 'stats');
      assert.equal(stats.inFlight, 0);
      const port = portOf(ready);

      // A request whose body is still on its way is in flight when the drain starts.
      const slow = await openSocket(t, port);
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
      const slowStatus = readStatus(slow);
      slow.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
      );
      const idle = await openSocket(t, port);
      await nextMessage(proc, 'stats').then(async function waitInFlight(s): Promise<void> {
        if (s.inFlight < 1) await nextMessage(proc, 'stats').then(waitInFlight);
      });

      proc.send({ type: 'drain', timeoutMs: 10_000 });
      const draining = await nextMessage(proc, 'draining');
      assert.equal(draining.inFlight, 1);

      const newStatus = readStatus(idle);
      idle.write('GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      assert.equal(await newStatus, 503, 'a new request during the drain gets 503');

      const exited = once(proc, 'exit');
      slow.write(body.slice(5));
      assert.equal(await slowStatus, 200, 'the request in flight is finished');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    },
  );

  test("the daemon's probe requests stay out of the learners' figures", { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const { proc } = forkServer(t, { dataDir: dir, env: { ...STATS_ENV, MCP_STARTER_PROBE_TOKEN: 'probe-secret' } });
    let requests = 0;
    proc.on('message', (raw: unknown) => {
      const msg = ChildMessage.parse(raw);
      if (msg.type === 'stats') requests += msg.requests;
    });
    const url = new URL(`http://127.0.0.1:${portOf(await nextMessage(proc, 'ready'))}/mcp`);
    for (let i = 0; i < 3; i++) {
      const res = await postMcp(url, toolCallRequest('list_tutorials', {}, 'probe-secret'));
      assert.equal(res.status, 200);
      await res.text();
    }
    const learner = await postMcp(url, toolCallRequest('list_tutorials', {}));
    assert.equal(learner.status, 200);
    await learner.text();
    // Every window up to one that began after the learner's answer has been counted.
    await nextMessage(proc, 'stats');
    await nextMessage(proc, 'stats');
    assert.equal(requests, 1, 'three probe calls and one learner call: one request counted');
  });

  test('exits when the IPC channel closes (the daemon died)', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const { proc } = forkServer(t, { dataDir: dir });
    await nextMessage(proc, 'ready');
    const exited = once(proc, 'exit');
    proc.disconnect();
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
  });

  test('serves on a listening socket passed by the parent', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const listener: Server = createServer();
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const port = (listener.address() as { port: number }).port;
    const { proc } = forkServer(t, { dataDir: dir, args: ['--listen-handle'] });
    proc.send({ type: 'listen' }, listener);
    const ready = await nextMessage(proc, 'ready');
    // The child holds its own copy of the socket; the parent's copy must not accept (it would steal connections).
    listener.close();
    assert.equal(portOf(ready), port);
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
  });

  test('serves connections the parent accepts and passes on; they wait through a killed child', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    let child: ChildProcess | undefined;
    let nextId = 0;
    const queued: Socket[] = [];
    const listener: Server = createServer({ pauseOnConnect: true }, (socket) => {
      if (child?.connected) child.send({ type: 'connection', id: nextId++ }, socket);
      else queued.push(socket);
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    t.after(() => listener.close());
    const port = (listener.address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}/mcp`;

    for (let round = 0; round < 2; round++) {
      // In round 2 the request is sent while no child runs: it waits in the parent's queue.
      const pending = round === 1 ? fetch(`http://127.0.0.1:${port}/health`) : undefined;
      const { proc } = forkServer(t, { dataDir: dir, args: ['--listen-handle'] });
      proc.send({ type: 'listen', url });
      const ready = await nextMessage(proc, 'ready');
      assert.equal(ready.url, url);
      child = proc;
      for (const s of queued.splice(0)) proc.send({ type: 'connection', id: nextId++ }, s);
      if (pending) assert.equal((await pending).status, 200, 'the queued connection was served');
      const confirmed = nextMessage(proc, 'accepted');
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } })).status, 200);
      assert.equal(typeof (await confirmed).id, 'number', 'the child confirms each connection it takes');
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
      child = undefined;
    }
  });
});
