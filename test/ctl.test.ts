import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { rpcJsonSchemas } from '../ctl/gen-rpc-schemas.js';
import { checkJson, KEYWORDS, type JsonSchema } from '../ctl/json-check.js';
import { reloadWaiting, restartWaiting, startWaiting, stopWaiting } from '../ctl/render/waiting.js';
import { ERROR_DATA_JSON_SCHEMA, RESULT_JSON_SCHEMAS } from '../ctl/rpc-schemas.generated.js';
import { MARGIN_MS, reloadBudgetMs, restartBudgetMs, startBudgetMs, stopBudgetMs } from '../ctl/waits.js';
import { integrityOf } from '../shared/backup.js';
import { checkConfig, loadConfig } from '../shared/config.js';
import { addLearner } from '../shared/learners.js';
import { openLearningDb } from '../shared/learning-db.js';
import { ConfigValidateResult } from '../shared/schemas/config-validate.js';
import {
  EmergencyStopResult,
  ReloadResult,
  RESULT_SCHEMAS,
  SERIES,
  RestartResult,
  StartResult,
  StatusResult,
  StopResult,
  type ChildStatus,
  type MethodName,
} from '../shared/schemas/rpc.js';
import { cleanEnv, ctl, CTL_MAIN, socketFixture, withTimeout, type CtlRun } from './ctl-helpers.js';
import { inState, pidAlive, startDaemon, waitForStatus, type RunningDaemon } from './daemon-helpers.js';
import {
  LineStream,
  ROOT,
  SERVER_MAIN,
  startHttpServer,
  tempDir,
  textOf,
  v2HttpClient,
  waitForLine,
  WAIT_MS,
  writeConfig,
} from './helpers.js';

/** Every test has a guard, so a hang fails with the test's name (issue 7). */
const TEST_MS = 60_000;

const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * Runs mcp-starterctl on a terminal (a pseudo-terminal from util-linux `script`), where it says
 * what it waits for. stdout and stderr arrive merged, as on a terminal.
 */
async function ctlOnTerminal(
  t: TestContext,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, '--import', 'tsx', CTL_MAIN, ...args].map(quote).join(' ');
  const proc = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env: { ...cleanEnv(), NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let output = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  const [code] = (await withTimeout(once(proc, 'close'), `mcp-starterctl ${args.join(' ')} on a terminal`)) as [number | null];
  return { code, output: output.replace(/\r/g, '') };
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
  test('status exits 3 and says the daemon is not running and how to start it', { timeout: TEST_MS }, async (t) => {
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

  test('with --json every daemon command prints {"error":{code,message,hint}} on stdout and exits 3', { timeout: TEST_MS }, async (t) => {
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

  test(
    '--socket PATH replaces the data dir\u2019s socket, and global flags may come after the command',
    { timeout: TEST_MS },
    async (t) => {
      const dir = tempDir(t);
      const socket = join(dir, 'elsewhere.sock');
      const run = await ctl(t, ['status', '--json', '--socket', socket]);
      assert.equal(run.code, 3);
      assert.match(jsonError(run).message, new RegExp(`no socket at ${socket}`));
    },
  );

  test('a stale socket left by a dead daemon is exit 3 too', { timeout: TEST_MS }, async (t) => {
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
  test('an unknown command suggests the nearest one and lists them all', { timeout: TEST_MS }, async (t) => {
    const run = await ctl(t, ['stauts']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^mcp-starterctl: Unknown command "stauts"\.\n {2}→ Did you mean `mcp-starterctl status`\?/);
    assert.match(run.stderr, /Commands:[\s\S]*learners revoke NAME/);
  });

  test('bad flags and arguments name the problem and show the command\u2019s usage', { timeout: TEST_MS }, async (t) => {
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

  test('with --json a usage error is {"error":{code:"E_USAGE",...}} with the usage line as hint', { timeout: TEST_MS }, async (t) => {
    const run = await ctl(t, ['stop', '--timeout', 'abc', '--json']);
    assert.equal(run.code, 2);
    const error = jsonError(run);
    assert.equal(error.code, 'E_USAGE');
    assert.match(error.hint ?? '', /^Usage: mcp-starterctl stop \[--timeout S\] \[--force\]/);
  });

  test('a bad MCP_STARTER_CTL_TIMEOUT_MS is a config error (exit 2)', { timeout: TEST_MS }, async (t) => {
    const dir = tempDir(t);
    const run = await ctl(t, ['status', '--json', '--data-dir', dir], { MCP_STARTER_CTL_TIMEOUT_MS: 'soon' });
    assert.equal(run.code, 2);
    assert.equal(jsonError(run).code, 'E_CONFIG_INVALID');
  });

  test('help, --help, help COMMAND and --version exit 0', { timeout: TEST_MS }, async (t) => {
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
  test(
    'add shows the token once, list shows last activity, revoke marks it revoked; a duplicate is E_LEARNER_EXISTS',
    { timeout: TEST_MS },
    async (t) => {
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
    },
  );
});

describe('mcp-starterctl emergency-stop, with the daemon down', () => {
  test('kills the server named by the pid file, writes who was active, and takes a checked backup', { timeout: TEST_MS }, async (t) => {
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

  test('leaves alone a process that is not an MCP server, and a stale pid', { timeout: TEST_MS }, async (t) => {
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

  test('a missing data dir is a usage error that says where it looked', { timeout: TEST_MS }, async (t) => {
    const dir = join(tempDir(t), 'nowhere');
    const run = await ctl(t, ['emergency-stop', '--json', '--data-dir', dir]);
    assert.equal(run.code, 2);
    const error = jsonError(run);
    assert.equal(error.code, 'E_DATA_DIR');
    assert.match(error.message, /There is no data directory at .*nowhere/);
  });
});

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
    otherPids: [],
    ...overrides,
  };
}

function status(childStatus: ChildStatus, overrides: Partial<StatusResult> = {}): StatusResult {
  return {
    daemon: {
      pid: 4200,
      version: '0.1.0',
      uptimeMs: 3_600_000,
      socket: '/x/mcp-starterd.sock',
      dataDir: '/x',
      timeouts: { drainMs: 30_000, killMs: 5_000, readyMs: 15_000 },
    },
    child: childStatus,
    operation: null,
    url: 'http://127.0.0.1:8000/mcp',
    mode: 'normal',
    activeLearners: 2,
    inFlight: 1,
    availability: { h24: 0.999, d7: null, goal: 0.99 },
    alerts: [],
    ...overrides,
  };
}

const STOPPED: StopResult = { was: 'running', activeLearners: 1, inFlight: 0, drained: true, killed: false, ms: 1234 };

describe('mcp-starterctl against a control socket (fixture server)', () => {
  test(
    'asks status first, sends the flags as params (seconds → timeoutMs) and prints exactly the result with --json',
    { timeout: TEST_MS },
    async (t) => {
      const fixture = await socketFixture(t, (req, socket) => {
        if (req.method === 'status') return answer(socket, req.id, status(child()));
        // A state notification first, then the answer split across two writes: framing is by line.
        const notification = JSON.stringify({ jsonrpc: '2.0', method: 'state', params: { state: 'draining' } });
        const line = JSON.stringify({ jsonrpc: '2.0', id: req.id, result: STOPPED });
        socket.write(`${notification}\n${line.slice(0, 10)}`);
        setImmediate(() => socket.write(`${line.slice(10)}\n`));
      });
      const run = await ctl(t, ['--data-dir', fixture.dir, 'stop', '--timeout', '2.5', '--force', '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), STOPPED);
      assert.deepEqual(fixture.requests, [
        { method: 'status', params: undefined },
        { method: 'stop', params: { timeoutMs: 2500, force: true } },
      ]);
      assert.equal(run.stderr, '', 'no waiting line when stderr is not a terminal');

      const human = await ctl(t, ['--data-dir', fixture.dir, 'stop']);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^Stopped the MCP server in 1\.2 s: everything in flight finished first\./);
      assert.deepEqual(fixture.requests[3], { method: 'stop', params: {} });
    },
  );

  test('status exits 0 when running and 1 when fatal, and shows the last exit, stderr lines and hint', { timeout: TEST_MS }, async (t) => {
    let answerWith = status(child());
    const fixture = await socketFixture(t, (req, socket) => answer(socket, req.id, answerWith));
    const running = await ctl(t, ['status', '--data-dir', fixture.dir]);
    assert.equal(running.code, 0, running.stderr);
    assert.match(running.stdout, /^● running {2}serving learners · pid 4242 · up 1 min 3\d s · 0 restarts$/m);
    assert.match(running.stdout, /url\s+http:\/\/127\.0\.0\.1:8000\/mcp/);
    assert.match(running.stdout, /learners\s+2 active · 1 request in flight/);
    assert.match(running.stdout, /timeouts\s+drain 30 s · kill 5\.0 s · ready 15 s/);
    assert.doesNotMatch(running.stdout, /operation/);

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

  test(
    'status shows a reload in progress (exit 0: the old server still serves) and the processes handing over',
    { timeout: TEST_MS },
    async (t) => {
      const since = new Date(Date.now() - 2_000).toISOString();
      const alerts = [{ rule: 'log_writes', since, message: 'Log writes fail (disk full).', hint: 'Free space in the data dir.' }];
      const answerWith = status(child({ state: 'reloading', otherPids: [4343] }), { operation: { name: 'reload', since }, alerts });
      const fixture = await socketFixture(t, (req, socket) => answer(socket, req.id, answerWith));
      const run = await ctl(t, ['status', '--data-dir', fixture.dir]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^◒ reloading {2}handing over to a new server process; the old one serves until then · pid 4242/m);
      assert.match(run.stdout, /operation\s+reload \(handover to a new server process\) in progress for \d+\.\d s \(since /);
      assert.match(run.stdout, /also alive\s+pid 4343 \(handing over or draining\)/);
      assert.match(
        run.stdout,
        /alert\s+Log writes fail \(disk full\)\. \(log_writes, since \d+\.\d s ago\) → Free space in the data dir\./,
      );
    },
  );

  test('maps the daemon\u2019s error code to the exit code, and prints its message and hint', { timeout: TEST_MS }, async (t) => {
    const fixture = await socketFixture(t, (req, socket) => {
      if (req.method === 'status') return answer(socket, req.id, status(child()));
      const code = req.method === 'start' ? 'E_BUSY' : 'E_BAD_PARAMS';
      const error = { code: -32020, message: `refused ${req.method}`, data: { code, hint: 'do the other thing' } };
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

  test(
    'a result that does not match the schema, or a line that is not JSON, is a clear error and no crash',
    { timeout: TEST_MS },
    async (t) => {
      const garbageFixture = await socketFixture(t, (req, socket) =>
        answer(socket, req.id, { daemon: { pid: 'one' }, child: { state: 'sleeping' } }),
      );
      const htmlFixture = await socketFixture(t, (_req, socket) => socket.write('<html>not a daemon</html>\n'));
      const [garbage, notJson] = await Promise.all([
        ctl(t, ['status', '--data-dir', garbageFixture.dir]),
        ctl(t, ['start', '--json', '--data-dir', htmlFixture.dir]),
      ]);
      assert.equal(garbage.code, 1);
      assert.match(
        garbage.stderr,
        /^mcp-starterctl: mcp-starterd answered `status` with a result this mcp-starterctl does not understand \(daemon\.pid: /,
      );
      assert.match(garbage.stderr, /→ The daemon and ctl are probably from different releases/);
      assert.doesNotMatch(garbage.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(notJson.code, 1);
      assert.match(jsonError(notJson).message, /answered `status` with a line this mcp-starterctl does not understand \(not JSON/);
    },
  );

  test(
    'a line longer than the response limit is refused as not understood, without buffering it whole',
    { timeout: TEST_MS },
    async (t) => {
      const fixture = await socketFixture(t, (_req, socket) => {
        const chunk = 'x'.repeat(1024 * 1024);
        for (let i = 0; i < 17; i++) socket.write(chunk);
      });
      const run = await ctl(t, ['status', '--json', '--data-dir', fixture.dir]);
      assert.equal(run.code, 1);
      assert.match(jsonError(run).message, /answered `status` with a line .* \(longer than 16777216 characters\)/);
    },
  );

  test('a daemon that never answers is exit 3 after MCP_STARTER_CTL_TIMEOUT_MS', { timeout: TEST_MS }, async (t) => {
    const fixture = await socketFixture(t, () => undefined);
    const started = performance.now();
    const run = await ctl(t, ['status', '--json', '--data-dir', fixture.dir], { MCP_STARTER_CTL_TIMEOUT_MS: '300' });
    assert.equal(run.code, 3);
    const error = jsonError(run);
    assert.equal(error.code, 'E_NOT_RUNNING');
    assert.match(error.message, /did not answer `status` within 0\.3 s/);
    assert.ok(performance.now() - started < WAIT_MS);
  });

  test('a daemon that hangs up in the middle of a stop is exit 3 that says so', { timeout: TEST_MS }, async (t) => {
    const fixture = await socketFixture(t, (req, socket) => {
      if (req.method === 'status') answer(socket, req.id, status(child()));
      else socket.destroy();
    });
    const run = await ctl(t, ['stop', '--json', '--data-dir', fixture.dir]);
    assert.equal(run.code, 3);
    assert.match(jsonError(run).message, /mcp-starterd stopped answering: it closed the connection before answering `stop`/);
  });

  test(
    'on a terminal, stop says how long it waits and for whom, from the daemon\u2019s own drain timeout',
    { timeout: TEST_MS, skip: !HAS_SCRIPT && 'needs `script` (util-linux) for a terminal' },
    async (t) => {
      const fixture = await socketFixture(t, (req, socket) => {
        const timeouts = { drainMs: 120_000, killMs: 5_000, readyMs: 15_000 };
        if (req.method === 'status') return answer(socket, req.id, status(child(), { daemon: { ...status(child()).daemon, timeouts } }));
        answer(socket, req.id, STOPPED);
      });
      const run = await ctlOnTerminal(t, ['stop', '--data-dir', fixture.dir]);
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, /^mcp-starterctl: Stopping: waiting up to 2 min for 2 active learners and 1 request in flight to finish…/m);
      assert.match(run.output, /Stopped the MCP server in 1\.2 s/);
    },
  );

  test('emergency-stop goes through the daemon when it answers, and never touches the pid file then', { timeout: TEST_MS }, async (t) => {
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

  test(
    'connect without --url asks the daemon for the server\u2019s URL and bridges a stdio client to it',
    { timeout: TEST_MS },
    async (t) => {
      const server = await startHttpServer(t, { dataDir: tempDir(t) });
      const fixture = await socketFixture(t, (req, socket) => answer(socket, req.id, { ...status(child()), url: server.url.href }));
      const client = new V1Client({ name: 'test-ctl-connect', version: '1.0.0' });
      await client.connect(
        new V1StdioTransport({
          command: process.execPath,
          args: ['--import', 'tsx', CTL_MAIN, 'connect', '--data-dir', fixture.dir],
          cwd: ROOT,
          env: cleanEnv(),
          stderr: 'pipe',
        }),
      );
      t.after(() => client.close());
      const tools = (await client.listTools()).tools.map((tool) => tool.name);
      assert.ok(tools.includes('list_tutorials'), tools.join());
      assert.deepEqual(fixture.requests, [{ method: 'status', params: undefined }]);
    },
  );
});

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  return port;
}

/** Starts `connect` as a stdio bridge process, sends one tools/list and resolves with its answer and stderr. */
async function connectOnce(
  t: TestContext,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ answer: { result?: { tools: Array<{ name: string }> }; error?: { message: string } }; stderr: string; code: number | null }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CTL_MAIN, 'connect', ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const stdout = new LineStream(proc.stdout);
  // A 2026-07-28 request: stateless, its protocol version and client in the `_meta` envelope.
  const _meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  proc.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: { _meta } })}\n`);
  const answer = await waitForLine(stdout, (l) =>
    l.includes('"id":7') ? (JSON.parse(l) as { result?: { tools: Array<{ name: string }> }; error?: { message: string } }) : undefined,
  );
  proc.stdin.end();
  const [code] = (await withTimeout(once(proc, 'close'), 'connect')) as [number | null];
  return { answer, stderr, code };
}

describe('mcp-starterctl connect: the fallback address and the learner token', () => {
  test(
    'without a daemon it still bridges to the default address, and each request says the daemon is down',
    { timeout: TEST_MS },
    async (t) => {
      const port = await deadPort();
      const run = await connectOnce(t, ['--data-dir', tempDir(t)], { MCP_STARTER_SERVER_PORT: String(port) });
      assert.match(run.answer.error?.message ?? '', new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/mcp .*mcp-starterd running`));
      assert.equal(run.code, 0);
      assert.match(run.stderr, /mcp-starterd is not running .* Bridging to the default address/);
    },
  );

  test(
    'without a daemon the address follows --config, and MCP_STARTER_CONFIG when --config is not given',
    { timeout: TEST_MS },
    async (t) => {
      const dir = tempDir(t);
      const [fromFlag, fromEnv] = [await deadPort(), await deadPort()];
      const flagFile = writeConfig(dir, { server: { port: fromFlag } });
      const envFile = join(dir, 'env-config.json');
      writeFileSync(envFile, JSON.stringify({ server: { host: '0.0.0.0', port: fromEnv } }));
      const [byFlag, byEnv] = await Promise.all([
        connectOnce(t, ['--data-dir', dir, '--config', flagFile], { MCP_STARTER_CONFIG: envFile }),
        connectOnce(t, ['--data-dir', dir], { MCP_STARTER_CONFIG: envFile }),
      ]);
      assert.match(byFlag.answer.error?.message ?? '', new RegExp(`cannot reach http://127\\.0\\.0\\.1:${fromFlag}/mcp`));
      assert.match(byFlag.stderr, new RegExp(`Bridging to the address in ${flagFile}, http://127\\.0\\.0\\.1:${fromFlag}/mcp`));
      // A wildcard bind is reached on loopback.
      assert.match(byEnv.answer.error?.message ?? '', new RegExp(`cannot reach http://127\\.0\\.0\\.1:${fromEnv}/mcp`));
    },
  );

  test('an invalid --config is a config error (exit 2) before anything is bridged', { timeout: TEST_MS }, async (t) => {
    const dir = tempDir(t);
    const file = writeConfig(dir, { server: { port: 'eight thousand' } });
    const run = await ctl(t, ['connect', '--data-dir', dir, '--config', file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Invalid configuration:\n.*server\.port/);
  });

  test(
    'the learner token comes from MCP_STARTER_TOKEN or --token-file; --token works but warns that ps shows it',
    { timeout: TEST_MS },
    async (t) => {
      const dir = tempDir(t);
      const db = openLearningDb(join(dir, 'mcp-starter.db'));
      const { token } = addLearner(db, 'ann');
      db.close();
      const server = await startHttpServer(t, { dataDir: dir, env: { MCP_STARTER_SERVER_REQUIRE_AUTH: 'true' } });
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
      const openFile = join(dir, 'open-token');
      writeFileSync(openFile, token);
      chmodSync(openFile, 0o644);
      const url = server.url.href;
      const [byEnv, byFile, byOpenFile, byFlag, none] = await Promise.all([
        connectOnce(t, ['--url', url], { MCP_STARTER_TOKEN: token }),
        connectOnce(t, ['--url', url, '--token-file', tokenFile]),
        connectOnce(t, ['--url', url, '--token-file', openFile]),
        connectOnce(t, ['--url', url, '--token', token]),
        connectOnce(t, ['--url', url]),
      ]);
      for (const run of [byEnv, byFile, byOpenFile, byFlag]) {
        assert.ok(
          run.answer.result?.tools.some((tool) => tool.name === 'list_tutorials'),
          run.stderr,
        );
      }
      assert.doesNotMatch(byEnv.stderr + byFile.stderr, /process list|can be read by other users/);
      assert.match(byOpenFile.stderr, /The token file .*open-token can be read by other users: `chmod 600/);
      assert.match(
        byFlag.stderr,
        /--token shows the token in the process list .* use MCP_STARTER_TOKEN=TOKEN or --token-file FILE instead/,
      );
      assert.match(none.answer.error?.message ?? '', /HTTP 401/);
      assert.match(none.answer.error?.message ?? '', /MCP_STARTER_TOKEN=TOKEN/);

      const both = await ctl(t, ['connect', '--url', url, '--token', token, '--token-file', tokenFile]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /Give the token one way/);
      const missing = await ctl(t, ['connect', '--url', url, '--token-file', join(dir, 'nope')]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /Cannot read the token file .*nope \(ENOENT\)/);
    },
  );
});

const SAMPLE = {
  at: '2026-11-25T14:03:00.000Z',
  cpu_percent: 12.5,
  memory_percent: 40,
  disk_percent: 55,
  child_cpu_percent: null,
  memory_rss_mb: 80,
  response_time_p50: 3,
  response_time_p95: null,
  response_time_max: 9,
  requests: 10,
  active_connections: 2,
  in_flight: 0,
  active_learners: 1,
};
const FIGURES = Object.fromEntries(SERIES.map((name, i) => [name, i === 0 ? null : i]));

/** One valid result per method, as the daemon sends them. */
const SAMPLES: { [M in MethodName]: unknown } = {
  status: status(
    child({ lastExit: { code: null, signal: 'SIGKILL', at: '2026-11-25T14:03:00.000Z', reason: 'crash' }, otherPids: [4343] }),
    {
      operation: { name: 'reload', since: '2026-11-25T14:03:01.000Z' },
      alerts: [{ rule: 'log_writes', since: '2026-11-25T14:00:00.000Z', message: 'Log writes fail.', hint: 'Free disk space.' }],
    },
  ),
  start: child({ state: 'backoff', pid: null, hint: 'wait', nextStartAt: '2026-11-25T14:03:05.000Z' }),
  stop: STOPPED,
  restart: { stop: STOPPED, child: child() },
  'config.reload': { oldPid: 1, newPid: null, ms: 12.5, configChanged: false },
  emergencyStop: {
    killedPid: null,
    activeFile: '/x/emergency.json',
    backup: { file: '/x/b.db', bytes: 4096, at: '2026-11-25T14:03:00.000Z', integrity: 'ok' },
    backupError: null,
    offline: false,
  },
  subscribe: { topics: ['state', 'stats'] },
  health: {
    timestamp: '2026-11-25T14:03:00.000Z',
    status: 'unhealthy',
    checks: {
      server_response: { status: 'pass', response_time: 0.004, details: 'HTTP 200' },
      database_connection: { status: 'pass', response_time: 0.001, details: 'Users: 3' },
      memory_usage: { status: 'pass', response_time: 0.01, details: 'Server: 80 MB' },
      learning_system: { status: 'fail', response_time: 0.001, details: 'Tutorials: 0, Active learners: 0', hint: 'Check the catalogue.' },
      mcp_probe: { status: 'error', response_time: 5, details: 'no answer', hint: 'Restart.' },
    },
    availability: { h24: 1, d7: 0.98, goal: 0.99 },
  },
  'metrics.current': { current: SAMPLE, alerts: [] },
  'metrics.history': { hours: 1, resolution: 'raw', samples: [SAMPLE] },
  'metrics.analyze': {
    current: null,
    analysis: {
      hours: 24,
      samples: 1,
      averages: FIGURES,
      maxima: FIGURES,
      p95: FIGURES,
      alerts: [{ rule: 'cpu', share: 1, threshold: 80, limitShare: 0.1, average: 91, message: 'CPU over 80 %' }],
    },
    alerts: [{ rule: 'cpu', since: '2026-11-25T14:00:00.000Z', message: 'CPU high.', hint: 'See ctl top.' }],
  },
  'logs.rotate': {
    rotated: true,
    file: '/x/logs/mcp-starterd.log',
    rotatedTo: '/x/logs/mcp-starterd.log.1',
    bytes: 104857600,
    compressed: ['/x/logs/mcp-starterd.log.2.gz'],
    deleted: ['/x/logs/mcp-starterd.log.8.gz'],
    totalBytes: 120000000,
  },
  'jobs.list': [
    {
      name: 'health-report',
      schedule: '0 * * * *',
      timezone: 'Europe/Berlin',
      nextRun: '2026-11-25T15:00:00.000Z',
      runningSince: null,
      lastRun: { at: '2026-11-25T14:00:00.000Z', ok: true, ms: 812.5, summary: 'healthy: every check passes' },
    },
    {
      name: 'weekly-report',
      schedule: '0 3 * * 0',
      timezone: null,
      nextRun: null,
      runningSince: '2026-11-25T14:00:00.000Z',
      lastRun: null,
    },
  ],
  'jobs.run': {
    name: 'rotate-logs',
    trigger: 'manual',
    startedAt: '2026-11-25T14:00:00.000Z',
    endedAt: '2026-11-25T14:00:01.000Z',
    ok: false,
    ms: 1000,
    summary: 'failed: ENOSPC',
    error: 'ENOSPC',
  },
  // logs.* samples: the logs work (issue 9) owns these entries.
  'logs.tail': {
    lines: [
      { time: '2026-11-25T14:00:00.000Z', level: 'info', msg: 'hello', err: { message: 'x' } },
      { raw: 'Segmentation fault' },
      { level: 'error', raw: '{"level":"error","msg":"xx', truncated: 2_000_000 },
    ],
    cutLines: 1,
    sizeLimited: false,
  },
  'logs.analyze': {
    hours: 24,
    errors: 2,
    warnings: 1,
    top_errors: [{ message: 'database is locked for learner <n>', count: 2, example: 'database is locked for learner 7' }],
    tool_calls: 10,
    resource_accesses: 3,
    new_learners: 1,
    from: '2026-11-24T14:00:00.000Z',
    to: '2026-11-25T14:00:00.000Z',
    tools: [
      { tool: 'get_step', calls: 10, failed: 1, p50_ms: 1.25, p95_ms: 9.5, max_ms: 12 },
      { tool: 'submit_step', calls: 1, failed: 0, p50_ms: null, p95_ms: null, max_ms: null },
    ],
    probe_calls: 360,
    lines_read: 1200,
    lines_in_window: 1000,
    unparsed_lines: 1,
    oversize_lines: 0,
    ungrouped_errors: 0,
    files_read: [
      { file: '/x/logs/mcp-starterd.log.2.gz', bytes: 4096, compressed: true, error: 'Z_BUF_ERROR: unexpected end of file' },
      { file: '/x/logs/mcp-starterd.log', bytes: 81920, compressed: false, error: null },
    ],
    files_skipped: 2,
    bytes_read: 86016,
    ms: 12.5,
  },
  // backup.* and db.* samples: the backups work (issue 9) owns these entries.
  'backup.create': {
    file: '/x/backups/a.db',
    bytes: 4096,
    at: '2026-11-25T14:00:00.000Z',
    integrity: 'ok',
    label: 'manual',
    ms: 12.5,
    pruned: ['/x/backups/old.db'],
    keep: 14,
    offline: false,
  },
  'backup.list': [
    { file: '/x/backups/a.db', bytes: 4096, at: '2026-11-25T14:00:00.000Z', integrity: 'ok', label: 'daily' },
    { file: '/x/backups/b.db', bytes: 4096, at: '2026-11-24T14:00:00.000Z', integrity: 'unchecked' },
  ],
  'backup.restore': {
    restored: { file: '/x/backups/a.db', bytes: 4096, at: '2026-11-25T14:00:00.000Z', integrity: 'ok', label: 'daily' },
    keptAs: '/x/mcp-starter.db.replaced-20261125T140000000Z',
    child: { state: 'running', pid: 4242 },
    health: { status: 'unhealthy', failing: ['mcp_probe'] },
    hint: 'To put the replaced database back: …',
    downMs: 1200,
    ms: 2400,
    offline: false,
  },
  'db.check': {
    ok: false,
    file: '/x/mcp-starter.db',
    integrity: 'ok',
    foreignKeys: { violations: 1, sample: [{ table: 'user_sessions', rowid: 3, parent: 'users' }] },
    schema: { version: 2, expected: 2 },
    sizes: { dbBytes: 8192, walBytes: 0, freeBytes: 0 },
    problems: [{ what: '1 rows point at rows that do not exist', hint: 'restore a backup' }],
    notes: ['Schema version 1: the server updates it to 2 at its next start.'],
    ms: 40,
    offline: true,
  },
  'db.optimize': {
    learning: {
      file: '/x/mcp-starter.db',
      before: { dbBytes: 8192, walBytes: 4096, freeBytes: 4096 },
      after: { dbBytes: 4096, walBytes: 0, freeBytes: 0 },
      steps: [{ name: 'vacuum', ran: true, ms: 3.5, lockMs: 3.5, detail: 'rebuilt' }],
    },
    ops: {
      file: '/x/ops.db',
      before: { dbBytes: 8192, walBytes: 0, freeBytes: 0 },
      after: { dbBytes: 8192, walBytes: 0, freeBytes: 0 },
      steps: [{ name: 'prune', ran: true, ms: 1, lockMs: 1, detail: '3 rows' }],
      pruned: { probes: 3, job_runs: 0 },
    },
    writers: { longestLockMs: 3.5, probeWrites: 12, probeLongestWaitMs: null },
    ms: 80,
  },
  // diagnose: the diagnose work (issue 10) owns this entry.
  diagnose: {
    ok: false,
    checkedAt: '2026-11-25T14:00:00.000Z',
    daemon: 'down',
    dataDir: '/x',
    ms: 412,
    findings: [
      {
        id: 'port_taken',
        check: 'port',
        category: 'connection',
        severity: 'critical',
        title: '127.0.0.1:8000 is taken by another program',
        cause: 'Something listens there (pid 4242).',
        fix: 'kill 4242',
        details: ['pid 4242: nc -l 8000'],
      },
    ],
    checks: [{ id: 'port', category: 'connection', status: 'fail', summary: '127.0.0.1:8000 is held', ms: 3.5 }],
    recentErrors: [{ time: null, level: 'error', source: 'mcp-starterd/supervisor', event: 'child_exit', message: 'server exited' }],
  },
  // report.learning: the learning-data work (issue 10) owns this entry.
  'report.learning': {
    date: '2026-11-25',
    total_users: 3,
    completed_tutorials: 4,
    active_learners: 1,
    completion_rate: 133.33333333333331,
    generated_at: '2026-11-25T02:00:00.000Z',
    period: { from: '2026-11-24T02:00:00.000Z', to: '2026-11-25T02:00:00.000Z' },
    new_learners: 1,
    starts: 2,
    completions: 1,
    answers: 5,
    wrong_answers: 2,
    previous: {
      date: '2026-11-24',
      total_users: 2,
      completed_tutorials: 3,
      active_learners: 0,
      completion_rate: 150,
      period: { from: '2026-11-23T02:00:00.000Z', to: '2026-11-24T02:00:00.000Z' },
      new_learners: 0,
      starts: 0,
      completions: 0,
      answers: 0,
      wrong_answers: 0,
    },
    tutorials: [
      {
        id: 'tools',
        title: 'Tools',
        retired: false,
        starts: 2,
        completions: 1,
        completion_rate: 33.33333333333333,
        average_time: 95.5,
        previous: { starts: 0, completions: 0, completion_rate: 0, average_time: null },
      },
    ],
    stuck_steps: {
      most_wrong_answers: [
        {
          tutorial_id: 'tools',
          tutorial_title: 'Tools',
          step: 2,
          step_key: 'call',
          step_title: 'Calling a tool',
          wrong_answers: 2,
          learners: 1,
          previous: { wrong_answers: 0, learners: 0 },
        },
      ],
      longest_dwell: [
        {
          tutorial_id: 'tools',
          tutorial_title: 'Tools',
          step: 2,
          step_key: 'call',
          step_title: null,
          passes: 1,
          average_dwell: 60,
          longest_dwell: 60,
          previous: { passes: 0, average_dwell: null },
        },
      ],
    },
    source: 'live',
    file: null,
  },
  optimize: {
    parts: [
      { part: 'database', ok: false, summary: 'db optimize is already running.', hint: 'Wait for it.' },
      { part: 'memory', ok: true, summary: 'garbage collected' },
      { part: 'cache', ok: true, summary: '0 idle learner sessions ended' },
      { part: 'connections', ok: true, summary: '2 idle keep-alive connections closed' },
    ],
    database: null,
    server: {
      gcRan: true,
      heapUsedBeforeBytes: 40_000_000,
      heapUsedAfterBytes: 30_000_000,
      rssBeforeBytes: 120_000_000,
      rssAfterBytes: 110_000_000,
      sessionsEnded: 0,
      offendersForgotten: 1,
      sqliteCacheReleased: true,
      idleConnectionsClosed: 2,
      ms: 12.5,
    },
    ms: 40.25,
  },
  'report.weekly': {
    report: {
      date: '2026-11-28',
      from: '2026-11-22',
      to: '2026-11-28',
      timezone: 'Europe/Berlin',
      generatedAt: '2026-11-29T02:00:00.000Z',
      days: [{ date: '2026-11-22', availability: 0.995, p95Ms: 120, cpuPercent: 20, memoryPercent: 40, completions: 3 }],
      server: {
        availability: 0.995,
        availabilityGoal: 0.99,
        downMs: 3_600_000,
        plannedMs: 0,
        cpuPercent: 20,
        memoryPercent: 40,
        p50Ms: 50,
        p95Ms: 120,
        responseGoalMs: 2_000,
        slowDays: 0,
        samples: 60_480,
        daemonDownCount: 0,
        restarts: [{ cause: 'crash', count: 1, planned: false }],
      },
      learning: null,
      errors: { errors: 0, warnings: 0, topErrors: [], alerts: [], failedJobs: [] },
      recommendations: [{ severity: 'ok', text: 'A quiet week.', command: null }],
      notes: ['Learning activity is missing: SQLITE_CORRUPT'],
    },
    markdownFile: '/x/reports/weekly_report_2026-11-28.md',
    htmlFile: '/x/reports/weekly_report_2026-11-28.html',
  },
  recover: {
    ok: false,
    offline: true,
    steps: [
      { step: 'diagnose', status: 'ok', summary: '2 findings', fix: 'mcp-starterctl diagnose', details: ['error: x \u2192 y'] },
      { step: 'database', status: 'failed', summary: 'damaged', fix: 'mcp-starterctl db check', details: [] },
      {
        step: 'restore',
        status: 'offered',
        summary: 'the newest good backup is /x/b.db',
        fix: 'mcp-starterctl recover --yes',
        details: [],
      },
      { step: 'minimal', status: 'skipped', summary: 'not running', fix: 'mcp-starterd --data-dir /x --minimal', details: [] },
    ],
    next: 'mcp-starterctl recover --yes',
    ms: 120.5,
  },
};

type Path = Array<string | number>;

function pathsOf(value: unknown, at: Path = []): Path[] {
  if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => pathsOf(v, [...at, i]))];
  if (typeof value === 'object' && value !== null) return [at, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...at, k]))];
  return [at];
}

/** A copy of `value` with the node at `path` replaced (`undefined`: removed). */
function withAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] ?? '';
  if (replacement !== undefined) node[last] = replacement;
  else if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
  else delete node[last];
  return copy;
}

/** The sample, and the sample with every node removed, replaced by a wrong value, or given an extra key. */
function variants(sample: unknown): unknown[] {
  const wrong = [null, 'x', '', 1.5, -1, 0, 2 ** 60, true, [], {}, ['x'], [1.5], { extra: 1 }];
  const out: unknown[] = [sample];
  for (const path of pathsOf(sample)) {
    for (const w of wrong) out.push(withAt(sample, path, w));
    if (path.length > 0) out.push(withAt(sample, path, undefined));
    const node = path.reduce<unknown>((n, k) => (n as Record<string | number, unknown>)[k], sample);
    if (typeof node === 'object' && node !== null && !Array.isArray(node)) out.push(withAt(sample, path, { ...node, surplus: 'x' }));
  }
  return out;
}

function keywordsOf(schema: unknown): string[] {
  if (Array.isArray(schema)) return schema.flatMap(keywordsOf);
  if (typeof schema !== 'object' || schema === null) return [];
  return Object.entries(schema).flatMap(([k, v]) => {
    // Under these the keys are names (properties) or values (enum, const, default), not keywords.
    if (k === 'properties') return [k, ...Object.values(v as object).flatMap(keywordsOf)];
    if (k === 'enum' || k === 'const' || k === 'default' || k === 'required') return [k];
    return [k, ...keywordsOf(v)];
  });
}

describe('ctl checks answers without zod, and agrees with zod', () => {
  test('ctl/rpc-schemas.generated.ts is generated from shared/schemas/rpc.ts and not stale', { timeout: TEST_MS }, () => {
    assert.deepEqual(
      { results: RESULT_JSON_SCHEMAS, errorData: ERROR_DATA_JSON_SCHEMA },
      rpcJsonSchemas(),
      'run `npx tsx ctl/gen-rpc-schemas.ts` and commit the result',
    );
    const used = new Set(keywordsOf([...Object.values(RESULT_JSON_SCHEMAS), ERROR_DATA_JSON_SCHEMA]));
    assert.deepEqual(
      [...used].filter((k) => !KEYWORDS.has(k)),
      [],
      'ctl/json-check.ts must learn every keyword the generated schemas use',
    );
  });

  test('json-check accepts, rejects and outputs exactly what zod does for every result schema', { timeout: TEST_MS }, () => {
    for (const method of Object.keys(SAMPLES) as MethodName[]) {
      const schema: JsonSchema = RESULT_JSON_SCHEMAS[method];
      for (const value of variants(SAMPLES[method])) {
        const byZod = RESULT_SCHEMAS[method].safeParse(value);
        const byCheck = checkJson(schema, value);
        assert.equal(byCheck.ok, byZod.success, `${method}: ${JSON.stringify(value)}`);
        if (byCheck.ok && byZod.success) assert.deepEqual(byCheck.value, byZod.data, `${method} output: ${JSON.stringify(value)}`);
      }
    }
  });
});

describe('ctl waits as long as the daemon says', () => {
  const slow = (overrides: Partial<StatusResult> = {}): StatusResult =>
    status(child(), {
      ...overrides,
      daemon: { ...status(child()).daemon, timeouts: { drainMs: 120_000, killMs: 7_000, readyMs: 20_000 } },
    });

  test(
    'stop, restart, start and reload budgets come from the daemon\u2019s timeouts plus a margin, never from ctl constants',
    { timeout: TEST_MS },
    () => {
      const s = slow();
      assert.equal(stopBudgetMs(undefined, s), 120_000 + 7_000 + MARGIN_MS);
      assert.equal(stopBudgetMs({ timeoutMs: 5_000 }, s), 5_000 + 7_000 + MARGIN_MS, '--timeout replaces the drain timeout');
      assert.equal(stopBudgetMs({ force: true }, s), 7_000 + MARGIN_MS, '--force skips the drain');
      assert.equal(restartBudgetMs(undefined, s), 120_000 + 7_000 + 20_000 + MARGIN_MS);
      assert.equal(startBudgetMs(s), 20_000 + MARGIN_MS);
      assert.equal(reloadBudgetMs(s), 20_000 + 120_000 + 7_000 + MARGIN_MS);
      // An operation in progress goes first: its longest possible time is added.
      const busy = slow({ operation: { name: 'reload', since: new Date().toISOString() } });
      assert.equal(stopBudgetMs(undefined, busy), stopBudgetMs(undefined, s) + 120_000 + 7_000 + 20_000);
    },
  );

  test('the waiting line names the learners, the requests and the operation in progress', { timeout: TEST_MS }, () => {
    const now = Date.parse('2026-11-25T14:03:03.000Z');
    const s = status(child());
    assert.equal(
      stopWaiting(undefined, s, now),
      'Stopping: waiting up to 30 s for 2 active learners and 1 request in flight to finish\u2026',
    );
    assert.equal(stopWaiting({ force: true }, s, now), 'Stopping at once (--force): SIGTERM now, SIGKILL after 5.0 s\u2026');
    assert.equal(
      restartWaiting({ timeoutMs: 10_000 }, s, now),
      'Restarting: waiting up to 10 s for 2 active learners and 1 request in flight to finish, then up to 15 s for the new server to be ready\u2026',
    );
    assert.equal(startWaiting(s, now), undefined, 'nothing to wait for: it is running');
    assert.equal(
      reloadWaiting(s, now),
      'Reloading: waiting up to 15 s for a new server to be ready; the old one then has up to 30 s to finish 1 request in flight\u2026',
    );
    const busy = status(child(), { operation: { name: 'crash-restart', since: '2026-11-25T14:03:00.000Z' } });
    assert.match(
      stopWaiting(undefined, busy, now) ?? '',
      /^A restart after a crash is in progress \(for 3\.0 s\): it finishes first\. Stopping: /,
    );
    assert.equal(stopWaiting(undefined, status(child({ state: 'stopped', pid: null })), now), undefined);
    assert.equal(
      startWaiting(status(child({ state: 'fatal', pid: null })), now),
      'Starting: waiting up to 15 s for the MCP server to be ready\u2026',
    );
  });
});

/** Writes a config file as text (so a test can also write one that is not JSON). */
function configFile(t: TestContext, text: string): string {
  const file = join(tempDir(t), 'mcp-starter.json');
  writeFileSync(file, text);
  return file;
}

/** A hook that makes loading `module` fail, to show that a command never loads it. */
function refusing(t: TestContext, module: string): string {
  const dir = tempDir(t);
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    `export async function resolve(specifier, context, next) {
      if (specifier === ${JSON.stringify(module)} || specifier.startsWith(${JSON.stringify(`${module}/`)})) throw new Error('loaded ${module}');
      return next(specifier, context);
    }`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`);
  return register;
}

describe('mcp-starterctl config validate', () => {
  test('checkConfig finds a problem exactly when loadConfig throws', { timeout: TEST_MS }, (t) => {
    const cases: Array<[string, string | undefined, NodeJS.ProcessEnv]> = [
      ['defaults', undefined, {}],
      ['a good file', configFile(t, '{"server":{"port":9000},"drain":{"timeoutMs":120000}}'), {}],
      ['an unknown key', configFile(t, '{"server":{"prot":9000}}'), {}],
      ['a bad value', configFile(t, '{"server":{"port":70000}}'), {}],
      ['not JSON', configFile(t, '{"server":'), {}],
      ['not an object', configFile(t, '[1]'), {}],
      ['a missing file', join(tempDir(t), 'nope.json'), {}],
      ['a bad environment value', undefined, { MCP_STARTER_SERVER_PORT: 'eighty' }],
      ['an unknown environment variable', undefined, { MCP_STARTER_SERVR_PORT: '80' }],
      ['an environment value out of range', undefined, { MCP_STARTER_DRAIN_TIMEOUT_MS: '-5' }],
      ['the non-config variables', undefined, { MCP_STARTER_TOKEN: 'x', MCP_STARTER_CTL_TIMEOUT_MS: '5', MCP_STARTER_DATA_DIR: '/x' }],
    ];
    for (const [name, file, env] of cases) {
      let threw = false;
      try {
        loadConfig({ file, env });
      } catch {
        threw = true; // what checkConfig must then report
      }
      assert.equal(checkConfig({ file, env }).problems.length > 0, threw, name);
    }
  });

  test('a good file is valid: exit 0 and a short summary; --json gives {file, valid, problems}', { timeout: TEST_MS }, async (t) => {
    const file = configFile(t, JSON.stringify({ server: { port: 9000 }, drain: { timeoutMs: 120_000 } }));
    const [human, json] = await Promise.all([ctl(t, ['config', 'validate', file]), ctl(t, ['config', 'validate', file, '--json'])]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^✓ ${file} is valid\\.`));
    assert.match(human.stdout, /server\s+http:\/\/127\.0\.0\.1:9000\/mcp/);
    assert.match(human.stdout, /drain\s+2 min, then SIGTERM; SIGKILL after 5\.0 s/);
    assert.equal(json.code, 0);
    assert.deepEqual(ConfigValidateResult.parse(JSON.parse(json.stdout)), { file, valid: true, problems: [] });
  });

  test('a bad file lists every problem with its key path and a hint, and exits 2', { timeout: TEST_MS }, async (t) => {
    const file = configFile(t, JSON.stringify({ server: { prot: 9000, host: '' }, drain: { timeoutMs: 'long' }, logz: {} }));
    const [human, json] = await Promise.all([ctl(t, ['config', 'validate', file]), ctl(t, ['--json', 'config', 'validate', file])]);
    assert.equal(json.code, 2);
    const result = ConfigValidateResult.parse(JSON.parse(json.stdout));
    assert.equal(result.valid, false);
    assert.equal(result.file, file);
    const byPath = new Map(result.problems.map((p) => [p.path, p]));
    assert.deepEqual([...byPath.keys()].sort(), ['drain.timeoutMs', 'logz', 'server.host', 'server.prot']);
    assert.match(byPath.get('server.prot')?.hint ?? '', /Did you mean "port"\? Keys allowed in "server": host, port/);
    assert.match(byPath.get('logz')?.hint ?? '', /Did you mean "logs"\?/);
    assert.match(byPath.get('drain.timeoutMs')?.message ?? '', /expected number/);
    assert.match(byPath.get('drain.timeoutMs')?.hint ?? '', /delete the key to use the default \(30000\)/);
    assert.equal(human.code, 2);
    assert.match(human.stdout, new RegExp(`^✗ ${file} has 4 problems:`));
    assert.match(human.stdout, /^ {2}server\.prot: Unknown key "prot"\.\n {4}→ Did you mean "port"\?/m);

    const notJson = configFile(t, '{"server": {"port": 80,}}');
    const broken = await ctl(t, ['config', 'validate', notJson, '--json']);
    assert.equal(broken.code, 2);
    const [problem] = ConfigValidateResult.parse(JSON.parse(broken.stdout)).problems;
    assert.equal(problem?.path, '');
    assert.match(problem?.message ?? '', /is not valid JSON/);
  });

  test(
    'without FILE it checks what the daemon would load: --config or MCP_STARTER_CONFIG, with the environment',
    { timeout: TEST_MS },
    async (t) => {
      const good = configFile(t, '{"server":{"port":9000}}');
      const bad = configFile(t, '{"server":{"port":-1}}');
      const [byFlag, byEnv, withEnv, defaults, fileIgnoresEnv] = await Promise.all([
        ctl(t, ['config', 'validate', '--config', bad, '--json'], { MCP_STARTER_CONFIG: good }),
        ctl(t, ['config', 'validate', '--json'], { MCP_STARTER_CONFIG: bad }),
        ctl(t, ['config', 'validate', '--config', good, '--json'], { MCP_STARTER_SERVER_PORT: '99999', MCP_STARTER_SERVR_HOST: 'x' }),
        ctl(t, ['config', 'validate']),
        ctl(t, ['config', 'validate', good], { MCP_STARTER_SERVER_PORT: '99999' }),
      ]);
      for (const run of [byFlag, byEnv]) {
        assert.equal(run.code, 2, run.stderr);
        const result = ConfigValidateResult.parse(JSON.parse(run.stdout));
        assert.equal(result.file, bad);
        assert.deepEqual(
          result.problems.map((p) => p.path),
          ['server.port'],
        );
      }
      assert.equal(withEnv.code, 2);
      const envProblems = ConfigValidateResult.parse(JSON.parse(withEnv.stdout)).problems;
      assert.deepEqual(envProblems.map((p) => p.path).sort(), ['MCP_STARTER_SERVR_HOST', 'server.port']);
      assert.match(envProblems.find((p) => p.path === 'server.port')?.message ?? '', /\(from MCP_STARTER_SERVER_PORT\)/);
      assert.match(envProblems.find((p) => p.path === 'server.port')?.hint ?? '', /fix MCP_STARTER_SERVER_PORT or unset it/);
      assert.equal(defaults.code, 0, defaults.stderr);
      assert.match(defaults.stdout, /^✓ The configuration \(no config file: defaults and environment\) is valid\./);
      assert.equal(fileIgnoresEnv.code, 0, 'FILE is checked as written');
      assert.match(fileIgnoresEnv.stdout, /Not applied: MCP_STARTER_SERVER_PORT/);
    },
  );

  test('config validate never loads better-sqlite3, and status never loads zod', { timeout: TEST_MS }, async (t) => {
    const file = configFile(t, '{"server":{"port":9000}}');
    const validate = await ctl(t, ['config', 'validate', file], { NODE_OPTIONS: `--import ${refusing(t, 'better-sqlite3')}` });
    assert.equal(validate.code, 0, validate.stderr);
    const fixture = await socketFixture(t, (req, socket) => answer(socket, req.id, status(child())));
    const statusRun = await ctl(t, ['status', '--data-dir', fixture.dir], { NODE_OPTIONS: `--import ${refusing(t, 'zod')}` });
    assert.equal(statusRun.code, 0, statusRun.stderr);
    // The hook works: a command that does load zod fails under it.
    const stop = await ctl(t, ['stop', '--timeout', '1', '--data-dir', fixture.dir], { NODE_OPTIONS: `--import ${refusing(t, 'zod')}` });
    assert.notEqual(stop.code, 0);
    assert.match(stop.stderr, /loaded zod/);
  });
});

/** A POST to /mcp whose body never finishes: a request in flight until the server closes it. */
async function requestInFlight(t: TestContext, url: string): Promise<Socket> {
  const u = new URL(url);
  const socket = netConnect(Number(u.port), u.hostname);
  t.after(() => socket.destroy());
  socket.on('error', () => undefined); // the server closes it when its drain gives up
  await once(socket, 'connect');
  socket.write(
    `POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
      'Content-Length: 100\r\n\r\n{"jsonrpc":',
  );
  return socket;
}

function parseRun<T>(run: CtlRun, schema: { parse: (v: unknown) => T }): T {
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  return schema.parse(JSON.parse(run.stdout));
}

describe('mcp-starterctl against a real daemon', () => {
  async function daemon(t: TestContext, env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
    return startDaemon(t, tempDir(t), env);
  }

  test('status --json is the daemon\u2019s StatusResult, with the timeouts it was configured with', { timeout: TEST_MS }, async (t) => {
    const d = await daemon(t, { MCP_STARTER_DRAIN_TIMEOUT_MS: '4321' });
    const s = parseRun(await ctl(t, ['status', '--json', '--data-dir', d.dataDir]), StatusResult.strict());
    assert.equal(s.child.state, 'running');
    assert.deepEqual(s.daemon.timeouts, { drainMs: 4321, killMs: 1000, readyMs: 15000 });
    assert.equal(s.operation, null);
    const human = await ctl(t, ['status', '--data-dir', d.dataDir]);
    assert.match(human.stdout, /timeouts\s+drain 4\.3 s · kill 1\.0 s · ready 15 s/);
  });

  test(
    'stop, start, restart and reload drive the daemon, and status agrees with the processes afterwards',
    { timeout: 120_000 },
    async (t) => {
      const d = await daemon(t);
      const args = ['--json', '--data-dir', d.dataDir];
      const first = parseRun(await ctl(t, ['status', ...args]), StatusResult);
      const firstPid = first.child.pid ?? assert.fail('no child pid');

      const stopped = parseRun(await ctl(t, ['stop', ...args]), StopResult);
      assert.equal(stopped.was, 'running');
      const afterStop = await ctl(t, ['status', ...args]);
      assert.equal(afterStop.code, 1, 'status exits 1 when the server is stopped');
      assert.equal(StatusResult.parse(JSON.parse(afterStop.stdout)).child.state, 'stopped');
      assert.equal(pidAlive(firstPid), false);

      const started = parseRun(await ctl(t, ['start', ...args]), StartResult);
      assert.equal(started.state, 'running');
      const startedPid = started.pid ?? assert.fail('no pid after start');

      const restarted = parseRun(await ctl(t, ['restart', ...args]), RestartResult);
      assert.equal(restarted.stop.was, 'running');
      assert.equal(restarted.child.state, 'running');
      const restartedPid = restarted.child.pid ?? assert.fail('no pid after restart');
      assert.notEqual(restartedPid, startedPid);
      assert.equal(pidAlive(startedPid), false);

      const reloaded = parseRun(await ctl(t, ['reload', ...args]), ReloadResult);
      assert.equal(reloaded.oldPid, restartedPid);
      const newPid = reloaded.newPid ?? assert.fail('no pid after reload');
      assert.notEqual(newPid, restartedPid);
      const settled = await waitForStatus(d.socket, (s) => s.child.otherPids.length === 0 && s.operation === null);
      assert.equal(settled.child.state, 'running');
      assert.equal(settled.child.pid, newPid);
      assert.equal(pidAlive(restartedPid), false, 'the old server is gone after the handover');
    },
  );

  test('emergency-stop through the daemon kills the server and takes a checked backup', { timeout: TEST_MS }, async (t) => {
    const d = await daemon(t);
    const pid = (await waitForStatus(d.socket, inState('running'))).child.pid ?? assert.fail('no child pid');
    const run = await ctl(t, ['emergency-stop', '--reason', 'test', '--json', '--data-dir', d.dataDir]);
    const result = parseRun(run, EmergencyStopResult);
    assert.equal(result.killedPid, pid);
    assert.equal(result.offline, false);
    assert.equal(result.backupError, null);
    assert.equal(result.backup?.integrity, 'ok');
    assert.equal(integrityOf(result.backup?.file ?? ''), 'ok');
    assert.equal(pidAlive(pid), false);
    assert.equal((await waitForStatus(d.socket, inState('stopped'))).child.lastExit?.reason, 'emergency');
  });

  test(
    'stop waits through a drain longer than ctl\u2019s old fixed 50 s budget instead of giving up (issue 7)',
    { timeout: 180_000 },
    async (t) => {
      // ctl used to wait 30 s (drain) + 5 s (kill) + 15 s (margin) whatever the daemon's config said.
      const drainMs = 52_000;
      const d = await daemon(t, { MCP_STARTER_DRAIN_TIMEOUT_MS: String(drainMs), MCP_STARTER_SERVER_REQUEST_TIMEOUT_MS: '120000' });
      const { url } = await waitForStatus(d.socket, inState('running'));
      await requestInFlight(t, url);
      await waitForStatus(d.socket, (s) => s.inFlight >= 1);
      const started = performance.now();
      const run = await ctl(t, ['stop', '--json', '--data-dir', d.dataDir], {}, drainMs + 60_000);
      const elapsedMs = performance.now() - started;
      const result = parseRun(run, StopResult);
      assert.ok(elapsedMs > 50_000, `the stop took ${elapsedMs} ms: the request in flight held the drain`);
      assert.equal(result.was, 'running');
      assert.ok(result.inFlight >= 1);
      assert.equal((await waitForStatus(d.socket, inState('stopped'))).child.pid, null);
    },
  );
});
