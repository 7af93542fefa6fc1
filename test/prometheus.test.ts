import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { OperationTotals } from '../daemon/metrics/operations.js';
import { PrometheusExporter, type PrometheusLimits, type PrometheusSource } from '../daemon/metrics/prometheus.js';
import { MAX_LABEL_SETS, OperationRecorder } from '../mcp-server/operations.js';
import { AppError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { ChildMessage, OPERATION_BUCKETS_SECONDS, type StatsMessage } from '../shared/schemas/ipc.js';
import { forkServer, postMcp, tempDir, toolCallRequest, WAIT_MS } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// A strict reader of the Prometheus text exposition format 0.0.4: it rejects what Prometheus
// would (a sample before its TYPE, a family split in two, a duplicate series, bad escapes, a
// histogram whose buckets are not cumulative or whose +Inf bucket is not its count).
// ---------------------------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  type: string;
  help: string | undefined;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/** A sample value as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`). */
function parseValue(text: string, where: string): number {
  if (/^nan$/i.test(text)) return NaN;
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  assert.match(text, FLOAT, `not a float: ${where}`);
  return Number(text);
}

/** `name{a="x",b="y"} value [timestamp]`. */
function parseSample(line: string, where: string): Sample {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  const name = line.slice(0, i);
  assert.match(name, METRIC_NAME, `metric name: ${where}`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const eq = line.indexOf('=', i);
      assert.ok(eq > i, `label: ${where}`);
      const label = line.slice(i, eq);
      assert.match(label, LABEL_NAME, `label name: ${where}`);
      assert.ok(!(label in labels), `label given twice: ${where}`);
      assert.equal(line[eq + 1], '"', `label value must be quoted: ${where}`);
      let value = '';
      i = eq + 2;
      for (;;) {
        const c = line[i];
        assert.ok(c !== undefined, `unterminated label value: ${where}`);
        if (c === '"') break;
        if (c === '\\') {
          const next = line[i + 1];
          assert.ok(next === '\\' || next === '"' || next === 'n', `bad escape in label value: ${where}`);
          value += next === 'n' ? '\n' : next;
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      labels[label] = value;
      i++;
      if (line[i] === ',') i++;
      else assert.equal(line[i], '}', `expected , or }: ${where}`);
    }
    i++;
  }
  assert.equal(line[i], ' ', `expected a space before the value: ${where}`);
  const [value, timestamp, ...extra] = line.slice(i + 1).split(' ');
  assert.equal(extra.length, 0, `trailing text: ${where}`);
  if (timestamp !== undefined) assert.match(timestamp, /^-?\d+$/, `timestamp: ${where}`);
  return { name, labels, value: parseValue(value ?? '', where) };
}

/** The family a sample belongs to: its own name, or a histogram's for `_bucket`, `_sum` and `_count`. */
function familyName(sample: string, families: Map<string, Family>): string | undefined {
  const own = families.get(sample);
  if (own && own.type !== 'histogram' && own.type !== 'summary') return sample;
  const m = /^(.*)_(bucket|sum|count)$/.exec(sample);
  const base = m?.[1];
  return base !== undefined && ['histogram', 'summary'].includes(families.get(base)?.type ?? '') ? base : undefined;
}

function checkHistogram(name: string, family: Family): void {
  const groups = new Map<string, { buckets: Sample[]; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name === `${name}_bucket`) {
      assert.ok(le !== undefined, `${name}_bucket without le`);
      group.buckets.push(s);
    } else if (s.name === `${name}_sum`) group.sum = s.value;
    else group.count = s.value;
  }
  for (const [key, g] of groups) {
    const bounds = g.buckets.map((b) => parseValue(b.labels['le'] ?? '', `${name} le`));
    assert.equal(bounds.at(-1), Infinity, `${name}${key}: the last bucket is le="+Inf"`);
    for (let i = 1; i < g.buckets.length; i++) {
      assert.ok(bounds[i]! > bounds[i - 1]!, `${name}${key}: le increases`);
      assert.ok(g.buckets[i]!.value >= g.buckets[i - 1]!.value, `${name}${key}: buckets are cumulative`);
    }
    assert.equal(g.count, g.buckets.at(-1)?.value, `${name}${key}: _count equals the +Inf bucket`);
    assert.ok(g.sum !== undefined, `${name}${key}: has _sum`);
  }
}

function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families = new Map<string, Family>();
  const done = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  for (const [n, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${n + 1}: ${line}`;
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      assert.match(name, METRIC_NAME, where);
      if (current !== name && current !== undefined) done.add(current);
      assert.ok(!done.has(name), `the ${name} family is split: ${where}`);
      const family = families.get(name) ?? { type: 'untyped', help: undefined, samples: [] };
      if (kind === 'TYPE') {
        assert.ok(TYPES.includes(rest), `unknown type: ${where}`);
        assert.equal(family.samples.length, 0, `TYPE after samples: ${where}`);
        assert.ok(!families.has(name) || family.help !== undefined, `TYPE given twice: ${where}`);
        family.type = rest;
      } else {
        assert.equal(family.help, undefined, `HELP given twice: ${where}`);
        assert.doesNotMatch(rest.replace(/\\[\\n]/g, ''), /\\/, `bad escape in HELP: ${where}`);
        family.help = rest;
      }
      families.set(name, family);
      current = name;
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = parseSample(line, where);
    const name = familyName(sample.name, families);
    assert.ok(name !== undefined, `a sample without a TYPE: ${where}`);
    assert.equal(name, current, `a sample away from its family: ${where}`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    assert.ok(!series.has(key), `a series given twice: ${where}`);
    series.add(key);
    families.get(name)?.samples.push(sample);
  }
  for (const [name, family] of families) if (family.type === 'histogram') checkHistogram(name, family);
  return families;
}

// ---------------------------------------------------------------------------------------------

/** DESIGN.md's names with their types. */
const DESIGN_METRICS = {
  mcp_starter_child_state: 'gauge',
  mcp_starter_child_restarts_total: 'counter',
  mcp_starter_child_cpu_seconds_total: 'counter',
  mcp_starter_child_resident_memory_bytes: 'gauge',
  mcp_starter_availability_ratio: 'gauge',
  mcp_starter_active_learners: 'gauge',
  mcp_starter_alert_active: 'gauge',
  mcp_server_operation_duration_seconds: 'histogram',
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
} as const;

/** A source over real objects; `fail` makes the next scrapes throw. */
function sourceOf(totals: OperationTotals, state: { fail: boolean } = { fail: false }): PrometheusSource {
  return {
    childState: () => 'running',
    restarts: () => 2,
    childCpuSecondsTotal: () => 1.25,
    childRssBytes: () => 50_000_000,
    availability: () => ({ h24: 0.995, d7: null }),
    activeLearners: () => {
      if (state.fail) throw new Error('the sampler is gone');
      return 3;
    },
    activeAlertRules: () => ['memory'],
    operations: () => totals,
  };
}

/** Starts an exporter on 127.0.0.1, port 0; closed at test end. Logs go to a file the test can read. */
async function startExporter(
  t: TestContext,
  source: PrometheusSource,
  limits: Partial<PrometheusLimits> = {},
): Promise<{ exporter: PrometheusExporter; url: string; port: number; logFile: string }> {
  const logFile = join(tempDir(t), 'daemon.log');
  const exporter = new PrometheusExporter({
    host: '127.0.0.1',
    port: 0,
    log: createLogger({ name: 'test', destination: logFile }),
    source,
    limits,
  });
  t.after(() => exporter.close());
  const { url } = await exporter.listen();
  return { exporter, url, port: Number(new URL(url).port), logFile };
}

function logEvents(file: string, event: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e['event'] === event);
}

function value(family: Family | undefined, labels: Record<string, string>, name?: string): number | undefined {
  return family?.samples.find((s) => (name === undefined || s.name === name) && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

async function openSocket(t: TestContext, port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  return socket;
}

/** Resolves with what the server sent before it closed the connection. */
function readUntilClosed(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined); // a reset still counts as closed
  return once(socket, 'close').then(() => text);
}

describe('Prometheus exposition (/metrics)', () => {
  test('serves every DESIGN.md metric with its type, as valid exposition text', { timeout: 30_000 }, async (t) => {
    const recorder = new OperationRecorder();
    recorder.record({ method: 'tools/call', tool: 'get_step', errorType: '' }, 0.004);
    recorder.record({ method: 'tools/call', tool: 'get_step', errorType: '' }, 0.3);
    recorder.record({ method: 'tools/call', tool: 'get_step', errorType: 'tool_error' }, 0.015);
    // Label values a client might send reach the text escaped, not raw.
    recorder.record({ method: 'resources/read', tool: 'a "quoted"\\ name\nnext', errorType: '-32602' }, 1000);
    const totals = new OperationTotals();
    totals.add(recorder.snapshot());
    recorder.record({ method: 'tools/call', tool: 'get_step', errorType: '' }, 0.05);
    totals.add(recorder.snapshot());
    const { url } = await startExporter(t, sourceOf(totals));

    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parseExposition(await res.text());
    for (const [name, type] of Object.entries(DESIGN_METRICS)) assert.equal(families.get(name)?.type, type, `${name} is a ${type}`);
    assert.ok([...families.keys()].filter((n) => n.startsWith('process_')).length >= 4, 'the standard process_* figures');

    const state = families.get('mcp_starter_child_state');
    assert.equal(state?.samples.length, 7, 'one sample per ChildState');
    assert.deepEqual(
      state?.samples.filter((s) => s.value === 1).map((s) => s.labels['state']),
      ['running'],
      'one-hot',
    );
    assert.equal(value(families.get('mcp_starter_child_restarts_total'), {}), 2);
    assert.equal(value(families.get('mcp_starter_child_cpu_seconds_total'), {}), 1.25);
    assert.equal(value(families.get('mcp_starter_child_resident_memory_bytes'), {}), 50_000_000);
    assert.equal(value(families.get('mcp_starter_availability_ratio'), { window: '24h' }), 0.995);
    assert.equal(value(families.get('mcp_starter_availability_ratio'), { window: '7d' }), undefined, 'no 7 d figure yet: left out');
    assert.equal(value(families.get('mcp_starter_active_learners'), {}), 3);
    assert.equal(value(families.get('mcp_starter_alert_active'), { rule: 'memory' }), 1);
    assert.equal(value(families.get('mcp_starter_alert_active'), { rule: 'cpu' }), 0);

    const h = families.get('mcp_server_operation_duration_seconds');
    const ok = { mcp_method_name: 'tools/call', gen_ai_tool_name: 'get_step', error_type: '' };
    const name = 'mcp_server_operation_duration_seconds';
    assert.equal(value(h, ok, `${name}_count`), 3, 'two windows added up');
    assert.equal(value(h, { ...ok, le: '0.01' }, `${name}_bucket`), 1);
    assert.equal(value(h, { ...ok, le: '0.05' }, `${name}_bucket`), 2, 'le is inclusive');
    assert.equal(value(h, { ...ok, le: '0.5' }, `${name}_bucket`), 3);
    assert.ok(Math.abs((value(h, ok, `${name}_sum`) ?? 0) - 0.354) < 1e-9);
    const failed = { ...ok, error_type: 'tool_error' };
    assert.equal(value(h, failed, `${name}_count`), 1);
    const odd = { mcp_method_name: 'resources/read', gen_ai_tool_name: 'a "quoted"\\ name\nnext', error_type: '-32602' };
    assert.equal(value(h, { ...odd, le: String(OPERATION_BUCKETS_SECONDS.at(-1)) }, `${name}_bucket`), 0);
    assert.equal(value(h, { ...odd, le: '+Inf' }, `${name}_bucket`), 1, 'past the last bound: only in +Inf');

    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('answers 404 off /metrics and 405 to methods other than GET and HEAD', { timeout: 30_000 }, async (t) => {
    const { url } = await startExporter(t, sourceOf(new OperationTotals()));
    const base = new URL(url);
    for (const path of ['/', '/metrics/', '/mcp', '/metricsx']) {
      const res = await fetch(new URL(path, base));
      assert.equal(res.status, 404, path);
      await res.text();
    }
    const query = await fetch(`${url}?name[]=x`);
    assert.equal(query.status, 200, 'a query string is ignored, as Prometheus may send one');
    await query.text();
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await fetch(url, { method, ...(method === 'POST' || method === 'PUT' ? { body: 'x' } : {}) });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      await res.text();
    }
  });

  test('a scrape that throws answers 500 and is logged once, and a good one after it says so', { timeout: 30_000 }, async (t) => {
    const state = { fail: true };
    const { url, logFile } = await startExporter(t, sourceOf(new OperationTotals(), state));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(url);
      assert.equal(res.status, 500);
      await res.text();
    }
    const failures = logEvents(logFile, 'prometheus_scrape_failed');
    assert.equal(failures.length, 1, 'three failed scrapes, one log line');
    assert.match(JSON.stringify(failures[0]), /the sampler is gone/);
    state.fail = false;
    const res = await fetch(url);
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(logEvents(logFile, 'prometheus_scrape_recovered').length, 1);
    assert.equal(logEvents(logFile, 'prometheus_listening')[0]?.['url'], url);
  });

  test('cuts a client that never finishes its headers (headersTimeout)', { timeout: 30_000 }, async (t) => {
    const { port, logFile } = await startExporter(t, sourceOf(new OperationTotals()), { headersTimeoutMs: 300, requestTimeoutMs: 1_000 });
    const socket = await openSocket(t, port);
    const closed = readUntilClosed(socket);
    const startedMs = performance.now();
    socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const text = await closed;
    const waitedMs = performance.now() - startedMs;
    assert.match(text, /^HTTP\/1\.1 408 /, 'answered 408 before the cut');
    assert.ok(waitedMs < 5_000, `cut after ${Math.round(waitedMs)} ms`);
    assert.equal(logEvents(logFile, 'limit_hit').length, 1, 'logged');
  });

  test('caps its connections: one past the cap is closed at once', { timeout: 30_000 }, async (t) => {
    const { port, url } = await startExporter(t, sourceOf(new OperationTotals()), { maxConnections: 2 });
    await openSocket(t, port);
    await openSocket(t, port);
    const third = await openSocket(t, port);
    const text = await readUntilClosed(third);
    assert.equal(text, '', 'dropped without an answer');
    const tail = await openSocket(t, port);
    const answer = readUntilClosed(tail);
    tail.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(await answer, '', 'still full while the first two stay open');
    assert.ok(url.endsWith('/metrics'));
  });

  test('close() frees the port and is idempotent; a taken port rejects with E_PORT_IN_USE', { timeout: 30_000 }, async (t) => {
    const { exporter, port } = await startExporter(t, sourceOf(new OperationTotals()));
    await openSocket(t, port); // an idle keep-alive scraper must not hold the close
    await Promise.all([exporter.close(), exporter.close()]);
    await exporter.close();

    const again = new PrometheusExporter({
      host: '127.0.0.1',
      port,
      log: createLogger({ name: 'test', level: 'silent' }),
      source: sourceOf(new OperationTotals()),
    });
    t.after(() => again.close());
    assert.equal((await again.listen()).url, `http://127.0.0.1:${port}/metrics`, 'the port is free again');

    const holder = createServer();
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    t.after(() => holder.close());
    const taken = (holder.address() as AddressInfo).port;
    const blocked = new PrometheusExporter({
      host: '127.0.0.1',
      port: taken,
      log: createLogger({ name: 'test', level: 'silent' }),
      source: sourceOf(new OperationTotals()),
    });
    t.after(() => blocked.close());
    await assert.rejects(blocked.listen(), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'E_PORT_IN_USE');
      assert.match(err.message, new RegExp(`port ${taken}`));
      assert.match(err.hint ?? '', /prometheus\.port/);
      return true;
    });
  });

  test('label sets are bounded: past the cap new ones fold into "other"', { timeout: 30_000 }, () => {
    const recorder = new OperationRecorder();
    for (let i = 0; i < MAX_LABEL_SETS + 50; i++)
      recorder.record({ method: 'tools/call', tool: `t${i}`, errorType: i % 2 ? 'x' : '' }, 0.1);
    const window = recorder.snapshot();
    assert.equal(window.length, MAX_LABEL_SETS + 2);
    assert.equal(
      window.reduce((n, w) => n + w.count, 0),
      MAX_LABEL_SETS + 50,
      'nothing lost',
    );
    assert.deepEqual(recorder.snapshot(), [], 'snapshot starts a new window');
    const totals = new OperationTotals();
    totals.add(window);
    totals.add(window.map((w) => ({ ...w, tool: `${w.tool}-again` })));
    assert.ok(totals.series().length <= MAX_LABEL_SETS + 2);
    assert.equal(
      totals.series().reduce((n, s) => n + s.count, 0),
      2 * (MAX_LABEL_SETS + 50),
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** The next `stats` message from the child, parsed with the shared schema. */
function nextStats(proc: ChildProcess): Promise<StatsMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no stats message within ${WAIT_MS} ms`)), WAIT_MS);
    const onMessage = (raw: unknown): void => {
      const msg = ChildMessage.parse(raw);
      if (msg.type !== 'stats') return;
      clearTimeout(timer);
      proc.off('message', onMessage);
      resolve(msg);
    };
    proc.on('message', onMessage);
  });
}

/** A JSON-RPC POST on the 2025-06-18 protocol, which the server answers as an SSE stream. */
function legacyRequest(body: unknown): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify(body),
  };
}

describe("the child's operation histogram (stats over IPC)", () => {
  test("counts learners' MCP requests by method, tool and outcome, and not the daemon's probe", { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const { proc } = forkServer(t, {
      dataDir: dir,
      env: { MCP_STARTER_STATS_INTERVAL_MS: '200', MCP_STARTER_PROBE_TOKEN: 'probe-secret', MCP_STARTER_SERVER_MAX_BODY_BYTES: '4096' },
    });
    const totals = new OperationTotals();
    proc.on('message', (raw: unknown) => {
      const msg = ChildMessage.parse(raw);
      if (msg.type === 'stats') totals.add(msg.operations); // as the daemon does
    });
    const ready = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ready message')), WAIT_MS);
      proc.on('message', (raw: unknown) => {
        const msg = ChildMessage.parse(raw);
        if (msg.type !== 'ready') return;
        clearTimeout(timer);
        resolve(msg.url);
      });
    });
    const url = new URL(ready);
    const send = async (req: { headers: Record<string, string>; body: string }): Promise<string> => {
      const res = await postMcp(url, req);
      return `${res.status} ${await res.text()}`;
    };

    for (let i = 0; i < 3; i++) assert.match(await send(toolCallRequest('list_tutorials', {}, 'probe-secret')), /^200 /);
    assert.match(await send(toolCallRequest('get_step', { tutorial_id: 'no-such-tutorial' }, 'probe-secret')), /isError/);

    assert.match(await send(toolCallRequest('list_tutorials', {})), /^200 /);
    assert.match(await send(toolCallRequest('get_step', { tutorial_id: 'no-such-tutorial' })), /"isError":true/);
    assert.match(await send(toolCallRequest('no_such_tool', {})), /-32602/);
    const sse = await send(
      legacyRequest({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'start_tutorial', arguments: { tutorial_id: 'nope' } },
      }),
    );
    assert.match(sse, /^200 event: message\ndata: /, 'answered as an SSE stream');
    assert.match(sse, /"isError":true/);
    assert.match(await send(legacyRequest({ jsonrpc: '2.0', id: 8, method: 'bogus/method' })), /-32601/);
    assert.match(await send(legacyRequest({ jsonrpc: '2.0', method: 'notifications/initialized' })), /^202 /);
    // Refused at the HTTP level before its body was read whole: named by its Mcp-Method and Mcp-Name headers.
    const big = await openSocket(t, Number(url.port));
    const refused = readUntilClosed(big);
    big.write(
      'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nMcp-Method: tools/call\r\nMcp-Name: submit_step\r\n' +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2000\r\n${'x'.repeat(0x2000)}\r\n`,
    );
    assert.match(await refused, /^HTTP\/1\.1 413 /);
    const learnerCalls = 7;

    const count = (): number => totals.series().reduce((n, s) => n + s.count, 0);
    while (count() < learnerCalls) await nextStats(proc);
    // Two more windows: anything still to come (a probe counted late) would show up in them.
    await nextStats(proc);
    await nextStats(proc);

    const counts = Object.fromEntries(totals.series().map((s) => [`${s.method} ${s.tool} ${s.errorType}`, s.count]));
    assert.deepEqual(counts, {
      'tools/call list_tutorials ': 1,
      'tools/call get_step tool_error': 1,
      'tools/call other -32602': 1,
      'tools/call start_tutorial tool_error': 1,
      'other  -32601': 1,
      'notifications/initialized  ': 1,
      'tools/call submit_step http_413': 1,
    });
    for (const s of totals.series()) {
      assert.equal(
        s.buckets.reduce((a, b) => a + b, 0),
        s.count,
      );
      assert.ok(s.sumSeconds > 0 && s.sumSeconds < 30, `${s.method}: ${s.sumSeconds} s`);
    }

    // The same totals, scraped: what an operator's Prometheus reads.
    const { url: metricsUrl } = await startExporter(t, sourceOf(totals));
    const families = parseExposition(await (await fetch(metricsUrl)).text());
    const h = families.get('mcp_server_operation_duration_seconds');
    const labels = { mcp_method_name: 'tools/call', gen_ai_tool_name: 'get_step', error_type: 'tool_error' };
    assert.equal(value(h, labels, 'mcp_server_operation_duration_seconds_count'), 1);
  });
});
