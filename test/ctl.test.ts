import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { integrityOf } from '../shared/backup.js';
import { addLearner } from '../shared/learners.js';
import { openLearningDb } from '../shared/learning-db.js';
import type { ChildStatus, EmergencyStopResult, StatusResult, StopResult } from '../shared/schemas/rpc.js';
import { LineStream, ROOT, SERVER_MAIN, startHttpServer, tempDir, textOf, v2HttpClient, waitForLine, WAIT_MS } from './helpers.js';

const CTL_MAIN = join(ROOT, 'ctl', 'main.ts');

interface CtlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs mcp-starterctl from source as a real process; killed if it outlives the test guard. */
async function ctl(t: TestContext, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CtlRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCP_STARTER_')));
  const proc = spawn(process.execPath, ['--import', 'tsx', CTL_MAIN, ...args], {
    cwd: ROOT,
    env: { ...clean, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const [code] = (await withTimeout(once(proc, 'close'), `mcp-starterctl ${args.join(' ')}`)) as [number | null];
  return { code, stdout, stderr };
}

function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** `{"error":{code,message,hint}}`, the one shape of every --json error. */
function jsonError(run: CtlRun): { code: string; message: string; hint: string | null } {
  const parsed = JSON.parse(run.stdout) as { error: { code: string; message: string; hint: string | null } };
  assert.deepEqual(Object.keys(parsed), ['error']);
  assert.deepEqual(Object.keys(parsed.error).sort(), ['code', 'hint', 'message']);
  return parsed.error;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: no such process
  }
}

/** A process that leads its own process group, as the daemon starts the server; its group is killed at test end. */
function spawnGroupLeader(t: TestContext, command: string, args: readonly string[]): ChildProcess {
  const proc = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
    const exited = once(proc, 'exit');
    process.kill(-proc.pid, 'SIGKILL');
    await exited;
  });
  return proc;
}

describe('mcp-starterctl without a daemon', () => {
  test('status exits 3 and says the daemon is not running and how to start it', async (t) => {
    const dir = tempDir(t);
    const run = await ctl(t, ['status', '--data-dir', dir]);
    assert.equal(run.code, 3);
    assert.equal(run.stdout, '');
    const socket = join(dir, 'mcp-starterd.sock');
    assert.match(run.stderr, new RegExp(`^mcp-starterctl: mcp-starterd is not running \\(no socket at ${socket}\\)\\.\\n  → `));
    assert.match(run.stderr, /npm start/);
    assert.match(run.stderr, /systemctl start mcp-starter/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });

  test('with --json every daemon command prints {"error":{code,message,hint}} on stdout and exits 3', async (t) => {
    const dir = tempDir(t);
    const commands = [['status'], ['start'], ['stop', '--timeout', '5'], ['restart', '--force'], ['reload']];
    const runs = await Promise.all(commands.map((c) => ctl(t, ['--json', '--data-dir', dir, ...c])));
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 3, commands[i]?.join(' '));
      assert.equal(run.stderr, '', 'nothing on stderr with --json');
      const error = jsonError(run);
      assert.equal(error.code, 'E_NOT_RUNNING');
      assert.match(error.message, /mcp-starterd is not running \(no socket at .*mcp-starterd\.sock\)/);
      assert.match(error.hint ?? '', /systemctl start mcp-starter/);
    }
  });

  test('--socket PATH replaces the data dir\u2019s socket, and global flags may come after the command', async (t) => {
    const dir = tempDir(t);
    const socket = join(dir, 'elsewhere.sock');
    const run = await ctl(t, ['status', '--json', '--socket', socket]);
    assert.equal(run.code, 3);
    assert.match(jsonError(run).message, new RegExp(`no socket at ${socket}`));
  });

  test('a stale socket left by a dead daemon is exit 3 too', async (t) => {
    const dir = tempDir(t);
    const socket = join(dir, 'mcp-starterd.sock');
    const holder = spawn(
      process.execPath,
      ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    t.after(() => holder.kill('SIGKILL'));
    await waitForLine(new LineStream(holder.stdout), (l) => (l === 'up' ? true : undefined));
    const exited = once(holder, 'exit');
    holder.kill('SIGKILL'); // dies without unlinking its socket file
    await exited;
    assert.ok(existsSync(socket));
    const run = await ctl(t, ['status', '--json', '--data-dir', dir]);
    assert.equal(run.code, 3);
    const error = jsonError(run);
    assert.equal(error.code, 'E_NOT_RUNNING');
    assert.match(error.message, /nothing listens on the socket/);
  });
});

describe('mcp-starterctl usage errors exit 2 with the usage text', () => {
  test('an unknown command suggests the nearest one and lists them all', async (t) => {
    const run = await ctl(t, ['stauts']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^mcp-starterctl: Unknown command "stauts"\.\n {2}→ Did you mean `mcp-starterctl status`\?/);
    assert.match(run.stderr, /Commands:[\s\S]*learners revoke NAME/);
  });

  test('bad flags and arguments name the problem and show the command\u2019s usage', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['stop', '--timeout', 'abc'], /--timeout takes a number of seconds/],
      [['stop', '--timeout', '7200'], /at most 3600 seconds/],
      [['status', '--force'], /`status` does not take --force/],
      [['stop', '--forc'], /Unknown option --forc/],
      [['stop', '--timeout'], /--timeout needs a value/],
      [['learners', 'add'], /Say which learner: NAME/],
      [['learners', 'add', 'a', 'b'], /Unexpected argument "b"/],
      [['learners'], /"learners" needs a subcommand: add, list, revoke/],
      [[], /Say which command to run/],
    ];
    const runs = await Promise.all(cases.map(([args]) => ctl(t, args)));
    for (const [i, run] of runs.entries()) {
      const [args, message] = cases[i] ?? [[], /./];
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(run.stdout, '');
      assert.match(run.stderr, message, args.join(' '));
      assert.match(run.stderr, /Usage: mcp-starterctl/, `${args.join(' ')} shows usage`);
    }
  });

  test('with --json a usage error is {"error":{code:"E_USAGE",...}} with the usage line as hint', async (t) => {
    const run = await ctl(t, ['stop', '--timeout', 'abc', '--json']);
    assert.equal(run.code, 2);
    const error = jsonError(run);
    assert.equal(error.code, 'E_USAGE');
    assert.match(error.hint ?? '', /^Usage: mcp-starterctl stop \[--timeout S\] \[--force\]/);
  });

  test('a bad MCP_STARTER_CTL_TIMEOUT_MS is a config error (exit 2)', async (t) => {
    const dir = tempDir(t);
    const run = await ctl(t, ['status', '--json', '--data-dir', dir], { MCP_STARTER_CTL_TIMEOUT_MS: 'soon' });
    assert.equal(run.code, 2);
    assert.equal(jsonError(run).code, 'E_CONFIG_INVALID');
  });

  test('help, --help, help COMMAND and --version exit 0', async (t) => {
    const [help, dashHelp, stopHelp, version, versionJson] = await Promise.all([
      ctl(t, ['help']),
      ctl(t, ['--help']),
      ctl(t, ['help', 'stop']),
      ctl(t, ['--version']),
      ctl(t, ['--version', '--json']),
    ]);
    for (const run of [help, dashHelp, stopHelp, version, versionJson]) assert.equal(run.code, 0);
    for (const name of [
      'status',
      'start',
      'stop',
      'restart',
      'reload',
      'emergency-stop',
      'connect',
      'learners add',
      'learners list',
      'learners revoke',
    ]) {
      assert.match(help.stdout, new RegExp(`\\n  ${name}`), name);
    }
    assert.equal(help.stdout, dashHelp.stdout);
    assert.match(help.stdout, /Exit codes: 0 success/);
    assert.match(stopHelp.stdout, /--force {6}do not wait/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);
    assert.deepEqual(JSON.parse(versionJson.stdout), { version: pkg.version });
  });
});

interface LearnerJson {
  name: string;
  lastActivity: string | null;
  revokedAt: string | null;
  hasToken: boolean;
}

describe('mcp-starterctl learners, with the daemon down', () => {
  test('add shows the token once, list shows last activity, revoke marks it revoked; a duplicate is E_LEARNER_EXISTS', async (t) => {
    const dir = tempDir(t);
    const empty = await ctl(t, ['learners', 'list', '--data-dir', dir]);
    assert.equal(empty.code, 0);
    assert.match(empty.stdout, /No learners yet/);

    const added = await ctl(t, ['learners', 'add', 'alice', '--data-dir', dir]);
    assert.equal(added.code, 0, added.stderr);
    const token = /^ {2}(mcps_\S+)$/m.exec(added.stdout)?.[1];
    assert.ok(token, added.stdout);
    assert.match(added.stdout, /shown only once/);

    const addedJson = await ctl(t, ['--json', 'learners', 'add', 'bob', '--data-dir', dir]);
    assert.equal(addedJson.code, 0, addedJson.stderr);
    const bob = JSON.parse(addedJson.stdout) as { learner: LearnerJson; token: string };
    assert.equal(bob.learner.name, 'bob');
    assert.match(bob.token, /^mcps_/);
    assert.match(addedJson.stderr, /shown only once/, 'the warning goes to stderr with --json');

    // alice uses her token against a real server, which records her activity.
    const server = await startHttpServer(t, { dataDir: dir });
    const client = await v2HttpClient(t, server.url, token);
    assert.match(textOf(await client.callTool({ name: 'list_tutorials', arguments: {} })), /./);
    await client.close();
    const exited = once(server.proc, 'exit');
    server.proc.kill('SIGTERM');
    await withTimeout(exited, 'server exit');

    const listed = await ctl(t, ['learners', 'list', '--json', '--data-dir', dir]);
    assert.equal(listed.code, 0, listed.stderr);
    const learners = (JSON.parse(listed.stdout) as { learners: LearnerJson[] }).learners;
    assert.deepEqual(
      learners.map((l) => l.name),
      ['alice', 'bob', 'local'], // the server adds the local learner (stdio and loopback without a token)
    );
    assert.ok(learners[0]?.lastActivity, 'alice has a last activity');
    assert.equal(learners[1]?.lastActivity, null);
    assert.doesNotMatch(listed.stdout, /mcps_/, 'list never shows tokens');

    const human = await ctl(t, ['learners', 'list', '--data-dir', dir]);
    assert.match(human.stdout, /^NAME\s+TOKEN\s+ADDED\s+LAST ACTIVITY$/m);
    assert.match(human.stdout, /^alice\s+valid\s+\S+ \S+\s+[\d.]+ (s|min) .*ago/m);
    assert.match(human.stdout, /^bob\s+valid\s+.*never$/m);
    assert.match(human.stdout, /^local\s+none \(local learner\)\s/m);

    const duplicate = await ctl(t, ['learners', 'add', 'Alice', '--json', '--data-dir', dir]);
    assert.equal(duplicate.code, 1);
    assert.equal(jsonError(duplicate).code, 'E_LEARNER_EXISTS');

    const revoked = await ctl(t, ['learners', 'revoke', 'alice', '--data-dir', dir]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /Revoked learner "alice"/);
    const after = await ctl(t, ['learners', 'list', '--data-dir', dir]);
    assert.match(after.stdout, /^alice\s+revoked\s/m);

    const unknown = await ctl(t, ['learners', 'revoke', 'carol', '--data-dir', dir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No learner with a token is named "carol"\.\n {2}→ /);
  });
});

describe('mcp-starterctl emergency-stop, with the daemon down', () => {
  test('kills the server named by the pid file, writes who was active, and takes a checked backup', async (t) => {
    const dir = tempDir(t);
    const db = openLearningDb(join(dir, 'mcp-starter.db'));
    const { token } = addLearner(db, 'alice');
    db.close();
    const server = spawnGroupLeader(t, process.execPath, [
      '--import',
      'tsx',
      SERVER_MAIN,
      '--transport',
      'http',
      '--port',
      '0',
      '--data-dir',
      dir,
    ]);
    const url = await waitForLine(new LineStream(server.stderr), (line) => {
      const event = /"event":"listening".*"url":"([^"]+)"/.exec(line);
      return event?.[1];
    });
    const client = await v2HttpClient(t, new URL(url), token);
    await client.callTool({ name: 'list_tutorials', arguments: {} }); // opens alice's working session
    const pid = server.pid ?? assert.fail('no pid');
    writeFileSync(join(dir, 'mcp-starter-server.pid'), `${pid}\n`); // as the daemon writes it

    const serverExit = once(server, 'exit');
    const run = await ctl(t, ['emergency-stop', '--json', '--reason', 'test', '--data-dir', dir]);
    assert.equal(run.code, 0, run.stderr);
    const [, signal] = (await withTimeout(serverExit, 'the killed server')) as [number | null, string | null];
    assert.equal(signal, 'SIGKILL');
    assert.match(run.stderr, /mcp-starterd is not running .* Acting without it/);

    const result = JSON.parse(run.stdout) as EmergencyStopResult;
    assert.equal(result.killedPid, pid);
    assert.equal(result.offline, true);
    assert.equal(result.backupError, null);
    assert.ok(result.backup);
    assert.equal(result.backup.integrity, 'ok');
    assert.equal(integrityOf(result.backup.file), 'ok');
    assert.match(result.backup.file, /backups\/mcp-starter-emergency-\d{8}T\d{9}Z\.db$/);

    assert.match(result.activeFile, new RegExp(`^${dir}/emergency-\\d{8}T\\d{9}Z\\.json$`));
    const active = JSON.parse(readFileSync(result.activeFile, 'utf8')) as {
      reason: string;
      inFlight: null;
      learners: Array<{ name: string; lastActivity: string }>;
    };
    assert.equal(active.reason, 'test');
    assert.equal(active.inFlight, null, 'in-flight requests are unknown without the daemon');
    assert.deepEqual(
      active.learners.map((l) => l.name),
      ['alice'],
    );
    assert.ok(active.learners[0]?.lastActivity);
    assert.equal(existsSync(join(dir, 'mcp-starter-server.pid')), false, 'the pid file of the killed server is removed');
  });

  test('leaves alone a process that is not an MCP server, and a stale pid', async (t) => {
    const dir = tempDir(t);
    openLearningDb(join(dir, 'mcp-starter.db')).close();
    const sleeper = spawnGroupLeader(t, 'sleep', ['30']);
    const pid = sleeper.pid ?? assert.fail('no pid');
    writeFileSync(join(dir, 'mcp-starter-server.pid'), `${pid}\n`);

    const run = await ctl(t, ['emergency-stop', '--json', '--data-dir', dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`Process ${pid} .* is not an MCP server \\(it runs \`sleep 30\`\\): left it alone`));
    assert.equal((JSON.parse(run.stdout) as EmergencyStopResult).killedPid, null);
    assert.ok(isAlive(pid), 'sleep 30 still runs');
    assert.equal(sleeper.exitCode, null);

    const gone = spawn('true');
    await once(gone, 'exit');
    writeFileSync(join(dir, 'mcp-starter-server.pid'), `${gone.pid ?? 0}\n`);
    const stale = await ctl(t, ['emergency-stop', '--data-dir', dir]);
    assert.equal(stale.code, 0, stale.stderr);
    assert.match(stale.stderr, /not running any more \(a stale pid file\)/);
    assert.match(stale.stdout, /killed\s+nothing: no MCP server process was running/);
  });

  test('a missing data dir is a usage error that says where it looked', async (t) => {
    const dir = join(tempDir(t), 'nowhere');
    const run = await ctl(t, ['emergency-stop', '--json', '--data-dir', dir]);
    assert.equal(run.code, 2);
    const error = jsonError(run);
    assert.equal(error.code, 'E_DATA_DIR');
    assert.match(error.message, /There is no data directory at .*nowhere/);
  });
});

type Handler = (request: { id: number; method: string; params?: unknown }, socket: Socket) => void;

/** A tiny real JSON-RPC server on a Unix socket: it answers as `handler` says and records the requests. */
async function socketFixture(
  t: TestContext,
  handler: Handler,
): Promise<{ dir: string; requests: Array<{ method: string; params?: unknown }> }> {
  const dir = tempDir(t);
  const requests: Array<{ method: string; params?: unknown }> = [];
  const server: Server = createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const request = JSON.parse(buffer.slice(0, i)) as { id: number; method: string; params?: unknown };
        buffer = buffer.slice(i + 1);
        requests.push({ method: request.method, params: request.params });
        handler(request, socket);
      }
    });
    socket.on('error', () => undefined); // ctl closing first is fine
  });
  server.listen(join(dir, 'mcp-starterd.sock'));
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { dir, requests };
}

const answer = (socket: Socket, id: number, result: unknown): boolean =>
  socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, result })}\n`);

function child(overrides: Partial<ChildStatus> = {}): ChildStatus {
  return {
    state: 'running',
    pid: 4242,
    restarts: 0,
    startedAt: new Date(Date.now() - 90_000).toISOString(),
    lastExit: null,
    lastStderr: [],
    hint: null,
    nextStartAt: null,
    ...overrides,
  };
}

function status(childStatus: ChildStatus): StatusResult {
  return {
    daemon: { pid: 4200, version: '0.1.0', uptimeMs: 3_600_000, socket: '/x/mcp-starterd.sock', dataDir: '/x' },
    child: childStatus,
    url: 'http://127.0.0.1:8000/mcp',
    activeLearners: 2,
    inFlight: 1,
    availability: { h24: 0.999, d7: null },
  };
}

describe('mcp-starterctl against a control socket (fixture server)', () => {
  test('sends the flags as params (seconds → timeoutMs) and prints exactly the result with --json', async (t) => {
    const stop: StopResult = { was: 'running', activeLearners: 1, inFlight: 0, drained: true, killed: false, ms: 1234 };
    const fixture = await socketFixture(t, (req, socket) => {
      // A state notification first, then the answer split across two writes: framing is by line.
      const notification = JSON.stringify({ jsonrpc: '2.0', method: 'state', params: { state: 'draining' } });
      const line = JSON.stringify({ jsonrpc: '2.0', id: req.id, result: stop });
      socket.write(`${notification}\n${line.slice(0, 10)}`);
      setImmediate(() => socket.write(`${line.slice(10)}\n`));
    });
    const run = await ctl(t, ['--data-dir', fixture.dir, 'stop', '--timeout', '2.5', '--force', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), stop);
    assert.deepEqual(fixture.requests, [{ method: 'stop', params: { timeoutMs: 2500, force: true } }]);

    const human = await ctl(t, ['--data-dir', fixture.dir, 'stop']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^Stopped the MCP server in 1\.2 s: everything in flight finished first\./);
    assert.deepEqual(fixture.requests[1], { method: 'stop', params: {} });
  });

  test('status exits 0 when running and 1 when fatal, and shows the last exit, stderr lines and hint', async (t) => {
    let answerWith = status(child());
    const fixture = await socketFixture(t, (req, socket) => answer(socket, req.id, answerWith));
    const running = await ctl(t, ['status', '--data-dir', fixture.dir]);
    assert.equal(running.code, 0, running.stderr);
    assert.match(running.stdout, /^● running {2}serving learners · pid 4242 · up 1 min 3\d s · 0 restarts$/m);
    assert.match(running.stdout, /url\s+http:\/\/127\.0\.0\.1:8000\/mcp/);
    assert.match(running.stdout, /learners\s+2 active · 1 request in flight/);

    answerWith = status(
      child({
        state: 'fatal',
        pid: null,
        restarts: 5,
        lastExit: { code: 1, signal: null, at: new Date().toISOString(), reason: 'crash-loop' },
        lastStderr: ['Error: Cannot find module ./missing.js'],
        hint: 'The server crashed 5 times in 60 s; fix the error above, then run `mcp-starterctl start`.',
      }),
    );
    const [fatal, fatalJson] = await Promise.all([
      ctl(t, ['status', '--data-dir', fixture.dir]),
      ctl(t, ['status', '--json', '--data-dir', fixture.dir]),
    ]);
    assert.equal(fatal.code, 1);
    assert.match(fatal.stdout, /^✗ fatal/);
    assert.match(fatal.stdout, /last exit\s+exit code 1 \(crash-loop\)/);
    assert.match(fatal.stdout, /│ Error: Cannot find module \.\/missing\.js/);
    assert.match(fatal.stdout, /→ The server crashed 5 times/);
    assert.equal(fatalJson.code, 1);
    assert.deepEqual(JSON.parse(fatalJson.stdout), answerWith);
  });

  test('maps the daemon\u2019s error code to the exit code, and prints its message and hint', async (t) => {
    const fixture = await socketFixture(t, (req, socket) => {
      const code = req.method === 'start' ? 'E_CHILD_STATE' : 'E_BAD_PARAMS';
      const error = { code: -32018, message: `refused ${req.method}`, data: { code, hint: 'do the other thing' } };
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: req.id, error })}\n`);
    });
    const [start, reload] = await Promise.all([
      ctl(t, ['start', '--data-dir', fixture.dir]),
      ctl(t, ['reload', '--json', '--data-dir', fixture.dir]),
    ]);
    assert.equal(start.code, 1);
    assert.equal(start.stderr, 'mcp-starterctl: refused start\n  → do the other thing\n');
    assert.equal(reload.code, 2);
    assert.deepEqual(JSON.parse(reload.stdout), {
      error: { code: 'E_BAD_PARAMS', message: 'refused config.reload', hint: 'do the other thing' },
    });
  });

  test('a result that does not match the schema, or a line that is not JSON, is a clear error and no crash', async (t) => {
    const fixture = await socketFixture(t, (req, socket) => {
      if (req.method === 'status') answer(socket, req.id, { daemon: { pid: 'one' }, child: { state: 'sleeping' } });
      else socket.write('<html>not a daemon</html>\n');
    });
    const [garbage, notJson] = await Promise.all([
      ctl(t, ['status', '--data-dir', fixture.dir]),
      ctl(t, ['start', '--json', '--data-dir', fixture.dir]),
    ]);
    assert.equal(garbage.code, 1);
    assert.match(
      garbage.stderr,
      /^mcp-starterctl: mcp-starterd answered `status` with a result this mcp-starterctl does not understand \(daemon\.pid: /,
    );
    assert.match(garbage.stderr, /→ The daemon and ctl are probably from different releases/);
    assert.doesNotMatch(garbage.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(notJson.code, 1);
    assert.match(jsonError(notJson).message, /answered `start` with a line this mcp-starterctl does not understand \(not JSON/);
  });

  test('a daemon that never answers is exit 3 after MCP_STARTER_CTL_TIMEOUT_MS', async (t) => {
    const fixture = await socketFixture(t, () => undefined);
    const started = performance.now();
    const run = await ctl(t, ['status', '--json', '--data-dir', fixture.dir], { MCP_STARTER_CTL_TIMEOUT_MS: '300' });
    assert.equal(run.code, 3);
    const error = jsonError(run);
    assert.equal(error.code, 'E_NOT_RUNNING');
    assert.match(error.message, /did not answer `status` within 0\.3 s/);
    assert.ok(performance.now() - started < WAIT_MS);
  });

  test('emergency-stop goes through the daemon when it answers, and never touches the pid file then', async (t) => {
    const result: EmergencyStopResult = {
      killedPid: 4242,
      activeFile: '/x/emergency-1.json',
      backup: null,
      backupError: 'disk full',
      offline: false,
    };
    const fixture = await socketFixture(t, (req, socket) => answer(socket, req.id, result));
    writeFileSync(join(fixture.dir, 'mcp-starter-server.pid'), '1\n');
    const run = await ctl(t, ['emergency-stop', '--reason', 'drill', '--json', '--data-dir', fixture.dir]);
    assert.equal(run.code, 1, 'a failed backup is a bad answer');
    assert.deepEqual(JSON.parse(run.stdout), result);
    assert.deepEqual(fixture.requests, [{ method: 'emergencyStop', params: { reason: 'drill' } }]);
    assert.equal(run.stderr, '');
  });

  test('connect without --url asks the daemon for the server\u2019s URL and bridges a stdio client to it', async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const fixture = await socketFixture(t, (req, socket) => answer(socket, req.id, { ...status(child()), url: server.url.href }));
    const env = Object.fromEntries(
      Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('MCP_STARTER_')),
    );
    const client = new V1Client({ name: 'test-ctl-connect', version: '1.0.0' });
    await client.connect(
      new V1StdioTransport({
        command: process.execPath,
        args: ['--import', 'tsx', CTL_MAIN, 'connect', '--data-dir', fixture.dir],
        cwd: ROOT,
        env,
        stderr: 'pipe',
      }),
    );
    t.after(() => client.close());
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    assert.ok(tools.includes('list_tutorials'), tools.join());
    assert.deepEqual(fixture.requests, [{ method: 'status', params: undefined }]);
  });

  test('connect without --url and without a daemon still bridges, and each request says the daemon is down', async (t) => {
    // A port nothing listens on, so the default address cannot reach some other server.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCP_STARTER_')));
    const proc = spawn(process.execPath, ['--import', 'tsx', CTL_MAIN, 'connect', '--data-dir', tempDir(t)], {
      cwd: ROOT,
      env: { ...clean, MCP_STARTER_SERVER_PORT: String(port) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const stdout = new LineStream(proc.stdout);
    proc.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} })}\n`);
    const answer = await waitForLine(stdout, (l) =>
      l.includes('"id":7') ? (JSON.parse(l) as { error?: { message: string } }) : undefined,
    );
    assert.match(answer.error?.message ?? '', /cannot reach .*mcp-starterd running/);
    proc.stdin.end();
    const [code] = (await withTimeout(once(proc, 'close'), 'connect')) as [number | null];
    assert.equal(code, 0);
    assert.match(stderr, /mcp-starterd is not running/);
  });
});
