// Log rotation (issue 9, Logs): by size between two synchronous lines, keep count, gzip off the
// hot path, the total-bytes cap, failures that cost nothing, and `ctl logs rotate` on a real daemon.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { DAEMON_LOG, LogWriter } from '../daemon/logs/writer.js';
import type { RotationLimits } from '../daemon/logs/rotate.js';
import { LogsRotateResult } from '../shared/schemas/rpc.js';
import { ctl } from './ctl-helpers.js';
import { rpc, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

const T = { timeout: 60_000 };
const GiB = 1024 * 1024 * 1024;

function writer(t: TestContext, limits: RotationLimits): { w: LogWriter; dir: string } {
  const dir = tempDir(t);
  const w = new LogWriter(join(dir, 'logs'), 'info', limits);
  t.after(() => w.close());
  return { w, dir: join(dir, 'logs') };
}

/** The named log files, oldest first: `.K.gz` … `.2.gz`, `.1`, then the current file. */
function logFiles(dir: string): string[] {
  const rotated = readdirSync(dir)
    .flatMap((name) => {
      const m = /^mcp-starterd\.log\.(\d+)(\.gz)?$/.exec(name);
      return m ? [{ n: Number(m[1]), name }] : [];
    })
    .sort((a, b) => b.n - a.n)
    .map((f) => f.name);
  return [...rotated, ...(existsSync(join(dir, DAEMON_LOG)) ? [DAEMON_LOG] : [])];
}

function totalBytes(dir: string): number {
  return logFiles(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/** Every line of every log file, oldest first; each must be whole JSON. */
function allLines(dir: string): Array<Record<string, unknown>> {
  return logFiles(dir).flatMap((name) => {
    const raw = readFileSync(join(dir, name));
    const text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    assert.ok(text.endsWith('\n'), `${name} ends with a whole line`);
    return text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  });
}

const seqs = (lines: Array<Record<string, unknown>>): number[] => lines.flatMap((l) => (typeof l['seq'] === 'number' ? [l['seq']] : []));

/**
 * `n` lines from four producers taking turns with the event loop (the daemon's events and the
 * child's lines interleave so), half through pino and half as raw child lines; `after` runs after
 * each line. Writes are synchronous, so a line's seq is its place in the file.
 */
async function burst(w: LogWriter, n: number, after: () => void = () => undefined): Promise<void> {
  let seq = 0;
  const producer = async (source: number): Promise<void> => {
    while (seq < n) {
      const s = seq++;
      if (source % 2 === 0) w.log.info({ event: 'burst', seq: s, source }, `line ${s} ${'x'.repeat(s % 50)}`);
      else w.writeRaw(JSON.stringify({ level: 'info', name: 'mcp-starter-server', seq: s, source, msg: `child line ${s}` }));
      after();
      if (s % 7 === source) await yieldTurn();
    }
  };
  await Promise.all([0, 1, 2, 3].map(producer));
}

describe('log rotation by size', () => {
  test('a burst through small files loses, splits and reorders no line, and compresses every rotated file but .1', T, async (t) => {
    const limits = { maxBytes: 8192, keep: 100, maxTotalBytes: GiB };
    const { w, dir } = writer(t, limits);
    const n = 4000;
    await burst(w, n);
    await w.rotator?.idle();
    const files = logFiles(dir);
    assert.ok(files.length > 30, `rotated many times: ${files.length} files`);
    assert.deepEqual(
      files.filter((f) => !f.endsWith('.gz')),
      ['mcp-starterd.log.1', DAEMON_LOG],
      'only .1 and the current file are plain',
    );
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('tmp')),
      [],
      'no temp file is left',
    );
    for (const f of files.filter((name) => !name.endsWith('.gz'))) {
      assert.ok(statSync(join(dir, f)).size <= limits.maxBytes, `${f} stays within maxBytes`);
    }
    for (const f of files.filter((name) => name.endsWith('.gz'))) {
      assert.ok(gunzipSync(readFileSync(join(dir, f))).length <= limits.maxBytes, `${f} held at most maxBytes`);
    }
    const lines = allLines(dir);
    assert.deepEqual(
      seqs(lines),
      Array.from({ length: n }, (_, i) => i),
      'lines in = lines out, in order',
    );
    const rotations = lines.filter((l) => l['event'] === 'log_rotated');
    assert.equal(rotations.length, files.length - 1, 'each rotation says so at the top of the fresh file');
  });

  test('never more than `keep` rotated files: the oldest go, the newest lines stay whole', T, async (t) => {
    const { w, dir } = writer(t, { maxBytes: 4096, keep: 3, maxTotalBytes: GiB });
    let most = 0;
    const n = 2000;
    await burst(w, n, () => {
      most = Math.max(most, logFiles(dir).length - 1);
    });
    await w.rotator?.idle();
    assert.equal(most, 3, 'at most keep rotated files at any time');
    assert.deepEqual(logFiles(dir), ['mcp-starterd.log.3.gz', 'mcp-starterd.log.2.gz', 'mcp-starterd.log.1', DAEMON_LOG]);
    const kept = seqs(allLines(dir));
    const first = kept[0] ?? n;
    assert.ok(first > 0, 'older lines were deleted');
    assert.deepEqual(
      kept,
      Array.from({ length: n - first }, (_, i) => first + i),
      'what is kept is the newest lines, without a gap',
    );
  });

  test('past maxTotalBytes the oldest rotated files are deleted first, never the current file', T, async (t) => {
    const cap = 20_000;
    const { w, dir } = writer(t, { maxBytes: 4096, keep: 100, maxTotalBytes: cap });
    let largest = 0;
    const n = 2000;
    await burst(w, n, () => {
      largest = Math.max(largest, totalBytes(dir));
    });
    await w.rotator?.idle();
    assert.ok(largest <= cap, `the logs never took more than the cap (${largest} > ${cap})`);
    const files = logFiles(dir);
    assert.ok(files.length > 2 && files.length < 20, `the cap, not keep, limited the files: ${files.join(', ')}`);
    assert.ok(existsSync(join(dir, DAEMON_LOG)));
    const kept = seqs(allLines(dir));
    const first = kept[0] ?? n;
    assert.deepEqual(
      kept,
      Array.from({ length: n - first }, (_, i) => first + i),
      'the oldest went: the newest lines are all there',
    );
    const deleted = allLines(dir).flatMap((l) => (Array.isArray(l['deleted']) ? (l['deleted'] as unknown[]) : []));
    assert.ok(deleted.length > 0, 'rotations say what they deleted');
  });

  test('a rotation that fails does not throw: writing goes on in the current file, said once, and it rotates later', T, async (t) => {
    const maxBytes = 4096;
    const { w, dir } = writer(t, { maxBytes, keep: 1, maxTotalBytes: GiB });
    // `.1` is a folder with a file in it: making room for the rotated file fails (EISDIR).
    const blocker = join(dir, 'mcp-starterd.log.1');
    mkdirSync(blocker);
    writeFileSync(join(blocker, 'keep-me'), 'x');
    await burst(w, 100);
    assert.ok(statSync(join(dir, DAEMON_LOG)).size > maxBytes, 'the file grew past maxBytes');
    let lines = allLinesPlain(dir);
    assert.deepEqual(
      seqs(lines),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(lines.filter((l) => l['event'] === 'log_rotate_failed').length, 1, 'logged once');
    await assert.rejects(w.rotateNow(), { code: 'E_LOG_ROTATE' }, 'asked for, it says why');
    assert.ok(statSync(blocker).isDirectory(), 'nothing was moved');

    rmSync(blocker, { recursive: true });
    let seq = 100;
    while (!existsSync(blocker)) w.writeRaw(JSON.stringify({ seq: seq++, msg: 'after the fix' }));
    lines = allLines(dir);
    assert.deepEqual(
      seqs(lines),
      Array.from({ length: seq }, (_, i) => i),
      'no line lost across the failure and the rotation',
    );
    assert.equal(lines.filter((l) => l['event'] === 'log_rotated').length, 1);
  });

  test('a compression that fails is logged once and leaves the plain file', T, async (t) => {
    const { w, dir } = writer(t, { maxBytes: 4096, keep: 3, maxTotalBytes: GiB });
    // A folder at `.1` moves up to `.2` like a file, and then cannot be gzipped (EISDIR).
    mkdirSync(join(dir, 'mcp-starterd.log.1'));
    writeFileSync(join(dir, 'mcp-starterd.log.1', 'x'), 'x');
    const rotator = w.rotator;
    assert.ok(rotator);
    await rotator.idle();
    const idle = once(rotator, 'idle');
    let seq = 0;
    while (!existsSync(join(dir, 'mcp-starterd.log.2'))) w.writeRaw(JSON.stringify({ seq: seq++ }));
    await idle;
    assert.ok(statSync(join(dir, 'mcp-starterd.log.2')).isDirectory(), 'left as it was');
    const failed = allLinesPlain(dir).filter((l) => l['event'] === 'log_compress_failed');
    assert.equal(failed.length, 1, 'said once');
  });
});

/** The current file's lines (the folder in the way makes allLines' listing unreadable). */
function allLinesPlain(dir: string): Array<Record<string, unknown>> {
  return readFileSync(join(dir, DAEMON_LOG), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('rotation in the daemon', () => {
  test('`ctl logs rotate` rotates now and the daemon logs on into the fresh file; a second one compresses the first', T, async (t) => {
    const dataDir = tempDir(t);
    const d = await startDaemon(t, dataDir, { MCP_STARTER_LOGS_KEEP: '3' });
    const logs = join(dataDir, 'logs');
    const first = await ctl(t, ['logs', 'rotate', '--json', '--data-dir', dataDir]);
    assert.equal(first.code, 0, first.stderr);
    const result = LogsRotateResult.parse(JSON.parse(first.stdout));
    assert.equal(result.rotated, true);
    assert.equal(result.rotatedTo, join(logs, 'mcp-starterd.log.1'));
    assert.match(readFileSync(join(logs, 'mcp-starterd.log.1'), 'utf8'), /"event":"daemon_start"/);
    assert.match(readFileSync(join(logs, DAEMON_LOG), 'utf8'), /"event":"log_rotated"/);

    // The daemon's next event lands in the fresh file (writes are synchronous: it is there before the answer).
    const reload = await rpc(d.socket, 'config.reload');
    assert.ok(reload.result, JSON.stringify(reload.error));
    assert.match(readFileSync(join(logs, DAEMON_LOG), 'utf8'), /"event":"reload"/);

    const second = await ctl(t, ['logs', 'rotate', '--data-dir', dataDir]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /rotated mcp-starterd\.log \(.+\) to mcp-starterd\.log\.1/);
    assert.match(second.stdout, /compressed {2}mcp-starterd\.log\.2\.gz/);
    assert.match(gunzipSync(readFileSync(join(logs, 'mcp-starterd.log.2.gz'))).toString('utf8'), /"event":"daemon_start"/);
    assert.match(readFileSync(join(logs, 'mcp-starterd.log.1'), 'utf8'), /"event":"reload"/);
  });

  test('the daemon rotates by size (logs.maxBytes from the environment) and keeps logs.keep files', T, async (t) => {
    const dataDir = tempDir(t);
    const d = await startDaemon(t, dataDir, { MCP_STARTER_LOGS_MAX_BYTES: '2048', MCP_STARTER_LOGS_KEEP: '2' });
    assert.ok((await rpc(d.socket, 'config.reload')).result);
    // An explicit rotation waits for compression, so the files are settled when it answers.
    const r = await rpc(d.socket, 'logs.rotate');
    assert.ok(r.result, JSON.stringify(r.error));
    const logs = join(dataDir, 'logs');
    assert.deepEqual(logFiles(logs), ['mcp-starterd.log.2.gz', 'mcp-starterd.log.1', DAEMON_LOG]);
    const lines = allLines(logs);
    assert.ok(lines.filter((l) => l['event'] === 'log_rotated' && l['reason'] === 'size').length > 0, 'rotated by size');
  });
});
