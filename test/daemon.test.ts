import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { integrityOf } from '../shared/backup.js';
import type { EmergencyStopResult, StopResult } from '../shared/schemas/rpc.js';
import { FIXTURES, inState, pidAlive, rpc, spawnDaemon, startDaemon, status, subscription, waitForStatus } from './daemon-helpers.js';
import { LineStream, tempDir, v2HttpClient, waitForLine, WAIT_MS } from './helpers.js';

function readStatus(socket: import('node:net').Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = '';
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    socket.once('error', reject);
  });
}

describe('mcp-starterd', () => {
  test('runs the server: status shows running, a real MCP client works, the socket is 0600', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const s = await status(d.socket);
    assert.equal(s.child.state, 'running');
    assert.equal(s.daemon.pid, d.proc.pid);
    assert.equal(statSync(d.socket).mode & 0o777, 0o600);
    // The child's lines reach the daemon's file through its stderr pipe, a moment after the answer.
    const logged = await subscription(d.socket, 'logs', (p) =>
      /"name":"mcp-starter-server".*"event":"tool_call"/.test((p as { line: string }).line),
    );
    const client = await v2HttpClient(t, new URL(s.url));
    const r = (await client.callTool({ name: 'list_tutorials', arguments: {} })) as { structuredContent?: { tutorials: unknown[] } };
    assert.ok((r.structuredContent?.tutorials.length ?? 0) >= 6);
    await logged.found;
    const log = readFileSync(join(dir, 'logs', 'mcp-starterd.log'), 'utf8');
    assert.match(log, /"event":"child_state"/);
    assert.match(log, /"name":"mcp-starter-server".*"event":"tool_call"/, 'the child’s lines are in the daemon’s log');
    assert.doesNotMatch(log, /"event":"new_learner".*"learner":"local".*probe/, 'the probe is not a learner');
  });

  test('restarts the child after a SIGKILL, with a new pid and the restart counted', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const before = await status(d.socket);
    assert.ok(before.child.pid);
    process.kill(before.child.pid, 'SIGKILL');
    const after = await waitForStatus(d.socket, (s) => s.child.state === 'running' && s.child.pid !== before.child.pid);
    assert.equal(after.child.restarts, 1);
    assert.equal(after.child.lastExit?.signal, 'SIGKILL');
    assert.equal(after.child.lastExit?.reason, 'crash');
  });

  test('subscribers get every state change and the stats as they happen', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const before = await status(d.socket);
    const sock = connect(d.socket);
    t.after(() => sock.destroy());
    const lines: Array<{ method?: string; params?: { state?: string; from?: string }; result?: unknown }> = [];
    let buf = '';
    sock.setEncoding('utf8');
    const seen = new Promise<void>((resolve) => {
      sock.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)) as (typeof lines)[number]);
          buf = buf.slice(i + 1);
        }
        const states = lines.filter((l) => l.method === 'state').map((l) => l.params?.state);
        if (states.at(-1) === 'running' && states.includes('backoff') && lines.some((l) => l.method === 'stats')) resolve();
      });
    });
    sock.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { topics: ['state', 'stats'] } })}\n`);
    await waitForStatus(d.socket, () => lines.some((l) => l.result !== undefined));
    process.kill(before.child.pid ?? 0, 'SIGKILL');
    await seen;
    assert.deepEqual(
      lines.filter((l) => l.method === 'state').map((l) => `${l.params?.from ?? ''}→${l.params?.state ?? ''}`),
      ['running→backoff', 'backoff→starting', 'starting→running'],
    );
  });

  test(
    'a child that exits at once every time ends in fatal, with its last words and a hint; start tries again',
    { timeout: 90_000 },
    async (t) => {
      const d = spawnDaemon(t, tempDir(t), { MCPSTARTERD_UNUSED: '', MCP_STARTERD_CHILD: join(FIXTURES, 'crash-at-once.ts') });
      const s = await waitForStatus(d.socket, inState('fatal'));
      assert.equal(s.child.lastExit?.code, 3);
      assert.ok(
        s.child.lastStderr.some((l) => l.includes('FIXTURE_DB setting is missing')),
        JSON.stringify(s.child.lastStderr),
      );
      assert.match(s.child.hint ?? '', /mcp-starterctl start/);
      assert.equal(s.child.restarts, 4);
      const started = await rpc<{ state: string }>(d.socket, 'start');
      assert.ok(started.result, JSON.stringify(started.error));
      await waitForStatus(d.socket, (x) => x.child.state === 'fatal' && x.child.restarts > 4);
    },
  );

  test('a hung child (event loop stuck) is restarted after failed MCP probes', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t), { MCP_STARTERD_CHILD: join(FIXTURES, 'hang-on-signal.ts') });
    const before = await status(d.socket);
    process.kill(before.child.pid ?? 0, 'SIGUSR2');
    const after = await waitForStatus(d.socket, (s) => s.child.state === 'running' && s.child.pid !== before.child.pid);
    assert.equal(after.child.lastExit?.reason, 'probe-failures');
    assert.equal(pidAlive(before.child.pid ?? 0), false);
  });

  test('stop lets a request in flight finish while a new one gets 503, then the child exits', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const s = await status(d.socket);
    const port = Number(new URL(s.url).port);
    const slow = connect(port, '127.0.0.1');
    t.after(() => slow.destroy());
    await once(slow, 'connect');
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const slowStatus = readStatus(slow);
    slow.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await waitForStatus(d.socket, (x) => x.inFlight >= 1);
    const stopping = rpc<StopResult>(d.socket, 'stop', { timeoutMs: 10_000 });
    await waitForStatus(d.socket, inState('draining'));
    const fresh = await fetch(s.url.replace('/mcp', '/health'));
    assert.equal(fresh.status, 503, 'a new connection during the stop gets 503');
    assert.match(await fresh.text(), /stopping/);
    slow.write(body.slice(5));
    assert.equal(await slowStatus, 200, 'the request in flight finished');
    const stopped = await stopping;
    assert.equal(stopped.result?.drained, true, JSON.stringify(stopped));
    assert.equal(stopped.result?.inFlight, 1);
    assert.equal((await status(d.socket)).child.state, 'stopped');
    assert.equal(pidAlive(s.child.pid ?? 0), false);
  });

  test('stop --force ends a child that ignores SIGTERM with SIGKILL after the kill timeout', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t), { MCP_STARTERD_CHILD: join(FIXTURES, 'ignore-sigterm.ts') });
    const s = await status(d.socket);
    const r = await rpc<StopResult>(d.socket, 'stop', { force: true });
    assert.equal(r.result?.killed, true, JSON.stringify(r));
    assert.equal(r.result?.drained, false);
    assert.equal(pidAlive(s.child.pid ?? 0), false);
  });

  test('stop leaves no descendant of the server behind (the whole process group is signalled)', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir, { MCP_STARTERD_CHILD: join(FIXTURES, 'with-grandchild.ts') });
    const grandchild = Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8'));
    t.after(() => {
      if (pidAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    });
    assert.ok(pidAlive(grandchild));
    const r = await rpc<StopResult>(d.socket, 'stop', {});
    assert.ok(r.result, JSON.stringify(r.error));
    assert.equal(pidAlive(grandchild), false, 'the helper process went with the server');
  });

  test('emergency stop kills the child, records the active learners and leaves a verified backup', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const s = await status(d.socket);
    const client = await v2HttpClient(t, new URL(s.url));
    await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: 'tools' } });
    const r = await rpc<EmergencyStopResult>(d.socket, 'emergencyStop', { reason: 'test' });
    const e = r.result;
    assert.ok(e, JSON.stringify(r.error));
    assert.equal(e.killedPid, s.child.pid);
    assert.equal(pidAlive(s.child.pid ?? 0), false);
    const active = JSON.parse(readFileSync(e.activeFile, 'utf8')) as { reason: string; learners: Array<{ name: string }> };
    assert.equal(active.reason, 'test');
    assert.deepEqual(
      active.learners.map((l) => l.name),
      ['local'],
    );
    assert.ok(e.backup);
    assert.equal(e.backup.integrity, 'ok');
    assert.equal(integrityOf(e.backup.file), 'ok');
    assert.equal((await status(d.socket)).child.state, 'stopped');
    const refused = await fetch(s.url.replace('/mcp', '/health'));
    assert.equal(refused.status, 503);
  });

  test('reload hands over to a new child without a refused connection', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const s = await status(d.socket);
    const health = s.url.replace('/mcp', '/health');
    let polling = true;
    const codes: number[] = [];
    const failures: string[] = [];
    const poller = (async () => {
      // Until the reload has answered and the old server is gone; the guard only bounds a hang.
      const guard = performance.now() + WAIT_MS * 2;
      while (polling && performance.now() < guard) {
        try {
          codes.push((await fetch(health)).status);
        } catch (err) {
          failures.push(String((err as Error).cause ?? err));
        }
      }
    })();
    const r = await rpc<{ oldPid: number; newPid: number }>(d.socket, 'config.reload');
    assert.equal(r.result?.oldPid, s.child.pid, JSON.stringify(r));
    assert.notEqual(r.result?.newPid, s.child.pid);
    await waitForStatus(d.socket, () => !pidAlive(s.child.pid ?? 0));
    polling = false;
    await poller;
    assert.deepEqual(failures, [], 'no request failed during the reload');
    assert.ok(codes.length > 5 && codes.every((c) => c === 200), `statuses: ${[...new Set(codes)].join(',')}`);
    assert.equal((await status(d.socket)).child.pid, r.result?.newPid);
  });

  test('SIGHUP reloads like `ctl reload`: a new child takes over', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const before = await status(d.socket);
    d.proc.kill('SIGHUP');
    const after = await waitForStatus(d.socket, (s) => s.child.state === 'running' && s.child.pid !== before.child.pid);
    assert.equal(after.child.restarts, 0, 'a handover is not a crash');
    await waitForStatus(d.socket, () => !pidAlive(before.child.pid ?? 0));
  });

  test('a bad config on reload is refused and the old child keeps serving', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'config.json');
    writeFileSync(file, '{}');
    const d = spawnDaemon(t, dir, {}, ['--config', file]);
    const s = await waitForStatus(d.socket, inState('running'));
    writeFileSync(file, JSON.stringify({ server: { prot: 1 } }));
    const r = await rpc(d.socket, 'config.reload');
    assert.equal(r.error?.data?.code, 'E_CONFIG_INVALID');
    assert.match(r.error?.message ?? '', /server\.prot/);
    const after = await status(d.socket);
    assert.equal(after.child.pid, s.child.pid);
    assert.equal(after.child.state, 'running');
  });

  test('when the daemon is SIGKILLed its child exits by itself', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const s = await status(d.socket);
    const exited = once(d.proc, 'exit');
    d.proc.kill('SIGKILL');
    await exited;
    // The child is not ours, so no exit event reaches us: its pidfd-less exit is seen through /proc.
    // Bounded and short (it exits within ~50 ms of the daemon's death, DESIGN.md).
    const deadline = performance.now() + WAIT_MS;
    while (pidAlive(s.child.pid ?? 0) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pidAlive(s.child.pid ?? 0), false, 'no orphan');
  });

  test('SIGTERM drains the child and the daemon exits 0, removing its socket', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const s = await status(d.socket);
    const exited = once(d.proc, 'exit');
    d.proc.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    assert.equal(pidAlive(s.child.pid ?? 0), false);
    assert.equal(existsSync(d.socket), false);
  });

  test('a second daemon on the same data dir is refused, naming the first; a stale socket is recovered', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t);
    // A socket file left behind by a daemon that died.
    const stale = createServer();
    stale.listen(join(dir, 'mcp-starterd.sock'));
    await once(stale, 'listening');
    const staleFd = (stale as unknown as { _handle: { fd: number } })._handle.fd;
    assert.ok(staleFd >= 0);
    stale.close();
    writeFileSync(join(dir, 'mcp-starterd.sock'), '');
    const first = await startDaemon(t, dir);
    const second = spawnDaemon(t, dir);
    const [code] = (await once(second.proc, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(second.stderr.all.join('\n'), new RegExp(`pid ${String(first.proc.pid)}`));
    assert.equal((await status(first.socket)).child.state, 'running');
  });

  test('fuzzed control messages get errors with codes; the connection and the daemon stay up', { timeout: 90_000 }, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const sock = connect(d.socket);
    t.after(() => sock.destroy());
    await once(sock, 'connect');
    const lines = new LineStream(sock);
    const inputs = [
      '{not json',
      '[]',
      '42',
      '{"jsonrpc":"2.0","id":1,"method":"nope"}',
      '{"jsonrpc":"2.0","id":2,"method":"stop","params":{"timeoutMs":"soon"}}',
      '{"jsonrpc":"2.0","id":3,"method":"subscribe","params":{"topics":["weather"]}}',
      '{"jsonrpc":"1.0","id":4,"method":"status"}',
      'x'.repeat(2 * 1024 * 1024),
      '{"jsonrpc":"2.0","id":5,"method":"status"}',
    ];
    for (const l of inputs) sock.write(`${l}\n`);
    await waitForLine(lines, (l) => (l.includes('"id":5') ? true : undefined));
    const parsed = lines.all.map(
      (l) => JSON.parse(l) as { id: unknown; error?: { code: number; data?: { code: string } }; result?: unknown },
    );
    const codes = parsed.filter((p) => p.error).map((p) => p.error?.data?.code ?? String(p.error?.code));
    for (const c of ['E_RPC_PARSE', 'E_RPC_METHOD', 'E_BAD_PARAMS', 'E_RPC_TOO_LARGE'])
      assert.ok(codes.includes(c), `${c} in ${codes.join(',')}`);
    assert.ok(parsed.find((p) => p.id === 5)?.result, 'the same connection still answers');
    assert.equal((await status(d.socket)).child.state, 'running');
  });

  test('a bad config file stops the daemon at start with exit 2, naming the key', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ drain: { timeoutMS: 5 } }));
    const d = spawnDaemon(t, dir, {}, ['--config', file]);
    const [code] = (await once(d.proc, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(d.stderr.all.join('\n'), /unknown key "drain\.timeoutMS"/);
  });
});
