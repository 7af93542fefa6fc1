// `ctl logs` (issue 9, Logs): the last lines across the current, rotated and compressed files,
// read backwards; --level; text and over-long lines; the 1 MiB answer; offline with the daemon
// down; and `-f`, which subscribes first and drops the overlap, across a rotation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { gzipSync, gunzipSync } from 'node:zlib';
import { overlapEnd } from '../ctl/logs-follow.js';
import { DAEMON_LOG } from '../daemon/logs/writer.js';
import { closeLogFiles, linesBackward, LOG_FILE, openLogFiles } from '../shared/log-files.js';
import { recentLines, TAIL_MAX_BYTES } from '../shared/log-recent.js';
import { entryKey, isAtLeast, LOG_LEVELS, MAX_SHOWN_LINE_CHARS, parseLogLine } from '../shared/log-line.js';
import { CONTROL_MAX_LINE_BYTES, LogsRotateResult, LogsTailResult } from '../shared/schemas/rpc.js';
import { cleanEnv, ctl, CTL_MAIN } from './ctl-helpers.js';
import { FIXTURES, rpc, startDaemon } from './daemon-helpers.js';
import { endProcess, LineStream, ROOT, tempDir, waitForLine } from './helpers.js';

const T = { timeout: 120_000 };

const line = (seq: number, level = 'info', extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    level,
    time: new Date(Date.UTC(2026, 10, 25, 14, 0, 0, seq)).toISOString(),
    name: 'mcp-starterd',
    seq,
    msg: `line ${seq}`,
    ...extra,
  });

/** A logs folder with `.2.gz` (oldest), `.1` and the current file, as the writer leaves them. */
function logsDir(t: TestContext, files: { gz2?: string[]; one?: string[]; current?: string[] }): { dataDir: string; dir: string } {
  const dataDir = tempDir(t);
  const dir = join(dataDir, 'logs');
  mkdirSync(dir, { recursive: true });
  const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');
  if (files.gz2) writeFileSync(join(dir, `${LOG_FILE}.2.gz`), gzipSync(text(files.gz2)));
  if (files.one) writeFileSync(join(dir, `${LOG_FILE}.1`), text(files.one));
  if (files.current) writeFileSync(join(dir, LOG_FILE), text(files.current));
  return { dataDir, dir };
}

const seqs = (entries: ReadonlyArray<Record<string, unknown>>): unknown[] => entries.map((e) => e['seq'] ?? e['raw']);

describe('the last lines of the log files', () => {
  test('shared/ names the log file as the writer does', () => {
    assert.equal(LOG_FILE, DAEMON_LOG);
  });

  test('the last N lines come oldest first across the current file, .1 and .2.gz', T, async (t) => {
    const all = Array.from({ length: 30 }, (_, i) => line(i));
    const { dir } = logsDir(t, { gz2: all.slice(0, 10), one: all.slice(10, 20), current: all.slice(20) });
    assert.deepEqual(seqs((await recentLines(dir, { count: 5 })).lines), [25, 26, 27, 28, 29]);
    assert.deepEqual(
      seqs((await recentLines(dir, { count: 14 })).lines),
      Array.from({ length: 14 }, (_, i) => 16 + i),
    );
    assert.deepEqual(
      seqs((await recentLines(dir, { count: 25 })).lines),
      Array.from({ length: 25 }, (_, i) => 5 + i),
    );
    const everything = await recentLines(dir, { count: 1000 });
    assert.deepEqual(
      seqs(everything.lines),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(everything.sizeLimited, false);
    assert.deepEqual(await recentLines(join(dir, 'none'), { count: 5 }), { lines: [], cutLines: 0, sizeLimited: false });
  });

  test('--level keeps that level and above (label or pino number); text lines always show', T, async (t) => {
    const { dir } = logsDir(t, {
      gz2: [line(0, 'error'), line(1, 'info')],
      one: [line(2, 'warn'), 'Segmentation fault (core dumped)', line(3, 'debug')],
      current: [JSON.stringify({ level: 50, time: '2026-11-25T14:00:01.000Z', seq: 4, msg: 'numeric' }), line(5, 'info'), line(6, 'fatal')],
    });
    const warn = await recentLines(dir, { count: 10, minLevel: LOG_LEVELS.warn });
    assert.deepEqual(seqs(warn.lines), [0, 2, 'Segmentation fault (core dumped)', 4, 6]);
    const errors = await recentLines(dir, { count: 2, minLevel: LOG_LEVELS.error });
    assert.deepEqual(seqs(errors.lines), [4, 6]);
  });

  test('a line that is not JSON is {raw}; an over-long one is cut and says so; blank lines are skipped', T, async (t) => {
    const long = JSON.stringify({
      level: 'error',
      time: '2026-11-25T14:00:02.000Z',
      name: 'mcp-starterd',
      event: 'big',
      msg: 'é'.repeat(100_000),
    });
    const { dir } = logsDir(t, { current: ['not json {', '', '[1,2]', long, '{"broken": '] });
    const { lines, cutLines } = await recentLines(dir, { count: 10 });
    assert.equal(cutLines, 1);
    assert.deepEqual(lines[0], { raw: 'not json {' });
    assert.deepEqual(lines[1], { raw: '[1,2]' });
    const cut = lines[2] ?? {};
    assert.equal(cut['level'], 'error');
    assert.equal(cut['time'], '2026-11-25T14:00:02.000Z');
    assert.equal(cut['event'], 'big');
    assert.equal(cut['truncated'], Buffer.byteLength(long));
    assert.equal(String(cut['raw']).length, MAX_SHOWN_LINE_CHARS);
    assert.ok(long.startsWith(String(cut['raw'])));
    assert.deepEqual(lines[3], { raw: '{"broken":' });
    // The same line pushed on the `logs` stream becomes the same entry: that is how -f drops the overlap.
    assert.equal(entryKey(parseLogLine(long)), entryKey(cut));
  });

  test('an answer stays within the control socket line: fewer lines, saying so', T, async (t) => {
    const pad = 'x'.repeat(1000);
    const { dir } = logsDir(t, { one: Array.from({ length: 3000 }, (_, i) => line(i, 'info', { pad })) });
    const r = await recentLines(dir, { count: 10_000 });
    assert.equal(r.sizeLimited, true);
    assert.ok(r.lines.length > 500 && r.lines.length < 3000, `${r.lines.length} lines`);
    assert.equal(r.lines.at(-1)?.['seq'], 2999);
    const answer = JSON.stringify({ jsonrpc: '2.0', id: 1, result: r });
    assert.ok(Buffer.byteLength(answer) <= TAIL_MAX_BYTES + 1024 && TAIL_MAX_BYTES + 64 * 1024 <= CONTROL_MAX_LINE_BYTES);
    // The same through a .gz, which is read forwards into a bounded queue.
    const gz = logsDir(t, { gz2: Array.from({ length: 3000 }, (_, i) => line(i, 'info', { pad })) });
    const z = await recentLines(gz.dir, { count: 10_000 });
    assert.equal(z.sizeLimited, true);
    assert.deepEqual(seqs(z.lines), seqs(r.lines));
  });

  test('a cut .gz ends the tail there, without failing it: the newer files\u2019 lines are shown', T, async (t) => {
    const { dir } = logsDir(t, { one: [line(20), line(21)], current: [line(22)] });
    const gz = gzipSync(Array.from({ length: 2000 }, (_, i) => `${line(i)}\n`).join(''));
    writeFileSync(join(dir, `${LOG_FILE}.2.gz`), gz.subarray(0, gz.length - 50));
    const r = await recentLines(dir, { count: 100 });
    assert.deepEqual(seqs(r.lines), [20, 21, 22]);
    assert.equal(r.sizeLimited, false);
  });

  test('the daemon leaves out a last line still being written; offline it is shown', T, async (t) => {
    const { dir } = logsDir(t, {});
    writeFileSync(join(dir, LOG_FILE), `${line(1)}\n${line(2)}\n{"level":"info","ti`);
    assert.deepEqual(seqs((await recentLines(dir, { count: 5, isLive: true })).lines), [1, 2]);
    assert.deepEqual(seqs((await recentLines(dir, { count: 5 })).lines), [1, 2, '{"level":"info","ti']);
  });

  test('reading backwards in small chunks gives every line, multi-byte and longer than a chunk, last first', T, async (t) => {
    const { dir } = logsDir(t, {});
    const lines = Array.from({ length: 200 }, (_, i) => `${i} ${'ü€😀x'.repeat((i * 37) % 23)}`);
    writeFileSync(join(dir, LOG_FILE), `${lines.join('\n')}\n`);
    const files = await openLogFiles(dir);
    t.after(() => closeLogFiles(files));
    const file = files[0];
    assert.ok(file);
    for (const chunkBytes of [1, 7, 64, 4096]) {
      const seen: string[] = [];
      for await (const l of linesBackward(file, { keepBytes: 1 << 20, chunkBytes })) seen.push(l.head.toString('utf8'));
      assert.deepEqual(seen, [...lines].reverse(), `chunks of ${chunkBytes}`);
    }
    const heads: Array<{ head: string; bytes: number }> = [];
    for await (const l of linesBackward(file, { keepBytes: 5, chunkBytes: 3 }))
      heads.push({ head: l.head.toString('latin1'), bytes: l.bytes });
    assert.deepEqual(
      heads.map((h) => h.bytes),
      [...lines].reverse().map((l) => Buffer.byteLength(l)),
    );
    assert.ok(heads.every((h) => Buffer.byteLength(h.head, 'latin1') <= 5));
  });
});

describe('where a tail and a stream meet (-f)', () => {
  test('the tail\u2019s end is matched against the stream\u2019s start', () => {
    assert.equal(overlapEnd(['a', 'b', 'c'], ['b', 'c', 'd']), 1); // c was in both
    assert.equal(overlapEnd(['a', 'b', 'c'], ['d', 'e']), -1); // nothing in both
    assert.equal(overlapEnd(['c', 'd'], ['a', 'b', 'c', 'd', 'e']), 3); // the tail is all inside the stream
    assert.equal(overlapEnd([], ['a']), -1);
    assert.equal(overlapEnd(['a'], []), -1);
    assert.equal(overlapEnd(['x', 'a', 'a'], ['a', 'a', 'b']), 1); // a repeated line: the longer run wins
  });
});

describe('ctl logs with the daemon down', () => {
  test('reads the files itself, says so on stderr, and renders readable lines or the result with --json', T, async (t) => {
    const { dataDir } = logsDir(t, {
      one: [line(1, 'warn', { component: 'monitor', event: 'health', ms: 2301 })],
      current: [
        JSON.stringify({
          level: 'info',
          time: '2026-11-25T14:00:00.005Z',
          name: 'mcp-starterd',
          component: 'supervisor',
          event: 'child_output',
          stream: 'stderr',
          pid: 7,
          line: 'boom',
          msg: 'child output',
        }),
        line(2, 'error', { err: { type: 'Error', message: 'database is locked', stack: 'Error: …' } }),
        'plain text',
      ],
    });
    const human = await ctl(t, ['--data-dir', dataDir, 'logs', '-n', '3']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stderr, /mcp-starterd is not running .* Acting without it, from the files in /);
    const shown = human.stdout.trimEnd().split('\n');
    assert.equal(shown.length, 3);
    assert.match(shown[0] ?? '', /^\d\d:\d\d:\d\d\.005 INFO {2}server\/stderr boom$/);
    assert.match(shown[1] ?? '', /^\d\d:\d\d:\d\d\.002 ERROR daemon line 2 seq=2 err="database is locked"$/);
    assert.equal(shown[2], 'plain text');

    const json = await ctl(t, ['--data-dir', dataDir, 'logs', '--lines', '10', '--level', 'WARNING', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const result = LogsTailResult.parse(JSON.parse(json.stdout));
    assert.deepEqual(seqs(result.lines), [1, 2, 'plain text']);
    assert.equal(result.sizeLimited, false);
  });

  test('-f needs the daemon: exit 3, saying what works without it; bad flags are usage errors', T, async (t) => {
    const { dataDir } = logsDir(t, { current: [line(1)] });
    const follow = await ctl(t, ['--data-dir', dataDir, 'logs', '-f']);
    assert.equal(follow.code, 3);
    assert.match(follow.stderr, /not running .*`logs -f` follows the lines as the daemon writes them/);
    assert.match(follow.stderr, /Without -f, `mcp-starterctl logs` reads the log files while it is down/);
    const [zero, level, big] = await Promise.all([
      ctl(t, ['--data-dir', dataDir, 'logs', '-n', '0']),
      ctl(t, ['--data-dir', dataDir, 'logs', '--level', 'loud']),
      ctl(t, ['--data-dir', dataDir, 'logs', '-n', '10001']),
    ]);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /-n must be at least 1/);
    assert.equal(level.code, 2);
    assert.match(level.stderr, /--level takes one of trace, debug, info, warn, error, fatal/);
    assert.equal(big.code, 2);
    assert.match(big.stderr, /-n can be at most 10000/);
  });
});

/** A long-running `ctl logs -f …`: its stdout lines as they come; killed at test end if still running. */
function follower(t: TestContext, args: string[]): { proc: ReturnType<typeof spawn>; out: LineStream; err: LineStream } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CTL_MAIN, ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return { proc, out: new LineStream(proc.stdout), err: new LineStream(proc.stderr) };
}

/** Every line of the logs folder, oldest first, as entries' keys (the .gz ones decompressed). */
function fileKeys(dir: string, names: string[]): Array<{ key: string; entry: Record<string, unknown> }> {
  return names.flatMap((name) => {
    const raw = readFileSync(join(dir, name));
    const text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const entry = parseLogLine(l);
        return { key: entryKey(entry), entry };
      });
  });
}

/** `printed` is a run of `all`, in order: no line twice, none left out. */
function assertRunOf(printed: string[], all: string[], what: string): void {
  const start = all.indexOf(printed[0] ?? '');
  assert.ok(start >= 0, `${what}: its first line is in the files`);
  const run = all.slice(start, start + printed.length);
  const firstDiff = printed.findIndex((p, i) => p !== run[i]);
  assert.equal(firstDiff, -1, `${what}: line ${firstDiff} differs:\n  printed ${printed[firstDiff]}\n  in file ${run[firstDiff]}`);
}

const chatterSeq = (l: string): number | undefined => {
  const e = JSON.parse(l) as Record<string, unknown>;
  return e['event'] === 'chatter' && typeof e['seq'] === 'number' ? e['seq'] : undefined;
};

describe('ctl logs -f on a real daemon', () => {
  test(
    'follows across a rotation: every line written before and after it, none twice, none lost; --level applies; Ctrl-C exits 0, the daemon going away 3',
    T,
    async (t) => {
      const dataDir = tempDir(t);
      const d = await startDaemon(t, dataDir, { MCP_STARTERD_CHILD: join(FIXTURES, 'chatty-server.ts') });
      const all = follower(t, ['--data-dir', dataDir, 'logs', '-f', '-n', '20', '--json']);
      const warn = follower(t, ['--data-dir', dataDir, 'logs', '-f', '-n', '5', '--level', 'warn', '--json']);
      // Lines stream in all along (one every 2 ms): the tail and the stream overlap at the start.
      await waitForLine(all.out, () => (all.out.all.length >= 40 ? true : undefined));
      await waitForLine(warn.out, () => (warn.out.all.length >= 10 ? true : undefined));
      const rotated = LogsRotateResult.parse((await rpc(d.socket, 'logs.rotate')).result);
      assert.equal(rotated.rotated, true);
      const rotation = await waitForLine(all.out, (l) => (l.includes('"event":"log_rotated"') ? all.out.all.indexOf(l) : undefined));
      const seqAtRotation = Math.max(...all.out.all.slice(0, rotation).flatMap((l) => chatterSeq(l) ?? []));
      await waitForLine(all.out, (l) => ((chatterSeq(l) ?? 0) > seqAtRotation + 100 ? true : undefined));
      await waitForLine(warn.out, (l) => ((chatterSeq(l) ?? 0) > seqAtRotation + 100 ? true : undefined));

      all.proc.kill('SIGINT');
      const [allCode] = (await once(all.proc, 'exit')) as [number | null];
      assert.equal(allCode, 0, all.err.all.join('\n'));

      const logs = join(dataDir, 'logs');
      const inFiles = fileKeys(logs, [`${LOG_FILE}.1`, LOG_FILE]);
      const printed = all.out.all.map((l) => entryKey(JSON.parse(l) as Record<string, unknown>));
      assertRunOf(
        printed,
        inFiles.map((f) => f.key),
        'logs -f',
      );
      assert.ok(rotation >= 20, 'the rotation came after the tail');
      assert.ok(printed.length > rotation + 100, 'and many lines after it');
      const before = all.out.all.slice(20, rotation).filter((l) => chatterSeq(l) !== undefined).length;
      assert.ok(before > 0, 'followed lines came before the rotation too');

      const warnExit = once(warn.proc, 'exit');
      await endProcess(d.proc, 'SIGTERM');
      const [warnCode] = (await warnExit) as [number | null];
      assert.equal(warnCode, 3);
      const warnLines = warn.out.all.map((l) => JSON.parse(l) as Record<string, unknown>);
      const last = warnLines.pop();
      assert.equal((last?.['error'] as { code?: string } | undefined)?.code, 'E_NOT_RUNNING');
      assert.ok(warnLines.every((e) => isAtLeast(e, LOG_LEVELS.warn)));
      const warnInFiles = fileKeys(logs, [`${LOG_FILE}.1`, LOG_FILE])
        .filter((f) => isAtLeast(f.entry, LOG_LEVELS.warn))
        .map((f) => f.key);
      assertRunOf(warnLines.map(entryKey), warnInFiles, 'logs -f --level warn');
    },
  );
});
