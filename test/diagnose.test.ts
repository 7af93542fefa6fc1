import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, closeSync, mkdirSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { renderDiagnose } from '../ctl/render/diagnose.js';
import { diagnoseOffline } from '../shared/diagnose/offline.js';
import { RECENT_ERROR_LINES } from '../shared/diagnose/log-checks.js';
import { readLogTail } from '../shared/diagnose/log-tail.js';
import { runChecks, sortFindings } from '../shared/diagnose/run.js';
import { openLearningDb } from '../shared/learning-db.js';
import { dataPaths, ensureDataDir, type DataPaths } from '../shared/paths.js';
import { DiagnoseResult, type DiagnoseFinding } from '../shared/schemas/rpc.js';
import { ctl, withTimeout } from './ctl-helpers.js';
import { FIXTURES, inState, rpc, spawnDaemon, startDaemon, waitForStatus } from './daemon-helpers.js';
import { endProcess, tempDir } from './helpers.js';

const T = { timeout: 90_000 };
// mcp-starterd creates its files under umask 077 (0600); the data dirs these tests make by hand do the same.
process.umask(0o077);
/** The disk of a test machine may be fuller than the manual's 85 %: that is not the install's fault. */
const ANY_DISK = { MCP_STARTER_THRESHOLDS_DISK_PERCENT: '100' };

function parse(stdout: string): DiagnoseResult {
  return DiagnoseResult.parse(JSON.parse(stdout));
}

const ids = (r: DiagnoseResult): string[] => r.findings.map((f) => f.id);

function finding(r: DiagnoseResult, id: string): DiagnoseFinding {
  const f = r.findings.find((x) => x.id === id);
  assert.ok(f, `no ${id} finding; got ${JSON.stringify(r.findings, null, 2)}`);
  return f;
}

/** A data dir as the daemon leaves it, with a learning database holding two tutorials (5 and 6 steps). */
function learningDir(t: TestContext): { paths: DataPaths; db: ReturnType<typeof openLearningDb> } {
  const paths = ensureDataDir(join(tempDir(t), 'data'));
  const db = openLearningDb(paths.learningDb);
  t.after(() => db.close());
  const tutorial = db.prepare(
    "INSERT INTO tutorials (id, position, level, estimated_minutes, title, step_count, content_hash) VALUES (?, ?, 'beginner', 10, ?, ?, 'x')",
  );
  tutorial.run('what-is-mcp', 1, 'What is MCP', 5);
  tutorial.run('tools', 2, 'Tools', 6);
  return { paths, db };
}

async function listen(t: TestContext, server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

describe('ctl diagnose with the daemon up', () => {
  test('reports nothing on a healthy install, exits 0 and says what it checked', T, async (t) => {
    const d = await startDaemon(t, tempDir(t), ANY_DISK);
    const run = await ctl(t, ['diagnose', '--json', '--data-dir', d.dataDir]);
    const r = parse(run.stdout);
    assert.deepEqual(r.findings, [], run.stdout);
    assert.equal(run.code, 0);
    assert.equal(r.ok, true);
    assert.equal(r.daemon, 'running');
    for (const id of ['server', 'port', 'config', 'data_dir', 'disk', 'db_integrity', 'progress', 'sessions', 'log_errors']) {
      assert.ok(
        r.checks.some((c) => c.id === id && c.status === 'pass'),
        `${id} passed: ${JSON.stringify(r.checks)}`,
      );
    }
    const human = await ctl(t, ['diagnose', '--data-dir', d.dataDir]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^\u2713 nothing wrong found: \d+ checks passed/);
    assert.ok(human.stdout.split('\n').length <= 4, human.stdout);
  });

  test('finds a control socket other users may use and a config file that no longer loads', T, async (t) => {
    const dir = tempDir(t);
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ logs: { keep: 3 } }));
    const d = await startDaemon(t, join(dir, 'data'), { ...ANY_DISK, MCP_STARTER_CONFIG: configFile });
    chmodSync(d.socket, 0o666);
    writeFileSync(configFile, JSON.stringify({ logs: { keep: 3 }, server: { port: 70000 }, sever: {} }));
    const r = parse((await ctl(t, ['diagnose', '--json', '--data-dir', d.dataDir])).stdout);
    const socket = finding(r, 'socket_mode');
    assert.equal(socket.fix, `chmod 600 ${d.socket}`);
    assert.equal(socket.category, 'installation');
    const config = finding(r, 'config_invalid');
    assert.equal(config.severity, 'error', 'the daemon runs on the config it loaded; a reload would refuse this one');
    assert.equal(config.fix, `mcp-starterctl config validate ${configFile}`);
    assert.ok(config.details.some((l) => l.startsWith('server.port:')));
    assert.ok(config.details.some((l) => l.startsWith('sever:')));
  });

  test('names the last exit of a server stuck in a crash loop', T, async (t) => {
    const d = spawnDaemon(t, tempDir(t), { ...ANY_DISK, MCP_STARTERD_CHILD: join(FIXTURES, 'crash-at-once.ts') });
    await waitForStatus(d.socket, inState('fatal'));
    const r = (await rpc<DiagnoseResult>(d.socket, 'diagnose')).result;
    assert.ok(r);
    const f = finding(DiagnoseResult.parse(r), 'server_crash_loop');
    assert.equal(f.severity, 'critical');
    assert.equal(f.category, 'connection');
    assert.equal(f.fix, 'mcp-starterctl start');
    assert.match(f.cause, /crash \(exit code 3\)/);
    assert.ok(
      f.details.some((l) => l.includes('FIXTURE_DB setting is missing')),
      JSON.stringify(f.details),
    );
    assert.equal(r.findings[0]?.severity, 'critical', 'most serious first');
  });
});

describe('ctl diagnose with the daemon down', () => {
  test('says the daemon is down, how it stopped and how to start it, and exits 1', T, async (t) => {
    const d = await startDaemon(t, tempDir(t), ANY_DISK);
    await endProcess(d.proc, 'SIGTERM');
    const run = await ctl(t, ['diagnose', '--json', '--data-dir', d.dataDir], ANY_DISK);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /not running/);
    const r = parse(run.stdout);
    assert.equal(r.daemon, 'down');
    const down = finding(r, 'daemon_down');
    assert.equal(r.findings[0]?.id, 'daemon_down');
    assert.equal(down.severity, 'critical');
    assert.match(down.cause, /It stopped at .*SIGTERM/);
    assert.equal(down.fix, `mcp-starterd --data-dir ${d.dataDir}`);
    // The files were still checked: a clean stop leaves nothing else wrong with them.
    for (const id of ['config', 'data_dir', 'db_integrity', 'progress', 'port']) {
      assert.equal(r.checks.find((c) => c.id === id)?.status, 'pass', `${id}: ${JSON.stringify(r.checks)}`);
    }
  });

  test('finds the port taken by another program and names its pid', T, async (t) => {
    const held = createServer((socket) => socket.destroy());
    const port = await listen(t, held);
    const dir = tempDir(t);
    const run = await ctl(t, ['diagnose', '--json', '--data-dir', dir], { MCP_STARTER_SERVER_PORT: String(port) });
    const f = finding(parse(run.stdout), 'port_taken');
    assert.equal(f.severity, 'critical');
    assert.equal(f.fix, `kill ${process.pid}`);
    assert.match(f.cause, new RegExp(`pid ${process.pid}`));
  });

  test('tells a port that answers HTTP but not as mcp-starter', T, async (t) => {
    const web = createHttpServer((_req, res) => res.writeHead(200, { server: 'test-web' }).end('<html>hello</html>'));
    const port = await listen(t, web);
    const paths = dataPaths(tempDir(t));
    const r = await diagnoseOffline({ paths, configFile: undefined, env: { MCP_STARTER_SERVER_PORT: String(port) } });
    const f = finding(r, 'port_foreign');
    assert.match(f.cause, /HTTP 200, Server: test-web/);
  });

  test('finds an invalid config and says mcp-starterd will refuse to start', T, async (t) => {
    const dir = tempDir(t);
    const configFile = join(dir, 'bad.json');
    writeFileSync(configFile, '{ "server": { "port": "eight thousand" }, }');
    const r = await diagnoseOffline({ paths: dataPaths(dir), configFile, env: {} });
    const f = finding(r, 'config_invalid');
    assert.equal(f.severity, 'critical');
    assert.match(f.cause, /refuses to start/);
    assert.equal(f.fix, `mcp-starterctl config validate ${configFile}`);
    assert.equal(r.checks.find((c) => c.id === 'db_integrity')?.status, 'skipped', 'no database yet is not a fault');
  });

  test('finds a damaged database and points at the newest backup', T, async (t) => {
    const { paths, db } = learningDir(t);
    db.exec('CREATE TABLE filler (x TEXT)');
    const insert = db.prepare('INSERT INTO filler VALUES (?)');
    for (let i = 0; i < 400; i++) insert.run('x'.repeat(500));
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const size = statSync(paths.learningDb).size;
    const fd = openSync(paths.learningDb, 'r+');
    // Garbage over every page but the first (the header and the schema): the tables' b-trees are gone.
    for (let at = 4096; at < size; at += 4096) writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, at);
    closeSync(fd);
    writeFileSync(join(paths.backupsDir, 'mcp-starter-daily-20261124T020000000Z.db'), '');
    const newest = join(paths.backupsDir, 'mcp-starter-daily-20261125T020000000Z.db');
    writeFileSync(newest, '');
    const r = await diagnoseOffline({ paths, configFile: undefined, env: {} });
    const f = finding(r, 'db_corrupt');
    assert.equal(f.severity, 'critical');
    assert.equal(f.category, 'learning_data');
    assert.equal(f.fix, `mcp-starterctl restore ${newest}`);
    assert.equal(r.checks.find((c) => c.id === 'progress')?.status, 'skipped');
  });

  test('finds a file that is not a database at all', T, async (t) => {
    const paths = ensureDataDir(tempDir(t));
    writeFileSync(paths.learningDb, 'this is not a database\n', { mode: 0o600 });
    const r = await diagnoseOffline({ paths, configFile: undefined, env: {} });
    assert.match(finding(r, 'db_corrupt').cause, /does not start with an SQLite header/);
  });

  test('finds progress that contradicts itself, stale sessions and times ahead of the clock', T, async (t) => {
    const { paths, db } = learningDir(t);
    const alice = Number(
      db.prepare("INSERT INTO users (name, last_activity) VALUES ('alice', ?)").run('2999-01-01T00:00:00.000Z').lastInsertRowid,
    );
    const progress = db.prepare(
      "INSERT INTO user_progress (user_id, tutorial_id, status, current_step, started_at, completed_at) VALUES (?, ?, ?, ?, '2026-11-01T00:00:00.000Z', ?)",
    );
    progress.run(alice, 'what-is-mcp', 'completed', 4, null);
    progress.run(alice, 'tools', 'in_progress', 6, null);
    db.pragma('foreign_keys = OFF');
    progress.run(4242, 'tools', 'in_progress', 1, null);
    db.prepare("INSERT INTO user_sessions (user_id, transport, started_at, last_activity) VALUES (?, 'http', ?, ?)").run(
      alice,
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.000Z',
    );
    const r = await diagnoseOffline({ paths, configFile: undefined, env: {} });
    for (const id of ['progress_completed_without_time', 'progress_step_past_end', 'progress_without_learner']) {
      const f = finding(r, id);
      assert.equal(f.category, 'learning_data');
      assert.equal(f.fix, 'mcp-starterctl recover --recompute-progress');
    }
    assert.match(finding(r, 'progress_step_past_end').details[0] ?? '', /learner alice, tutorial tools: in_progress, step index 6/);
    assert.match(finding(r, 'progress_without_learner').details[0] ?? '', /#4242 \(missing\)/);
    assert.equal(finding(r, 'sessions_stale').fix, 'mcp-starterctl learners reset-sessions');
    assert.match(finding(r, 'clock_skew').details.join('\n'), /users\.last_activity: 2999-01-01/);
    assert.ok(!ids(r).includes('progress_without_tutorial'));
  });

  test('finds that no learner can connect when tokens are required and none is valid', T, async (t) => {
    const { paths, db } = learningDir(t);
    db.prepare("INSERT INTO users (name, token_hash, revoked_at) VALUES ('bob', 'abc', '2026-11-01T00:00:00.000Z')").run();
    const r = await diagnoseOffline({ paths, configFile: undefined, env: { MCP_STARTER_SERVER_REQUIRE_AUTH: 'true' } });
    const f = finding(r, 'no_learner_tokens');
    assert.equal(f.category, 'connection');
    assert.equal(f.fix, 'mcp-starterctl learners add NAME');
  });

  test('finds error bursts, limits hit and refused learners in the log, and keeps the last 20 error lines', T, async (t) => {
    const { paths } = learningDir(t);
    const now = Date.now();
    const line = (agoMs: number, fields: Record<string, unknown>): string =>
      JSON.stringify({ level: 'info', time: new Date(now - agoMs).toISOString(), name: 'mcp-starter-server', ...fields });
    const lines = [
      line(3 * 3_600_000, { level: 'error', msg: 'an old error' }),
      ...Array.from({ length: 30 }, (_, i) => line(60_000 - i * 1000, { level: 'error', msg: `database is locked (${i})` })),
      line(30_000, {
        level: 'warn',
        event: 'limit_hit',
        limit: 'maxConcurrentRequests',
        offender: 'learner:1',
        repeated: 9,
        msg: 'limit hit',
      }),
      line(20_000, { level: 'warn', event: 'request_refused', reason: 'host', offender: '10.0.0.7', msg: 'Host not allowed' }),
      'not json at all',
    ];
    mkdirSync(paths.logsDir, { recursive: true });
    writeFileSync(join(paths.logsDir, 'mcp-starterd.log'), `${lines.join('\n')}\n`);
    const r = await diagnoseOffline({ paths, configFile: undefined, env: {} });
    const burst = finding(r, 'error_burst');
    assert.match(burst.title, /^30 errors logged/);
    assert.equal(burst.fix, 'mcp-starterctl diagnose --errors');
    assert.match(finding(r, 'limits_hit').details[0] ?? '', /server\.maxConcurrentRequests: 10 refused/);
    assert.match(finding(r, 'refused_host').details.join('\n'), /from 10\.0\.0\.7/);
    assert.match(finding(r, 'db_locked').cause, /30 log lines in the last hour/);
    assert.equal(r.recentErrors.length, RECENT_ERROR_LINES);
    assert.equal(r.recentErrors[0]?.message, 'database is locked (29)', 'newest first');
    const text = renderDiagnose(r, { showErrors: true });
    assert.match(text, /The log's last 20 error lines, newest first:/);
    assert.match(text, /mcp-starter-server {2}database is locked \(29\)/);
    assert.doesNotMatch(renderDiagnose(r, { showErrors: false }), /error lines, newest first/);
  });
});

describe('the log tail', () => {
  test('reads lines backwards across chunks and into the rotated file, newest first, up to the window', T, (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'mcp-starterd.log');
    const now = Date.parse('2026-11-25T12:00:00.000Z');
    const line = (i: number): string =>
      JSON.stringify({
        level: 'error',
        time: new Date(now - (5000 - i) * 1000).toISOString(),
        name: 'x',
        msg: `line ${i} ${'y'.repeat(i % 97)}`,
      });
    // Lines 0..1999 went to .1 at a rotation; 2000..4999 are in the current file (well over one 64 KiB chunk).
    writeFileSync(`${file}.1`, `${Array.from({ length: 2000 }, (_, i) => line(i)).join('\n')}\n`);
    writeFileSync(file, `${Array.from({ length: 3000 }, (_, i) => line(2000 + i)).join('\n')}\n`);
    const all = readLogTail(file, { sinceMs: now - 4500 * 1000, maxBytes: 64 * 1024 * 1024, wanted: () => true });
    assert.deepEqual(all.files, [file, `${file}.1`]);
    assert.equal(all.entries.length, 4500, 'lines 500..4999: the window starts at line 500');
    assert.ok(all.entries.every((e, i) => e.message.startsWith(`line ${4999 - i} `)));
    assert.equal(all.truncated, false);
    const bounded = readLogTail(file, { sinceMs: 0, maxBytes: 100 * 1024, wanted: (l) => l.includes('line 49') });
    assert.equal(bounded.truncated, true);
    assert.equal(bounded.newestTime, new Date(now - 1000).toISOString());
    assert.ok(bounded.entries.length > 0 && bounded.entries.every((e) => e.message.startsWith('line 49')));
  });
});

describe('the check runner', () => {
  test('a check that throws or runs out of time is a finding of its own, and findings come most serious first', T, async () => {
    const { checks, findings } = await runChecks([
      {
        id: 'fine',
        category: 'slowdown',
        what: 'fine',
        run: () => ({ summary: 'ok', findings: [{ id: 'w', severity: 'warning', title: 'w', cause: 'c', fix: 'f' }] }),
      },
      {
        id: 'throws',
        category: 'installation',
        what: 'the thing that throws',
        run: () => {
          throw Object.assign(new Error('boom'), { code: 'EIO' });
        },
      },
      { id: 'slow', category: 'connection', what: 'the slow thing', timeoutMs: 50, run: () => new Promise(() => undefined) },
    ]);
    assert.deepEqual(
      checks.map((c) => [c.id, c.status]),
      [
        ['fine', 'fail'],
        ['throws', 'error'],
        ['slow', 'error'],
      ],
    );
    assert.match(findings[1]?.title ?? '', /Could not check the thing that throws/);
    assert.match(findings[1]?.cause ?? '', /boom \(EIO\)/);
    assert.match(findings[2]?.cause ?? '', /did not finish within 0\.1 s/);
    assert.deepEqual(
      sortFindings(findings).map((f) => f.check),
      ['throws', 'slow', 'fine'],
    );
  });

  test('diagnose answers within its guard when the daemon is down and nothing is there', T, async (t) => {
    const r = await withTimeout(
      diagnoseOffline({ paths: dataPaths(join(tempDir(t), 'none')), configFile: undefined, env: {} }),
      'diagnose',
    );
    assert.deepEqual(ids(r).slice(0, 2).sort(), ['daemon_down', 'data_dir_missing']);
    assert.match(finding(r, 'daemon_down').cause, /has not run with this data dir/);
  });
});
