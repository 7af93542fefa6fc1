// `ctl logs analyze` (issue 9, Logs): the manual's figures and tool latency over the last H hours
// of the log files, rotated and gzip-compressed ones included, on a log written here with known
// answers; error grouping; the bounds that keep its memory flat.
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { LatencyHistogram } from '../shared/latency-histogram.js';
import { analyzeLogs, LogAnalysis, MAX_ANALYZED_LINE_CHARS, MAX_ERROR_GROUPS, MAX_TOOLS, normaliseMessage } from '../shared/log-analyze.js';
import { LOG_FILE } from '../shared/log-files.js';
import { LogsAnalyzeResult } from '../shared/schemas/rpc.js';
import { ctl } from './ctl-helpers.js';
import { tempDir } from './helpers.js';

const T = { timeout: 60_000 };
const HOUR = 3_600_000;
const NOW = Date.now();

type Line = Record<string, unknown>;

/** A pino line `hoursAgo` before now (the order within a file follows the calls). */
let tick = 0;
function at(hoursAgo: number, fields: Line): string {
  tick++;
  return JSON.stringify({
    level: 'info',
    time: new Date(NOW - hoursAgo * HOUR + tick).toISOString(),
    pid: 1,
    name: 'mcp-starter-server',
    ...fields,
  });
}

const error = (hoursAgo: number, msg: string, err?: string): string =>
  at(hoursAgo, {
    level: 'error',
    name: 'mcp-starterd',
    component: 'db',
    msg,
    ...(err === undefined ? {} : { err: { type: 'Error', message: err, stack: 'Error: …' } }),
  });
const toolCall = (hoursAgo: number, tool: string, ms: number | undefined, ok = true): string =>
  at(hoursAgo, { event: 'tool_call', tool, ...(ms === undefined ? {} : { ms }), ok, learner: 'alice', msg: 'tool call' });

/** Writes a file of the logs folder, and sets its modification time (the window's cue for skipping a file). */
function write(dir: string, name: string, lines: string[], modifiedHoursAgo: number): void {
  const text = lines.map((l) => `${l}\n`).join('');
  const path = join(dir, name);
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(text) : text);
  const when = new Date(NOW - modifiedHoursAgo * HOUR);
  utimesSync(path, when, when);
}

/**
 * The fixture, over four files. In the last 24 h: 11 errors in 6 groups, 4 warnings, learners'
 * tool calls (get_step 1…20 ms, submit_step 100…400 ms with one failure, one without ms), 5 probe
 * calls, 3 resource reads, 2 new learners, 2 lines without JSON or time, one line over 1 MiB.
 * Before it: lines in .2.gz from 30 h ago, and a .3.gz last written 3 days ago (never read).
 */
function fixture(t: TestContext): { dataDir: string; dir: string; lineCount: number } {
  const dataDir = tempDir(t);
  const dir = join(dataDir, 'logs');
  mkdirSync(dir);
  write(dir, `${LOG_FILE}.3.gz`, [error(80, 'old error'), toolCall(80, 'get_step', 5), error(79, 'old error')], 72);
  const gz2 = [
    error(30, 'write failed for learner 9', 'SQLITE_BUSY: database is locked'),
    error(30, 'too old to count'),
    toolCall(30, 'get_step', 99),
    at(30, { event: 'new_learner', msg: 'new learner' }),
    error(23, 'write failed for learner 42', 'SQLITE_BUSY: database is locked'),
    error(23, 'tutorial "what-is-mcp" not found in /var/lib/mcp/catalog/en.json'),
    at(23, { level: 'warn', msg: 'slow probe' }),
    at(23, { event: 'new_learner', msg: 'new learner' }),
    ...Array.from({ length: 10 }, (_, i) => toolCall(22, 'get_step', i + 1)),
  ];
  write(dir, `${LOG_FILE}.2.gz`, gz2, 20);
  const one = [
    error(12, 'write failed for learner 7', 'SQLITE_BUSY: database is locked'),
    error(12, 'request 3f2a9c1e-1b2c-4d5e-8f90-123456789abc timed out after 5000 ms'),
    JSON.stringify({ level: 50, time: new Date(NOW - 12 * HOUR).toISOString(), msg: 'hex id deadbeef42 rejected' }),
    at(12, { level: 'warn', msg: 'disk 86 % full' }),
    JSON.stringify({ level: 40, time: new Date(NOW - 12 * HOUR).toISOString(), msg: 'numeric warn' }),
    ...Array.from({ length: 10 }, (_, i) => toolCall(11, 'get_step', i + 11)),
    ...Array.from({ length: 5 }, () =>
      at(11, { level: 'debug', event: 'tool_call', tool: 'list_tutorials', ms: 1.5, ok: true, probe: true }),
    ),
    'Segmentation fault (core dumped)',
    '',
  ];
  write(dir, `${LOG_FILE}.1`, one, 10);
  const current = [
    error(2, 'write failed for learner 1234', 'SQLITE_BUSY: database is locked'),
    error(2, "tutorial 'first-tool' not found in /srv/other/catalog.json"),
    error(2, 'request 0b1c2d3e-4f50-4617-a829-3a4b5c6d7e8f timed out after 30000 ms'),
    JSON.stringify({ level: 'error', time: new Date(NOW - HOUR).toISOString(), msg: 'hex id cafebabe99 rejected' }),
    at(1, { level: 'fatal', msg: 'crash at 2026-11-25T14:03:00.000Z' }),
    at(1, { level: 'error', msg: 'something else' }),
    at(1, { level: 'warn', msg: 'slow probe' }),
    toolCall(1, 'submit_step', 100),
    toolCall(1, 'submit_step', 200, false),
    toolCall(1, 'submit_step', 300),
    toolCall(1, 'submit_step', 400),
    toolCall(1, 'submit_step', undefined),
    at(1, { event: 'resource_access', uri: 'tutorial://what-is-mcp', msg: 'resource read' }),
    at(1, { event: 'resource_access', uri: 'tutorials://catalog', msg: 'resource read' }),
    at(1, { event: 'resource_access', uri: 'progress://me', msg: 'resource read' }),
    JSON.stringify({ level: 'error', msg: 'no time on this line' }),
    at(1, { level: 'error', msg: 'x'.repeat(MAX_ANALYZED_LINE_CHARS) }),
  ];
  write(dir, LOG_FILE, current, 0);
  return { dataDir, dir, lineCount: gz2.length + one.length + current.length };
}

const within = (actual: number | null, expected: number): boolean => actual !== null && Math.abs(actual - expected) <= expected * 0.025;

describe('logs analyze on a fixture log with known answers', () => {
  test('counts the manual\u2019s figures in the window, across a .gz and .1, and leaves out older files and probe calls', T, async (t) => {
    const { dir, lineCount } = fixture(t);
    const r = LogsAnalyzeResult.parse(await analyzeLogs(dir, { hours: 24, nowMs: NOW }));
    assert.equal(r.hours, 24);
    assert.equal(r.errors, 11);
    assert.equal(r.warnings, 4);
    assert.equal(r.tool_calls, 25);
    assert.equal(r.probe_calls, 5);
    assert.equal(r.resource_accesses, 3);
    assert.equal(r.new_learners, 1);
    assert.deepEqual(r.top_errors, [
      {
        message: 'write failed for learner <n>: SQLITE_BUSY: database is locked',
        count: 3,
        example: 'write failed for learner 42: SQLITE_BUSY: database is locked',
      },
      { message: 'hex id <hex> rejected', count: 2, example: 'hex id deadbeef42 rejected' },
      {
        message: 'request <uuid> timed out after <n> ms',
        count: 2,
        example: 'request 3f2a9c1e-1b2c-4d5e-8f90-123456789abc timed out after 5000 ms',
      },
      {
        message: 'tutorial <str> not found in <path>',
        count: 2,
        example: 'tutorial "what-is-mcp" not found in /var/lib/mcp/catalog/en.json',
      },
      { message: 'crash at <time>', count: 1, example: 'crash at 2026-11-25T14:03:00.000Z' },
    ]);
    assert.deepEqual(
      r.files_read.map((f) => [f.file.slice(dir.length + 1), f.compressed, f.error]),
      [
        [`${LOG_FILE}.2.gz`, true, null],
        [`${LOG_FILE}.1`, false, null],
        [LOG_FILE, false, null],
      ],
    );
    assert.equal(r.files_skipped, 1);
    assert.equal(r.lines_read, lineCount);
    assert.equal(r.unparsed_lines, 2);
    assert.equal(r.oversize_lines, 1);
    assert.equal(r.ungrouped_errors, 0);
    assert.equal(r.from, new Date(NOW - 24 * HOUR).toISOString());
    assert.equal(r.to, new Date(NOW).toISOString());
  });

  test('gives each tool its calls, failures and latency percentiles', T, async (t) => {
    const { dir } = fixture(t);
    const { tools } = await analyzeLogs(dir, { hours: 24, nowMs: NOW });
    assert.deepEqual(
      tools.map((x) => [x.tool, x.calls, x.failed]),
      [
        ['get_step', 20, 0],
        ['submit_step', 5, 1],
      ],
    );
    const [getStep, submitStep] = tools;
    assert.ok(within(getStep?.p50_ms ?? null, 10), `get_step p50 ${getStep?.p50_ms}`);
    assert.ok(within(getStep?.p95_ms ?? null, 19), `get_step p95 ${getStep?.p95_ms}`);
    assert.equal(getStep?.max_ms, 20);
    assert.ok(within(submitStep?.p50_ms ?? null, 200), `submit_step p50 ${submitStep?.p50_ms}`);
    assert.equal(submitStep?.p95_ms, 400);
  });

  test('a shorter window counts less, a longer one reaches back into .2.gz (never .3.gz, last written before it)', T, async (t) => {
    const { dir } = fixture(t);
    const short = await analyzeLogs(dir, { hours: 1.5, nowMs: NOW });
    assert.equal(short.errors, 3);
    assert.deepEqual(
      short.files_read.map((f) => f.file.slice(dir.length + 1)),
      [LOG_FILE],
    );
    assert.equal(short.files_skipped, 3);
    const long = await analyzeLogs(dir, { hours: 48, nowMs: NOW });
    assert.equal(long.errors, 13);
    assert.equal(long.new_learners, 2);
    assert.equal(long.files_skipped, 1);
    const all = await analyzeLogs(dir, { hours: 24 * 7, nowMs: NOW });
    assert.equal(all.errors, 15);
    assert.equal(all.files_skipped, 0);
  });

  test('a cut .gz is read up to the fault and named; a missing logs folder is all zeros', T, async (t) => {
    const { dir } = fixture(t);
    const gz = gzipSync(Array.from({ length: 2000 }, (_, i) => `${error(2, `broken ${i}`)}\n`).join(''));
    write(dir, `${LOG_FILE}.2.gz`, [], 1);
    writeFileSync(join(dir, `${LOG_FILE}.2.gz`), gz.subarray(0, gz.length - 100));
    const r = await analyzeLogs(dir, { hours: 24, nowMs: NOW });
    const broken = r.files_read.find((f) => f.file.endsWith('.2.gz'));
    assert.match(broken?.error ?? '', /unexpected end of file/);
    assert.ok(r.errors > 5 && r.errors < 2000 + 8, `${r.errors} errors`);
    const none = await analyzeLogs(join(dir, 'missing'), { hours: 24 });
    assert.deepEqual([none.errors, none.lines_read, none.files_read], [0, 0, []]);
  });

  test('ctl logs analyze reads the files itself with the daemon down, as text and as JSON', T, async (t) => {
    const { dataDir } = fixture(t);
    const [human, json] = await Promise.all([
      ctl(t, ['--data-dir', dataDir, 'logs', 'analyze']),
      ctl(t, ['--data-dir', dataDir, 'logs', 'analyze', '--hours', '48', '--json']),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stderr, /mcp-starterd is not running .* Acting without it/);
    assert.match(human.stdout, /^ {2}errors +11$/m);
    assert.match(human.stdout, /^ {2}tool calls +25 +\(and 5 by the daemon’s probe, not counted\)$/m);
    assert.match(human.stdout, /^ +3 {2}write failed for learner <n>: SQLITE_BUSY: database is locked$/m);
    assert.match(human.stdout, /^ {2}submit_step +5 +1 +/m);
    assert.match(human.stdout, /note: 2 lines without JSON and a time, not counted/);
    assert.match(human.stdout, /note: 1 older file not read/);
    assert.equal(json.code, 0, json.stderr);
    const r = LogsAnalyzeResult.parse(JSON.parse(json.stdout));
    assert.deepEqual([r.hours, r.errors, r.new_learners], [48, 13, 2]);
    const bad = await ctl(t, ['--data-dir', dataDir, 'logs', 'analyze', '--hours', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--hours must be more than 0/);
  });
});

describe('error grouping', () => {
  test('ids, numbers, quoted text, paths, URLs and times become placeholders', () => {
    const cases: Array<[string, string]> = [
      ['user 42 failed after 1.5 s', 'user <n> failed after <n> s'],
      ['learner-17 and learner_9', 'learner-<n> and learner_<n>'],
      ['session 6f1d2c3b-0a9e-4d8c-b7a6-5f4e3d2c1b0a expired', 'session <uuid> expired'],
      ['at 2026-11-25T14:03:00.123Z and 2026-11-25 14:03', 'at <time> and <time>'],
      ['cannot open /var/lib/mcp-starter/ops.db: SQLITE_CANTOPEN', 'cannot open <path>: SQLITE_CANTOPEN'],
      ['GET http://127.0.0.1:8000/mcp?x=1 refused', 'GET <url> refused'],
      ['object 0x7ffe12 and commit 9fceb02d0ae598e9', 'object <hex> and commit <hex>'],
      ['unknown tool "get_stepz", did you mean \'get_step\'?', 'unknown tool <str>, did you mean <str>?'],
      ["the learner's own progress", "the learner's own progress"],
      ['deadline   exceeded\n  retry', 'deadline exceeded retry'],
    ];
    for (const [message, expected] of cases) assert.equal(normaliseMessage(message), expected, message);
    assert.ok(normaliseMessage('y'.repeat(5000)).length <= 300);
  });
});

describe('bounded state', () => {
  test('error groups and tools are capped; what does not fit is still counted', () => {
    const analysis = new LogAnalysis(0);
    const word = (i: number): string => i.toString(26).replace(/\d/g, (d) => 'qrstuvwxyz'[Number(d)] ?? '');
    const time = new Date(1000).toISOString();
    for (let i = 0; i < MAX_ERROR_GROUPS + 500; i++) analysis.line(JSON.stringify({ level: 'error', time, msg: `failure ${word(i)}` }));
    for (let i = 0; i < 100; i++) analysis.line(JSON.stringify({ time, event: 'tool_call', tool: `tool_${word(i)}`, ms: 1, ok: true }));
    assert.equal(analysis.errors, MAX_ERROR_GROUPS + 500);
    assert.equal(analysis.ungroupedErrors, 500);
    assert.equal(analysis.topErrors().length, 5);
    const tools = analysis.toolLatencies();
    assert.equal(tools.length, MAX_TOOLS);
    assert.equal(tools.find((x) => x.tool === '(other)')?.calls, 100 - (MAX_TOOLS - 1));
    assert.equal(
      tools.reduce((sum, x) => sum + x.calls, 0),
      100,
    );
  });

  test('the latency histogram is within 2.5 % at any scale, exact at its ends', () => {
    for (const scale of [0.05, 1, 37, 2_000, 600_000]) {
      const h = new LatencyHistogram();
      const values = Array.from({ length: 1000 }, (_, i) => scale * (1 + i / 100));
      for (const v of values) h.add(v);
      for (const q of [0.5, 0.9, 0.95, 0.99]) {
        const exact = values[Math.ceil(q * values.length) - 1] ?? NaN;
        assert.ok(within(h.quantile(q), exact), `scale ${scale} q${q}: ${h.quantile(q)} vs ${exact}`);
      }
      assert.equal(h.quantile(1), values.at(-1));
    }
    const h = new LatencyHistogram();
    assert.equal(h.quantile(0.5), null);
    h.add(0);
    h.add(Number.NaN);
    h.add(-1);
    assert.equal(h.count, 1);
    assert.equal(h.quantile(0.5), 0);
  });
});

describe('a window that ends in the past (the weekly report of an earlier week)', () => {
  test('lines before the start and after the end are left out', () => {
    const analysis = new LogAnalysis(Date.parse('2026-11-22T00:00:00.000Z'), Date.parse('2026-11-29T00:00:00.000Z'));
    analysis.line(JSON.stringify({ level: 'error', time: '2026-11-21T23:59:59.999Z', msg: 'before' }));
    analysis.line(JSON.stringify({ level: 'error', time: '2026-11-28T23:59:59.000Z', msg: 'in the week' }));
    analysis.line(JSON.stringify({ level: 'error', time: '2026-11-29T00:00:00.001Z', msg: 'after' }));
    analysis.line(JSON.stringify({ level: 50, time: Date.parse('2026-11-29T01:00:00.000Z'), msg: 'after, epoch time' }));
    assert.equal(analysis.errors, 1);
    assert.deepEqual(
      analysis.topErrors().map((e) => e.message),
      ['in the week'],
    );
  });
});
