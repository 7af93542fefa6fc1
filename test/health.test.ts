// The full health check, availability and the memory limit against a real daemon and server (issue 8).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { HealthResult, MetricsAnalyzeResult, MetricsHistoryResult, type StatusResult } from '../shared/schemas/rpc.js';
import { freePort, postMcp, tempDir, toolCallRequest, writeConfig } from './helpers.js';
import { FIXTURES, subscription, inState, rpc, spawnDaemon, startDaemon, status, waitForStatus } from './daemon-helpers.js';

const T = { timeout: 120_000 };

async function health(socket: string): Promise<HealthResult> {
  const r = await rpc(socket, 'health', undefined, 30_000);
  if (!r.result) throw new Error(`health failed: ${JSON.stringify(r.error)}`);
  return HealthResult.parse(r.result);
}

function failing(h: HealthResult): string[] {
  return Object.entries(h.checks).flatMap(([name, c]) => (c.status === 'pass' ? [] : [name]));
}

describe('the health check (manual 2.2)', () => {
  test('a good server is healthy: five checks pass in the manual’s words, recorded in ops.db and the log', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const h = await health(d.socket);
    assert.equal(h.status, 'healthy', JSON.stringify(h.checks));
    assert.match(h.checks.database_connection.details, /^Users: \d+$/);
    assert.match(h.checks.learning_system.details, /^Tutorials: [1-9]\d*, Active learners: 0$/);
    assert.ok(h.checks.server_response.response_time < 5, 'seconds, as the manual');
    assert.equal(h.availability.goal, 0.99);
    // The probes (the periodic one and the health check's) are not learners.
    const s = await status(d.socket);
    assert.equal(s.activeLearners, 0);
    const ops = new Database(join(dir, 'ops.db'), { readonly: true });
    t.after(() => ops.close());
    const row = ops.prepare('SELECT status, report FROM health_checks').get() as { status: string; report: string };
    assert.equal(row.status, 'healthy');
    assert.deepEqual(HealthResult.parse(JSON.parse(row.report)), h);
    const full = ops.prepare("SELECT ok FROM probes WHERE kind = 'full'").all();
    assert.deepEqual(full, [{ ok: 1 }]);
    const log = readFileSync(join(dir, 'logs', 'mcp-starterd.log'), 'utf8');
    assert.match(log, /"event":"health","status":"healthy"/);
    assert.doesNotMatch(log, /"event":"tool_call"/, 'the probes’ calls are not learners’ tool calls');
  });

  test('a stopped server fails server_response and mcp_probe, each saying to start it', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    assert.ok((await rpc(d.socket, 'stop')).result);
    const h = await health(d.socket);
    assert.equal(h.status, 'unhealthy');
    assert.deepEqual(failing(h), ['server_response', 'mcp_probe']);
    assert.match(h.checks.server_response.hint ?? '', /mcp-starterctl start/);
    assert.match(h.checks.mcp_probe.hint ?? '', /mcp-starterctl start/);
    assert.equal(h.checks.database_connection.status, 'pass', 'the data is still there');
  });

  test('a learning database that is not a database is an error with what to do', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    // The server keeps its open file; the path now holds something else.
    for (const suffix of ['', '-wal', '-shm']) renameSync(join(dir, `mcp-starter.db${suffix}`), join(dir, `moved.db${suffix}`));
    writeFileSync(join(dir, 'mcp-starter.db'), 'this is not SQLite'.repeat(100));
    const h = await health(d.socket);
    assert.equal(h.checks.database_connection.status, 'error');
    assert.match(h.checks.database_connection.details, /not a database|SQLITE_NOTADB/);
    assert.match(h.checks.database_connection.hint ?? '', /restore a backup/);
    assert.equal(h.checks.learning_system.status, 'error');
    assert.equal(h.status, 'unhealthy');
  });

  test('no tutorials fails learning_system with the catalogue hint', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const db = new Database(join(dir, 'mcp-starter.db'));
    db.prepare("UPDATE tutorials SET retired_at = '2026-11-28T00:00:00.000Z'").run();
    db.close();
    const h = await health(d.socket);
    assert.deepEqual(failing(h), ['learning_system']);
    assert.match(h.checks.learning_system.details, /^Tutorials: 0, Active learners: 0$/);
    assert.match(h.checks.learning_system.hint ?? '', /catalogue/);
  });

  test('a server that answers /health but fails a real MCP request fails mcp_probe only', T, async (t) => {
    const dir = tempDir(t);
    // Periodic probes far apart, so the liveness probe does not restart it first.
    const d = await startDaemon(t, dir, {
      MCP_STARTERD_CHILD: join(FIXTURES, 'mcp-fails-when-marked.ts'),
      MCP_STARTER_PROBE_INTERVAL_MS: '600000',
    });
    writeFileSync(join(dir, 'mcp-broken'), '');
    const h = await health(d.socket);
    assert.deepEqual(failing(h), ['mcp_probe']);
    assert.match(h.checks.mcp_probe.hint ?? '', /fails a real MCP request/);
  });
});

describe('availability (DESIGN.md, Data)', () => {
  test('survives a daemon restart: a SIGKILLed daemon’s absence is down time; a crash loop is all down', T, async (t) => {
    const dir = tempDir(t);
    const first = await startDaemon(t, dir);
    const before = await status(first.socket);
    assert.equal(before.availability.h24, 1);
    // The daemon dies without a word (its server follows on the closed IPC channel).
    first.proc.kill('SIGKILL');
    await once(first.proc, 'exit');
    // The next daemon runs a server that crashes at once, until the crash loop stops it.
    const second = spawnDaemon(t, dir, { MCP_STARTERD_CHILD: join(FIXTURES, 'crash-at-once.ts') });
    const fatal = await waitForStatus(second.socket, inState('fatal'));
    assert.ok(
      fatal.availability.h24 !== null && fatal.availability.h24 < 1,
      `the gap and the crash loop are down: ${fatal.availability.h24}`,
    );
    const ops = new Database(join(dir, 'ops.db'), { readonly: true });
    t.after(() => ops.close());
    const reasons = ops.prepare("SELECT reason FROM availability WHERE condition = 'down'").all() as Array<{ reason: string }>;
    assert.ok(
      reasons.some((r) => /the daemon was not running/.test(r.reason)),
      JSON.stringify(reasons),
    );
  });

  test('an operator’s stop is planned: availability stays whole', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    assert.ok((await rpc(d.socket, 'stop')).result);
    assert.ok((await rpc(d.socket, 'start')).result);
    const s = await status(d.socket);
    assert.equal(s.child.state, 'running');
    assert.equal(s.availability.h24, 1);
  });
});

describe('ops.db trouble', () => {
  test('an ops.db that cannot be opened leaves health and metrics working in memory, with an alert that says so', T, async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'ops.db')); // a folder where the file should be
    const d = await startDaemon(t, dir);
    const alert = (await status(d.socket)).alerts.find((a) => a.rule === 'ops_writes');
    assert.ok(alert, 'status names the problem');
    assert.match(alert.message, /cannot open .*ops\.db/);
    assert.match(alert.hint, /restart the daemon/);
    const h = await health(d.socket);
    assert.equal(h.status, 'healthy', 'the service itself is fine');
    assert.equal((await status(d.socket)).child.state, 'running');
  });
});

describe('metrics', () => {
  test('samples the machine, the server and its learners’ figures; analyze and history read them from ops.db', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir, { MCP_STARTER_CONFIG: writeConfig(dir, { metrics: { sampleIntervalMs: 1_000 } }) });
    const samples = await nextNotifications(d.socket, 'metrics', 2);
    const last = samples[1] as Record<string, unknown>;
    assert.equal(typeof last['cpu_percent'], 'number');
    assert.ok((last['memory_rss_mb'] as number) > 10, 'the server’s RSS in MB');
    const analysis = MetricsAnalyzeResult.parse((await rpc(d.socket, 'metrics.analyze', { hours: 1 })).result);
    assert.ok(analysis.analysis.samples >= 2);
    assert.ok(analysis.current !== null);
    const history = MetricsHistoryResult.parse((await rpc(d.socket, 'metrics.history', { hours: 1 })).result);
    assert.equal(history.resolution, 'raw');
    assert.ok(history.samples.length >= 2);
    const bad = await rpc(d.socket, 'metrics.analyze', { hours: -1 });
    assert.equal(bad.error?.data?.code, 'E_BAD_PARAMS');
  });

  test('a server that keeps growing past restart.maxMemoryMb is restarted gracefully, with the figures logged', T, async (t) => {
    const dir = tempDir(t);
    const config = writeConfig(dir, { metrics: { sampleIntervalMs: 1_000 }, restart: { maxMemoryMb: 300, maxMemoryForMs: 1_500 } });
    const d = await startDaemon(t, dir, {
      MCP_STARTER_CONFIG: config,
      MCP_STARTERD_CHILD: join(FIXTURES, 'growing-server.ts'),
      GROW_MAX_MB: '400',
    });
    const first = (await status(d.socket)).child.pid;
    const restarted = await waitForStatus(d.socket, (s: StatusResult) => s.child.state === 'running' && s.child.pid !== first, 60_000);
    assert.notEqual(restarted.child.pid, first);
    const log = readFileSync(join(dir, 'logs', 'mcp-starterd.log'), 'utf8');
    const line = log.split('\n').find((l) => l.includes('"event":"memory_limit"'));
    assert.ok(line, 'the restart is logged');
    const event = JSON.parse(line) as { rssMb: number; limitMb: number; overForMs: number };
    assert.ok(event.rssMb > 300 && event.limitMb === 300 && event.overForMs >= 1_500, line);
    assert.match(log, /"trigger":"stop","pid":\d+,"reason":"memory-limit"/);
  });
});

describe('Prometheus', () => {
  test('/metrics on the configured loopback port has the daemon’s figures and the learners’ operations', T, async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const d = await startDaemon(t, dir, { MCP_STARTER_CONFIG: writeConfig(dir, { prometheus: { port } }) });
    const s = await status(d.socket);
    // The child reports its operations with its stats: the first report that counts a request carries this call.
    const reported = await subscription(d.socket, 'stats', (p) => (p as { requests: number }).requests > 0);
    const call = await postMcp(new URL(s.url), toolCallRequest('list_tutorials', {}));
    assert.equal(call.status, 200);
    await call.text();
    await reported.found;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /mcp_server_operation_duration_seconds_count\{[^}]*gen_ai_tool_name="list_tutorials"[^}]*\} 1$/m);
    assert.match(text, /^mcp_starter_child_state\{state="running"\} 1$/m);
    assert.match(text, /^mcp_starter_child_state\{state="fatal"\} 0$/m);
    assert.match(text, /^mcp_starter_availability_ratio\{window="24h"\} 1$/m);
    assert.match(text, /^# TYPE mcp_starter_child_restarts_total counter$/m);
    assert.match(text, /^mcp_starter_child_resident_memory_bytes \d+/m);
    assert.match(text, /^process_resident_memory_bytes \d+/m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    assert.doesNotMatch(
      text,
      /mcp-starterd-probe|gen_ai_tool_name="list_tutorials",error_type="[^"]+"\} [1-9]/,
      'the probe’s calls are not counted',
    );
  });

  test('a Prometheus port already taken is an alert, not a daemon that will not start', T, async (t) => {
    const dir = tempDir(t);
    const holder = createServer().listen(0, '127.0.0.1');
    t.after(() => holder.close());
    await once(holder, 'listening');
    const port = (holder.address() as AddressInfo).port;
    const d = await startDaemon(t, dir, { MCP_STARTER_CONFIG: writeConfig(dir, { prometheus: { port } }) });
    const alert = (await status(d.socket)).alerts.find((a) => a.rule === 'prometheus');
    assert.ok(alert, 'status names the problem');
    assert.match(alert.message, new RegExp(String(port)));
    assert.match(alert.hint, /prometheus\.port/);
  });
});

/** Resolves with the next `count` notifications of `topic`. */
async function nextNotifications(socket: string, topic: 'metrics' | 'alerts', count: number): Promise<unknown[]> {
  const got: unknown[] = [];
  const { found } = await subscription(socket, topic, (p) => got.push(p) >= count);
  await found;
  return got;
}
