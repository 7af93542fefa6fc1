// A full or read-only data dir degrades the server and never kills it (issue 11, items 1 and 10):
// learners are told that nothing was saved and that their progress is safe, the operator gets one
// `disk_error` line per episode with the path, the code and the fix, /health says `degraded`
// while writes fail and `ok` once one succeeds, and a start on such a disk serves reads or exits
// with a clear message.
//
// The faults are real ones. A small tmpfs mounted in a private mount namespace
// (fixtures/disk-sandbox.ts) is filled to ENOSPC or remounted read-only (EROFS, which stops root
// too, unlike chmod). A file size limit (RLIMIT_FSIZE, set with prlimit on the server's pid) makes
// the kernel refuse that one process's writes past the limit (EFBIG: SQLITE_IOERR_WRITE).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { HealthBody } from '../shared/schemas/http.js';
import { GetProgressOutput, TOOL_ERROR_META_KEY, ToolErrorMeta, type ToolError } from '../shared/schemas/tools.js';
import { openReadOnly } from '../shared/sqlite.js';
import { tutorialAnswers } from './catalog-answers.js';
import type { SandboxRequest } from './fixtures/disk-sandbox.js';
import { endProcess, LineStream, ROOT, startHttpServer, tempDir, textOf, v2HttpClient, WAIT_MS, waitForLine } from './helpers.js';

const T = { timeout: 60_000 };
const FIXTURE = join(ROOT, 'test', 'fixtures', 'disk-sandbox.ts');
const TUTORIAL = 'what-is-mcp';

/** How to get a private mount namespace here (root: `--mount`; others: in a user namespace), or undefined. */
const UNSHARE = ((): string[] | undefined => {
  if (process.platform !== 'linux') return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-starter-ns-'));
  try {
    for (const prefix of [
      ['--mount', '--propagation', 'private'],
      ['--user', '--map-root-user', '--mount', '--propagation', 'private'],
    ]) {
      const r = spawnSync('unshare', [...prefix, 'mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
      if (r.status === 0) return prefix;
    }
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
const NO_SANDBOX = UNSHARE ? false : 'needs `unshare --mount` (or a user namespace) and tmpfs, for a small private disk';
const NO_PRLIMIT =
  process.platform === 'linux' && spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status === 0
    ? false
    : 'needs prlimit (util-linux) to set a file size limit';

type Request = SandboxRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;
type Exit = { code: number | null; signal: string | null };
type SandboxMessage =
  | { type: 'mounted' }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'stderr'; serial: number; chunk: string }
  | { type: 'exit'; serial: number; code: number | null; signal: string | null };

interface SandboxServer {
  pid: number;
  stderr: LineStream;
  exited: Promise<Exit>;
}

/** The test's side of fixtures/disk-sandbox.ts: a private tmpfs data dir and the server on it. */
class DiskSandbox {
  private nextId = 0;
  private readonly pending = new Map<number, (msg: SandboxMessage & { type: 'reply' }) => void>();
  private readonly servers = new Map<number, { out: PassThrough; exit: (e: Exit) => void }>();
  private readonly serverPids: number[] = [];
  private readonly stderr: LineStream;

  private constructor(
    private readonly proc: ChildProcess,
    readonly dataDir: string,
  ) {
    this.stderr = new LineStream(proc.stderr);
    proc.on('message', (msg: SandboxMessage) => this.onMessage(msg));
  }

  static async open(t: TestContext, sizeKb = 2048): Promise<DiskSandbox> {
    const dataDir = tempDir(t, 'mcp-starter-disk-');
    const proc = spawn('unshare', [...(UNSHARE ?? []), process.execPath, '--import', 'tsx', FIXTURE, dataDir, String(sizeKb)], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const sandbox = new DiskSandbox(proc, dataDir);
    t.after(() => sandbox.close());
    const mounted = once(proc, 'message');
    const died = once(proc, 'exit').then(() => {
      throw new Error(`the disk sandbox exited:\n${sandbox.stderr.all.join('\n')}`);
    });
    await Promise.race([mounted, died]);
    return sandbox;
  }

  private onMessage(msg: SandboxMessage): void {
    if (msg.type === 'reply') {
      this.pending.get(msg.id)?.(msg);
      this.pending.delete(msg.id);
    } else if (msg.type === 'stderr') this.servers.get(msg.serial)?.out.write(msg.chunk);
    else if (msg.type === 'exit') {
      const s = this.servers.get(msg.serial);
      s?.out.end();
      s?.exit({ code: msg.code, signal: msg.signal });
    }
  }

  async request<R = unknown>(req: Request): Promise<R> {
    const id = ++this.nextId;
    const reply = new Promise<SandboxMessage & { type: 'reply' }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the disk sandbox did not answer ${req.cmd}`)), WAIT_MS);
      this.pending.set(id, (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
    this.proc.send({ ...req, id });
    const msg = await reply;
    if (!msg.ok) throw new Error(`disk sandbox ${req.cmd}: ${msg.error}`);
    return msg.result as R;
  }

  /** Starts the real server on the sandbox's disk; its stderr comes back as lines. */
  async spawnServer(args: string[] = []): Promise<SandboxServer> {
    // Registered before the request, so no early line or exit is missed.
    const out = new PassThrough();
    const stderr = new LineStream(out);
    let exit: (e: Exit) => void = () => undefined;
    const exited = new Promise<Exit>((resolve) => (exit = resolve));
    const serial = this.servers.size + 1;
    this.servers.set(serial, { out, exit });
    const started = await this.request<{ pid: number; serial: number }>({ cmd: 'start', args });
    assert.equal(started.serial, serial);
    this.serverPids.push(started.pid);
    return { pid: started.pid, stderr, exited };
  }

  /** Starts the server and waits until it listens. */
  async startServer(args: string[] = []): Promise<SandboxServer & { base: string; url: URL }> {
    const server = await this.spawnServer(args);
    const failed = server.exited.then((e) => {
      throw new Error(`server exited (${JSON.stringify(e)}) before listening:\n${server.stderr.all.join('\n')}`);
    });
    const url = await Promise.race([waitForLine(server.stderr, (l) => eventOf(l, 'listening')?.['url'] as string | undefined), failed]);
    return { ...server, url: new URL(url), base: url.replace(/\/mcp$/, '') };
  }

  async stopServer(): Promise<Exit> {
    return this.request<Exit>({ cmd: 'stop' });
  }

  check(): Promise<DbCheck> {
    return this.request<DbCheck>({ cmd: 'check' });
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.proc.connected) {
      await this.request({ cmd: 'shutdown' }).catch(() => undefined); // it may be gone already: then the kill below ends it
    }
    await endProcess(this.proc, 'SIGTERM', 5_000);
    // The sandbox kills its server when it goes; this covers a sandbox that had to be killed itself.
    for (const pid of this.serverPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone, as expected
      }
    }
  }
}

interface DbCheck {
  integrity: string;
  inMemory: boolean;
  progress: Array<{ user_id: number; tutorial_id: string; status: string; current_step: number; completed_at: string | null }>;
}

function eventOf(line: string, event: string): Record<string, unknown> | undefined {
  try {
    const obj = JSON.parse(line) as Record<string, unknown>;
    return obj['event'] === event ? obj : undefined;
  } catch {
    return undefined; // not a JSON log line
  }
}

function events(stderr: LineStream, event: string): Array<Record<string, unknown>> {
  return stderr.events().filter((e) => e['event'] === event);
}

type ToolResult = Record<string, unknown> & { isError?: boolean; structuredContent?: unknown; _meta?: unknown };

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return client.callTool({ name, arguments: args });
}

function errorOf(result: ToolResult): ToolError {
  assert.equal(result.isError, true, `expected a tool error, got ${JSON.stringify(result)}`);
  return ToolErrorMeta.parse(result._meta)[TOOL_ERROR_META_KEY];
}

/** Submits the step the learner is on (1-based `step`) with its right answer. */
function submit(client: Client, step: number): Promise<ToolResult> {
  const right = tutorialAnswers(TUTORIAL).steps[step - 1]?.right;
  return call(client, 'submit_step', { tutorial_id: TUTORIAL, ...(right !== undefined ? { answer: right } : {}) });
}

async function stepOf(client: Client): Promise<number | null> {
  const p = GetProgressOutput.parse((await call(client, 'get_progress', { tutorial_id: TUTORIAL })).structuredContent);
  return p.tutorials[0]?.step ?? null;
}

async function health(base: string): Promise<{ status: number; body: HealthBody }> {
  const res = await fetch(`${base}/health`);
  return { status: res.status, body: HealthBody.parse(await res.json()) };
}

/** The learner's message: what happened, nothing saved, progress safe, try later. */
function assertClearRefusal(result: ToolResult, code: 'E_DISK_FULL' | 'E_READ_ONLY', what: RegExp): void {
  const error = errorOf(result);
  assert.equal(error.code, code);
  const text = textOf(result);
  assert.match(text, what);
  assert.match(text, /not saved/);
  assert.match(text, /Your progress up to now is safe/);
  assert.match(text, /Try again later/);
  assert.doesNotMatch(text, /bug|SQLITE|stack/i);
}

/** A start that must end: exit code 1, one clear message, no stack trace. */
async function assertCleanExit(server: SandboxServer, code: string, ...mentions: RegExp[]): Promise<string> {
  const exit = await server.exited;
  const text = server.stderr.all.join('\n');
  assert.equal(exit.code, 1, `exit code, with stderr:\n${text}`);
  assert.match(text, new RegExp(`mcp-starter-server: .*${code === 'E_READ_ONLY' ? 'cannot be written' : 'is full'}`));
  for (const m of mentions) assert.match(text, m);
  assert.doesNotMatch(text, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(text, /This is a bug/);
  return text;
}

describe('a full disk while the server runs', () => {
  test(
    'learners are told nothing was saved, the operator gets one disk_error, /health degrades and recovers by itself',
    { ...T, skip: NO_SANDBOX },
    async (t) => {
      const disk = await DiskSandbox.open(t);
      const server = await disk.startServer();
      const client = await v2HttpClient(t, server.url);
      assert.equal((await call(client, 'start_tutorial', { tutorial_id: TUTORIAL })).isError, undefined);
      assert.equal((await submit(client, 1)).isError, undefined);
      assert.equal(await stepOf(client), 2);

      await disk.request({ cmd: 'fill' });
      assertClearRefusal(await submit(client, 2), 'E_DISK_FULL', /The server's disk is full/);
      assertClearRefusal(await call(client, 'reset_progress', { tutorial_id: TUTORIAL }), 'E_DISK_FULL', /disk is full/);
      // Reads still work, and show that neither refused write left anything behind.
      assert.equal(await stepOf(client), 2, 'the refused submit did not advance, the refused reset did not reset');
      const hint = await call(client, 'get_hint', { tutorial_id: TUTORIAL });
      assert.equal(hint.isError, undefined, 'a hint is still given: only its counter is lost');
      assert.equal((await call(client, 'list_tutorials')).isError, undefined);

      const h = await health(server.base);
      assert.equal(h.status, 200, 'reads work, so /health answers 200');
      assert.equal(h.body.status, 'degraded');
      assert.equal(h.body.degraded?.kind, 'full');
      assert.equal(h.body.degraded?.code, 'SQLITE_FULL');
      assert.equal(h.body.degraded?.restartNeeded, false);
      assert.equal(h.body.degraded?.failedWrites, 2, "the submit and the reset; the hint counter is not a learner's change");
      assert.match(h.body.degraded?.reason ?? '', /full/);

      // Log lines keep their order: once the last call's tool_call is there, every disk_error is too.
      await waitForLine(server.stderr, (l) => (eventOf(l, 'tool_call')?.['tool'] === 'list_tutorials' ? true : undefined));
      const logged = events(server.stderr, 'disk_error');
      assert.equal(logged.length, 1, 'one disk_error per episode, not one per request');
      assert.equal(logged[0]?.['file'], join(disk.dataDir, 'mcp-starter.db'));
      assert.equal(logged[0]?.['code'], 'SQLITE_FULL');
      assert.equal(logged[0]?.['freeBytes'], 0);
      assert.equal(logged[0]?.['errno'], 'ENOSPC');
      assert.match(String(logged[0]?.['fix']), new RegExp(`df -h ${disk.dataDir}`));

      // Space returns: the server's own write probe notices, with no learner writing and no restart.
      await disk.request({ cmd: 'free' });
      const recovered = await waitForLine(server.stderr, (l) => eventOf(l, 'disk_recovered'));
      assert.equal(recovered['failedWrites'], 2);
      const after = await health(server.base);
      assert.equal(after.body.status, 'ok');
      assert.equal(after.body.degraded, undefined);
      assert.equal((await submit(client, 2)).isError, undefined, 'the same submit succeeds now');
      assert.equal(await stepOf(client), 3);

      const db = await disk.check();
      assert.equal(db.integrity, 'ok');
      assert.deepEqual(
        db.progress.map((r) => [r.tutorial_id, r.status, r.current_step]),
        [[TUTORIAL, 'in_progress', 2]],
      );
      assert.equal(events(server.stderr, 'disk_error').length, 1);
    },
  );
});

describe('starting on a disk that refuses writes', () => {
  test(
    'on a read-only data dir the server starts read-only: reads work, writes get a clear error, /health says why',
    { ...T, skip: NO_SANDBOX },
    async (t) => {
      const disk = await DiskSandbox.open(t);
      const first = await disk.startServer();
      const client = await v2HttpClient(t, first.url);
      await call(client, 'start_tutorial', { tutorial_id: TUTORIAL });
      assert.equal((await submit(client, 1)).isError, undefined);
      await client.close();
      assert.equal((await disk.stopServer()).code, 0);

      await disk.request({ cmd: 'remount', mode: 'ro' });
      const server = await disk.startServer();
      const logged = events(server.stderr, 'disk_error');
      assert.equal(logged.length, 1, server.stderr.all.join('\n'));
      assert.equal(logged[0]?.['readOnly'], true);
      assert.equal(logged[0]?.['kind'], 'read_only');
      assert.equal(logged[0]?.['errno'], 'EROFS');
      assert.match(String(logged[0]?.['fix']), /findmnt -T/);
      assert.doesNotMatch(server.stderr.all.join('\n'), /^\s+at /m, 'no stack trace');

      const h = await health(server.base);
      assert.equal(h.status, 200);
      assert.equal(h.body.status, 'degraded');
      assert.equal(h.body.degraded?.kind, 'read_only');
      assert.equal(h.body.degraded?.restartNeeded, true);
      assert.equal(h.body.degraded?.failedWrites, 0, 'no learner has tried to change anything yet');
      assert.equal(h.body.database.ok, true);

      const reader = await v2HttpClient(t, server.url);
      assert.equal((await call(reader, 'list_tutorials')).isError, undefined);
      assert.equal((await call(reader, 'get_step', { tutorial_id: TUTORIAL })).isError, undefined);
      assert.equal(await stepOf(reader), 2, 'progress saved before is read back');
      assertClearRefusal(await submit(reader, 2), 'E_READ_ONLY', /read-only/);
      assert.equal(await stepOf(reader), 2);

      await reader.close();
      await disk.stopServer();
      await disk.request({ cmd: 'remount', mode: 'rw' });
      const db = await disk.check();
      assert.equal(db.integrity, 'ok');
      assert.deepEqual(
        db.progress.map((r) => [r.tutorial_id, r.status, r.current_step]),
        [[TUTORIAL, 'in_progress', 1]],
      );
      // Fixed and restarted: healthy again.
      const again = await disk.startServer();
      assert.equal((await health(again.base)).body.status, 'ok');
    },
  );

  test(
    'on a full disk the server starts read-only from the database file, and writes again after a restart',
    { ...T, skip: NO_SANDBOX },
    async (t) => {
      const disk = await DiskSandbox.open(t);
      const first = await disk.startServer();
      const client = await v2HttpClient(t, first.url);
      await call(client, 'start_tutorial', { tutorial_id: TUTORIAL });
      assert.equal((await submit(client, 1)).isError, undefined);
      await client.close();
      await disk.stopServer();

      await disk.request({ cmd: 'fill' });
      const server = await disk.startServer();
      const logged = events(server.stderr, 'disk_error');
      assert.equal(logged.length, 1, server.stderr.all.join('\n'));
      assert.equal(logged[0]?.['kind'], 'full', 'an I/O error on a disk with no room left is a full disk');
      assert.equal(logged[0]?.['readOnly'], true);
      const h = await health(server.base);
      assert.equal(h.body.degraded?.kind, 'full');
      assert.equal(h.body.degraded?.restartNeeded, true);

      const reader = await v2HttpClient(t, server.url);
      assert.equal(await stepOf(reader), 2);
      assertClearRefusal(await submit(reader, 2), 'E_DISK_FULL', /disk is full/);
      await reader.close();
      await disk.stopServer();

      await disk.request({ cmd: 'free' });
      const again = await disk.startServer();
      assert.equal((await health(again.base)).body.status, 'ok');
      const writer = await v2HttpClient(t, again.url);
      assert.equal((await submit(writer, 2)).isError, undefined);
      const db = await disk.check();
      assert.equal(db.integrity, 'ok');
      assert.deepEqual(
        db.progress.map((r) => [r.tutorial_id, r.current_step]),
        [[TUTORIAL, 2]],
      );
    },
  );

  test(
    'without a database, a disk that cannot take one ends the start with a clear message and leaves no file',
    { ...T, skip: NO_SANDBOX },
    async (t) => {
      const disk = await DiskSandbox.open(t);
      await disk.startServer();
      await disk.stopServer();
      const dbFiles = ['mcp-starter.db', 'mcp-starter.db-wal', 'mcp-starter.db-shm'];
      await disk.request({ cmd: 'remove', files: dbFiles });

      await disk.request({ cmd: 'fill' });
      const full = await disk.spawnServer();
      await assertCleanExit(full, 'E_DISK_FULL', /Cannot create the learning database/, new RegExp(`df -h ${disk.dataDir}`));
      const left = await disk.request<Record<string, number>>({ cmd: 'files' });
      for (const f of dbFiles) assert.equal(left[f], undefined, `${f} is not left behind`);

      await disk.request({ cmd: 'free' });
      await disk.request({ cmd: 'remount', mode: 'ro' });
      const readOnly = await disk.spawnServer();
      await assertCleanExit(readOnly, 'E_READ_ONLY', /Cannot create the learning database/, /findmnt -T/);
    },
  );

  test('a migration that cannot be written on a full disk ends the start with a clear message', { ...T, skip: NO_SANDBOX }, async (t) => {
    const disk = await DiskSandbox.open(t);
    await disk.startServer();
    await disk.stopServer();
    // A database file at schema version 0: every migration is still to run.
    await disk.request({ cmd: 'remove', files: ['mcp-starter.db', 'mcp-starter.db-wal', 'mcp-starter.db-shm'] });
    await disk.request({ cmd: 'touch', files: ['mcp-starter.db'] });
    await disk.request({ cmd: 'fill' });
    const server = await disk.spawnServer();
    await assertCleanExit(server, 'E_DISK_FULL', /Cannot update the learning database .* to schema version \d+ \(it is at 0\)/);
  });
});

describe('a disk that fails writes (file size limit)', () => {
  test(
    'a write the kernel refuses (SQLITE_IOERR) is answered clearly, rolled back, and the server recovers when the limit goes',
    { ...T, skip: NO_PRLIMIT },
    async (t) => {
      const dataDir = tempDir(t);
      const server = await startHttpServer(t, { dataDir });
      const client = await v2HttpClient(t, server.url);
      await call(client, 'start_tutorial', { tutorial_id: TUTORIAL });
      assert.equal((await submit(client, 1)).isError, undefined);

      const pid = String(server.proc.pid);
      const limit = spawnSync('prlimit', ['--pid', pid, '--fsize=1024:'], { encoding: 'utf8' });
      assert.equal(limit.status, 0, limit.stderr);
      const refused = await submit(client, 2);
      assert.equal(errorOf(refused).code, 'E_DISK_FULL');
      assert.match(textOf(refused), /not saved\. Your progress up to now is safe/);
      assert.equal(await stepOf(client), 2);
      const logged = await waitForLine(server.stderr, (l) => eventOf(l, 'disk_error'));
      assert.match(String(logged['code']), /^SQLITE_(IOERR|FULL)/);
      const h = await health(server.base);
      assert.equal(h.body.status, 'degraded');

      const lift = spawnSync('prlimit', ['--pid', pid, '--fsize=unlimited:'], { encoding: 'utf8' });
      assert.equal(lift.status, 0, lift.stderr);
      await waitForLine(server.stderr, (l) => eventOf(l, 'disk_recovered'));
      assert.equal((await health(server.base)).body.status, 'ok');
      assert.equal((await submit(client, 2)).isError, undefined);

      const { db } = openReadOnly(join(dataDir, 'mcp-starter.db'));
      t.after(() => db.close());
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(db.prepare('SELECT tutorial_id, current_step FROM user_progress').all(), [
        { tutorial_id: TUTORIAL, current_step: 2 },
      ]);
    },
  );
});
