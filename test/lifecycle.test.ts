// Overlapping lifecycle operations and the crash window (issue 7): afterwards the state, the
// server processes alive and the port must agree.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { HttpErrorBody } from '../shared/schemas/http.js';
import { RESULT_SCHEMAS, type EmergencyStopResult, type MethodName, type StatusResult, type StopResult } from '../shared/schemas/rpc.js';
import { DaemonWatch, FIXTURES, inState, pidAlive, rpc, spawnDaemon, startDaemon, status, waitForStatus } from './daemon-helpers.js';
import { tempDir, v2HttpClient, WAIT_MS } from './helpers.js';

const T = { timeout: 90_000 };

/** GET /health on a new connection (no keep-alive); rejects if no answer comes within `ms`. */
function healthOnce(url: string, ms = WAIT_MS): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url.replace('/mcp', '/health'), { agent: false, timeout: ms }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ms} ms (hung)`)));
    req.on('error', reject);
  });
}

/** A POST whose body never finishes: a request in flight that keeps a drain waiting until its deadline. */
async function holdRequestInFlight(t: TestContext, socket: string, url: string): Promise<void> {
  const slow = connect(Number(new URL(url).port), '127.0.0.1');
  t.after(() => slow.destroy());
  await once(slow, 'connect');
  slow.on('error', () => undefined);
  slow.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"js');
  await waitForStatus(socket, (x) => x.inFlight >= 1);
}

/** Every pid a status names: the serving child and the others (a reload's new one, draining old ones). */
const pidsOf = (s: StatusResult): number[] => [...(s.child.pid === null ? [] : [s.child.pid]), ...s.child.otherPids];

/** The state, the processes and the port agree on "stopped". */
async function assertStopped(socket: string, seen: number[], message: RegExp): Promise<void> {
  const s = await status(socket);
  assert.equal(s.child.state, 'stopped', JSON.stringify(s.child));
  assert.equal(s.child.pid, null);
  assert.deepEqual(s.child.otherPids, []);
  assert.equal(s.operation, null);
  for (const pid of seen) assert.equal(pidAlive(pid), false, `server pid ${pid} is still alive`);
  const answer = await healthOnce(s.url);
  assert.equal(answer.status, 503);
  const body = HttpErrorBody.parse(JSON.parse(answer.body));
  assert.match(body.error.data.message, message);
}

describe('overlapping lifecycle operations', () => {
  test('two reloads at once: one hands over, the other is refused naming the reload; one server is left', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const before = await status(d.socket);
    const answers = await Promise.all([rpc(d.socket, 'config.reload'), rpc(d.socket, 'config.reload')]);
    const ok = answers.filter((a) => a.result !== undefined);
    const refused = answers.filter((a) => a.error !== undefined);
    assert.equal(ok.length, 1, JSON.stringify(answers));
    assert.equal(refused[0]?.error?.data?.code, 'E_BUSY');
    assert.match(refused[0]?.error?.message ?? '', /a reload is in progress/);
    const reload = RESULT_SCHEMAS['config.reload'].parse(ok[0]?.result);
    assert.equal(reload.oldPid, before.child.pid);
    const after = await waitForStatus(d.socket, (s) => s.child.otherPids.length === 0 && s.operation === null);
    assert.equal(after.child.state, 'running');
    assert.equal(after.child.pid, reload.newPid);
    assert.equal(pidAlive(before.child.pid ?? 0), false, 'the old server is gone');
    assert.equal((await healthOnce(after.url)).status, 200);
  });

  test('reload then stop during the handover: stopped, with no server process left and the port saying so', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const watch = new DaemonWatch(d.socket);
    t.after(() => watch.close());
    const before = await status(d.socket);
    const reload = rpc(d.socket, 'config.reload');
    const during = await watch.until((s) => s.child.state === 'reloading' && s.child.otherPids.length > 0);
    assert.deepEqual(during.operation?.name, 'reload');
    const stop = await rpc<StopResult>(d.socket, 'stop', {});
    assert.ok(stop.result, JSON.stringify(stop.error));
    RESULT_SCHEMAS.stop.parse(stop.result);
    await reload;
    await assertStopped(d.socket, [...pidsOf(before), ...pidsOf(during)], /stopped/);
  });

  test('an emergency stop pre-empts a stop that is draining: stopped, nothing alive, the port says emergency', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const s = await status(d.socket);
    // A request whose body never finishes keeps the drain waiting.
    await holdRequestInFlight(t, d.socket, s.url);
    const stop = rpc<StopResult>(d.socket, 'stop', { timeoutMs: 60_000 });
    await waitForStatus(d.socket, inState('draining'));
    const emergency = await rpc<EmergencyStopResult>(d.socket, 'emergencyStop', { reason: 'test' });
    const e = RESULT_SCHEMAS.emergencyStop.parse(emergency.result);
    assert.equal(e.killedPid, s.child.pid);
    assert.equal(e.backupError, null);
    const stopped = await stop;
    assert.ok(stopped.result, JSON.stringify(stopped.error));
    assert.equal(stopped.result.killed, true);
    await assertStopped(d.socket, pidsOf(s), /emergency/);
    const after = await status(d.socket);
    assert.match(after.child.hint ?? '', /emergency/);
    assert.equal(after.child.lastExit?.reason, 'emergency');
  });

  test('a stop while the server is starting waits for the start to settle, then leaves it stopped', T, async (t) => {
    const d = spawnDaemon(t, tempDir(t), {
      MCP_STARTERD_CHILD: join(FIXTURES, 'never-ready.ts'),
      MCP_STARTER_RESTART_READY_TIMEOUT_MS: '1500',
    });
    const starting = await waitForStatus(d.socket, (s) => s.child.state === 'starting' && s.child.pid !== null);
    const stop = await rpc<StopResult>(d.socket, 'stop', {});
    assert.ok(stop.result, JSON.stringify(stop.error));
    await assertStopped(d.socket, pidsOf(starting), /stopped/);
  });

  test('a restart while another operation runs is refused with E_BUSY naming it', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const reload = rpc(d.socket, 'config.reload');
    await waitForStatus(d.socket, inState('reloading'));
    const restart = await rpc(d.socket, 'restart', {});
    assert.equal(restart.error?.data?.code, 'E_BUSY');
    assert.match(restart.error?.message ?? '', /Cannot restart the server now: a reload is in progress/);
    assert.match(restart.error?.data?.hint ?? '', /mcp-starterctl status/);
    assert.ok((await reload).result);
  });
});

describe('the control API', () => {
  test('every method answers what its result schema says', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const calls: Array<[MethodName, unknown]> = [
      ['status', undefined],
      ['subscribe', { topics: ['state'] }],
      ['config.reload', undefined],
      ['restart', {}],
      ['health', undefined],
      ['metrics.current', undefined],
      ['metrics.history', { hours: 1 }],
      ['metrics.analyze', { hours: 1 }],
      ['diagnose', undefined],
      ['report.learning', undefined],
      ['report.weekly', {}],
      ['optimize', undefined],
      ['recover', { recomputeProgress: true }],
      ['logs.rotate', undefined],
      ['logs.tail', { lines: 5, level: 'info' }],
      ['logs.analyze', { hours: 1 }],
      ['jobs.list', undefined],
      ['jobs.run', { name: 'weekly-report' }],
      ['backup.create', undefined],
      ['backup.list', undefined],
      // A backup taken beside the daemon with the same online backup code, restored through it.
      [
        'backup.restore',
        {
          file: (
            await (
              await import('../shared/backup.js')
            ).backupDatabase(join(d.dataDir, 'mcp-starter.db'), join(d.dataDir, 'backups'), 'test')
          ).file,
        },
      ],
      ['db.check', undefined],
      ['db.optimize', undefined],
      ['stop', {}],
      ['start', undefined],
      ['emergencyStop', { reason: 'schema check' }],
    ];
    const seen = new Set<string>();
    for (const [method, params] of calls) {
      const r = await rpc(d.socket, method, params);
      assert.ok(r.result !== undefined, `${method}: ${JSON.stringify(r.error)}`);
      const parsed = RESULT_SCHEMAS[method].safeParse(r.result);
      assert.ok(parsed.success, `${method}: ${parsed.error?.message ?? ''}`);
      seen.add(method);
    }
    assert.deepEqual([...seen].sort(), Object.keys(RESULT_SCHEMAS).sort(), 'every method is covered');
  });
});

describe('timeouts the states own', () => {
  test('a child that never reports ready is killed at the ready timeout and ends fatal after its retries', T, async (t) => {
    const d = spawnDaemon(t, tempDir(t), {
      MCP_STARTERD_CHILD: join(FIXTURES, 'never-ready.ts'),
      MCP_STARTER_RESTART_READY_TIMEOUT_MS: '800',
      MCP_STARTER_RESTART_MAX_RESTARTS: '1',
    });
    const s = await waitForStatus(d.socket, inState('fatal'));
    assert.equal(s.child.lastExit?.reason, 'ready-timeout');
    assert.equal(s.child.lastExit?.signal, 'SIGKILL');
    assert.equal(s.child.restarts, 2);
  });

  test('a stop escalates to SIGTERM then SIGKILL for a child that ignores the drain and SIGTERM', T, async (t) => {
    const d = await startDaemon(t, tempDir(t), { MCP_STARTERD_CHILD: join(FIXTURES, 'ignore-sigterm.ts') });
    const s = await status(d.socket);
    const r = await rpc<StopResult>(d.socket, 'stop', { timeoutMs: 300 });
    const stop = RESULT_SCHEMAS.stop.parse(r.result);
    assert.equal(stop.drained, false);
    assert.equal(stop.killed, true);
    // drain 300 ms + the daemon's 2 s grace + kill timeout 1 s
    assert.ok(stop.ms >= 3_000, `took ${stop.ms} ms`);
    await assertStopped(d.socket, pidsOf(s), /stopped/);
  });

  test('a stop whose drain deadline cuts a request in flight does not call itself drained', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const s = await status(d.socket);
    await holdRequestInFlight(t, d.socket, s.url);
    const r = await rpc<StopResult>(d.socket, 'stop', { timeoutMs: 300 });
    const stop = RESULT_SCHEMAS.stop.parse(r.result);
    assert.equal(stop.inFlight, 1);
    assert.equal(stop.drained, false, 'the request in flight was cut at the deadline');
    assert.equal(stop.killed, false, 'the server exited by itself at its deadline');
  });

  test('a reload whose new child fails its probe is refused and the old one keeps serving', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir, {
      MCP_STARTERD_CHILD: join(FIXTURES, 'fail-when-marked.ts'),
      MCP_STARTER_RESTART_READY_TIMEOUT_MS: '8000',
    });
    const before = await status(d.socket);
    writeFileSync(join(dir, 'broken'), '');
    const r = await rpc(d.socket, 'config.reload');
    assert.equal(r.error?.data?.code, 'E_CHILD_STATE', JSON.stringify(r));
    assert.match(r.error?.message ?? '', /old server keeps serving/);
    const after = await status(d.socket);
    assert.equal(after.child.state, 'running');
    assert.equal(after.child.pid, before.child.pid);
    assert.deepEqual(after.child.otherPids, [], 'the failed new server is gone');
    const client = await v2HttpClient(t, new URL(after.url));
    const tools = await client.listTools();
    assert.ok(tools.tools.length > 0);
  });
});

describe("the daemon's port", () => {
  test('while no server is ready, connections wait in the queue, then get 503; past the queue limit at once', T, async (t) => {
    const d = spawnDaemon(t, tempDir(t), {
      MCP_STARTERD_CHILD: join(FIXTURES, 'never-ready.ts'),
      MCP_STARTER_RESTART_READY_TIMEOUT_MS: '60000',
      MCP_STARTER_SERVER_QUEUE_TIMEOUT_MS: '700',
      MCP_STARTER_SERVER_MAX_QUEUED_CONNECTIONS: '2',
    });
    const s = await waitForStatus(d.socket, inState('starting'));
    const t0 = performance.now();
    const queued = [healthOnce(s.url), healthOnce(s.url)];
    // Let both queued connections reach the daemon before the third.
    await waitForStatus(d.socket, () => true);
    const full = await healthOnce(s.url);
    assert.equal(full.status, 503);
    assert.match(HttpErrorBody.parse(JSON.parse(full.body)).error.data.message, /queue is full/);
    for (const answer of await Promise.all(queued)) {
      assert.equal(answer.status, 503);
      assert.match(HttpErrorBody.parse(JSON.parse(answer.body)).error.data.message, /did not come back in time/);
    }
    assert.ok(performance.now() - t0 >= 600, 'the queued ones waited for the queue timeout');
  });

  test('requests sent at the instant the server is SIGKILLed are all answered by the next one', T, async (t) => {
    const d = await startDaemon(t, tempDir(t), { MCP_STARTER_RESTART_MAX_RESTARTS: '50' });
    const watch = new DaemonWatch(d.socket);
    t.after(() => watch.close());
    const rounds = 6;
    const perRound = 8;
    for (let round = 0; round < rounds; round++) {
      const s = await watch.until((x) => x.child.state === 'running' && x.child.pid !== null);
      process.kill(s.child.pid ?? 0, 'SIGKILL');
      const answers = await Promise.all(Array.from({ length: perRound }, () => healthOnce(s.url)));
      assert.deepEqual(
        answers.map((a) => a.status),
        Array.from({ length: perRound }, () => 200),
        `round ${round}`,
      );
    }
    const end = await status(d.socket);
    assert.equal(end.child.restarts, rounds);
  });
});
