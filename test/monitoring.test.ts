// Health, metrics and alerts (issue 8), part by part on real ops.db files: availability, the
// manual's rules at their boundaries, hysteresis, retention, the notifier.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AlertEngine, DISK_CLEAR_POINTS, MIN_SAMPLES } from '../daemon/metrics/alerts.js';
import { analyze } from '../daemon/metrics/analyze.js';
import { Notifier, type NotifierRun } from '../daemon/metrics/notifier.js';
import { AvailabilityTracker } from '../daemon/ops/availability.js';
import { OpsDatabase } from '../daemon/ops/database.js';
import { SamplesTable } from '../daemon/ops/samples.js';
import { createLogger } from '../shared/logger.js';
import { Config } from '../shared/schemas/config.js';
import type { Alert, MetricsSample, StateNotification } from '../shared/schemas/rpc.js';
import { tempDir } from './helpers.js';

const T = { timeout: 30_000 };
const MIN = 60_000;
const config = Config.parse({});
/** Availability is given to six decimals. */
const r6 = (n: number): number => Math.round(n * 1e6) / 1e6;
const silent = createLogger({ name: 'test', level: 'silent' });

function sample(atMs: number, over: Partial<MetricsSample> = {}): MetricsSample {
  return {
    at: new Date(atMs).toISOString(),
    cpu_percent: 10,
    memory_percent: 40,
    disk_percent: 50,
    child_cpu_percent: 1,
    memory_rss_mb: 80,
    response_time_p50: 5,
    response_time_p95: 20,
    response_time_max: 30,
    requests: 10,
    active_connections: 1,
    in_flight: 0,
    active_learners: 1,
    ...over,
  };
}

/** `n` samples 10 s apart from `t0`, the first `over` of them with `high` figures. */
function series(t0: number, n: number, over: number, high: Partial<MetricsSample>): MetricsSample[] {
  return Array.from({ length: n }, (_, i) => sample(t0 + i * 10_000, i < over ? high : {}));
}

function note(state: StateNotification['state'], event: string, reason: string | null = null): StateNotification {
  return { state, from: 'stopped', event, pid: 1, reason, at: new Date().toISOString() };
}

describe('availability from ops.db', () => {
  test('counts a crash, its backoff and failed probes as down, and an operator’s stop as planned', T, (t) => {
    const file = join(tempDir(t), 'ops.db');
    let now = Date.parse('2026-11-28T00:00:00.000Z');
    const ops = new OpsDatabase(file, silent);
    t.after(() => ops.close());
    const tracker = new AvailabilityTracker(ops, () => now);
    tracker.begin();
    now += MIN; // starting for the first time: planned
    tracker.onState(note('running', 'ready'));
    now += 60 * MIN; // up an hour
    tracker.onState(note('backoff', 'exit', 'crash'));
    now += 2 * MIN; // down 2 min
    tracker.onState(note('starting', 'retry'));
    now += MIN; // down 1 more
    tracker.onState(note('running', 'ready'));
    now += 30 * MIN; // up
    tracker.onProbe(false, 'no answer');
    now += 3 * MIN; // down: running, but not answering
    tracker.onProbe(true);
    now += 10 * MIN; // up
    tracker.onState(note('draining', 'stop', 'requested'));
    now += MIN;
    tracker.onState(note('stopped', 'exit', 'requested'));
    now += 120 * MIN; // planned: left out
    tracker.onState(note('starting', 'start'));
    now += MIN; // still planned (the operator's start after the stop)
    tracker.onState(note('running', 'ready'));
    now += 20 * MIN;
    // up 60 + 30 + 10 + 20 = 120 min, down 2 + 1 + 3 = 6 min
    assert.equal(tracker.ratio(24 * 60 * MIN), r6(120 / 126));
    assert.equal(tracker.condition, 'up');
    // The last 15 minutes: all up.
    assert.equal(tracker.ratio(15 * MIN), 1);
  });

  test('a daemon that died counts as down until it is back; one that stopped on purpose does not', T, (t) => {
    const file = join(tempDir(t), 'ops.db');
    let now = Date.parse('2026-11-28T00:00:00.000Z');
    const run = (fn: (tracker: AvailabilityTracker) => void): void => {
      const ops = new OpsDatabase(file, silent);
      try {
        fn(new AvailabilityTracker(ops, () => now));
      } finally {
        ops.close();
      }
    };
    run((tr) => {
      tr.begin();
      tr.onState(note('running', 'ready'));
      now += 60 * MIN;
      tr.heartbeat(); // the last heartbeat before a SIGKILL of the daemon
    });
    now += 20 * MIN; // the daemon is down, nobody said so
    run((tr) => {
      tr.begin();
      tr.onState(note('running', 'ready'));
      now += 40 * MIN;
      assert.equal(tr.ratio(24 * 60 * MIN), r6(100 / 120), 'the 20 minutes without a daemon are down');
      tr.end(); // systemctl stop
    });
    now += 500 * MIN; // planned
    run((tr) => {
      tr.begin();
      tr.onState(note('running', 'ready'));
      now += 20 * MIN;
      assert.equal(tr.ratio(24 * 60 * MIN), r6(120 / 140), 'the time after a deliberate stop is planned, not down');
    });
  });

  test('a window without measured time is null, not 100 %', T, (t) => {
    const ops = new OpsDatabase(join(tempDir(t), 'ops.db'), silent);
    t.after(() => ops.close());
    const tracker = new AvailabilityTracker(ops, () => 0);
    tracker.begin();
    assert.deepEqual(tracker.availability(), { h24: null, d7: null, goal: 0.99 });
  });
});

describe('the manual’s alert rules (3.1)', () => {
  const t0 = Date.parse('2026-11-28T00:00:00.000Z');
  const fired = (samples: MetricsSample[]): string[] => analyze(samples, 24, config.thresholds).alerts.map((a) => a.rule);

  test('CPU and memory fire over 10 % of samples, not at exactly 10 %', T, () => {
    assert.deepEqual(fired(series(t0, 100, 10, { cpu_percent: 95 })), [], 'exactly 10 %');
    assert.deepEqual(fired(series(t0, 100, 11, { cpu_percent: 95 })), ['cpu']);
    assert.deepEqual(fired(series(t0, 100, 11, { cpu_percent: 80 })), [], 'at the line is not over it');
    assert.deepEqual(fired(series(t0, 100, 10, { memory_percent: 76 })), []);
    const outcome = analyze(series(t0, 100, 11, { memory_percent: 76 }), 24, config.thresholds).alerts[0];
    assert.deepEqual(outcome && { rule: outcome.rule, share: outcome.share, average: outcome.average, threshold: outcome.threshold }, {
      rule: 'memory',
      share: 0.11,
      average: 76,
      threshold: 75,
    });
  });

  test('response time fires over 5 % of samples with learners’ requests; samples without requests do not count', T, () => {
    assert.deepEqual(fired(series(t0, 100, 5, { response_time_p95: 2_500 })), [], 'exactly 5 %');
    assert.deepEqual(fired(series(t0, 100, 6, { response_time_p95: 2_500 })), ['response_time']);
    const idle = series(t0, 100, 95, { response_time_p95: null, response_time_p50: null, response_time_max: null, requests: 0 });
    idle[99] = sample(t0, { response_time_p95: 2_500 });
    assert.deepEqual(fired(idle), ['response_time'], 'one slow sample of five with requests is 20 %');
  });

  test('disk fires on its latest sample over 85 %', T, () => {
    const s = series(t0, 10, 9, { disk_percent: 90 });
    assert.deepEqual(fired(s), [], 'it was over, it is not now');
    s.push(sample(t0 + 100_000, { disk_percent: 85.1 }));
    assert.deepEqual(fired(s), ['disk']);
  });

  test('an empty window is samples: 0 with null figures', T, () => {
    const a = analyze([], 24, config.thresholds);
    assert.equal(a.samples, 0);
    assert.equal(a.averages.cpu_percent, null);
    assert.deepEqual(a.alerts, []);
  });
});

describe('alerts with hysteresis', () => {
  const t0 = Date.parse('2026-11-28T00:00:00.000Z');

  function engine(): { e: AlertEngine; events: Array<[string, Alert]> } {
    const e = new AlertEngine({
      config: () => ({ thresholds: config.thresholds, alerts: { ...config.alerts, windowMinutes: 100 } }),
      dataDir: '/data',
    });
    const events: Array<[string, Alert]> = [];
    e.on('raised', (a) => events.push(['raised', a]));
    e.on('cleared', (a) => events.push(['cleared', a]));
    return { e, events };
  }

  test('raises once over the share, stays raised between the lines, clears under half of it', T, () => {
    const { e, events } = engine();
    let i = 0;
    const add = (cpu: number): void => e.add(sample(t0 + i++ * 10_000, { cpu_percent: cpu }));
    const early = engine();
    for (let k = 0; k < MIN_SAMPLES - 1; k++) early.e.add(sample(t0 + k * 10_000, { cpu_percent: 95 }));
    assert.equal(early.events.length, 0, `fewer than ${MIN_SAMPLES} samples say nothing yet`);
    for (let k = 0; k < 18; k++) add(10);
    add(95);
    add(95); // 2 of 20 over: exactly 10 %
    assert.equal(events.length, 0);
    add(95); // 3 of 21: 14 %
    assert.deepEqual(
      events.map(([k, a]) => [k, a.rule]),
      [['raised', 'cpu']],
    );
    assert.match(events[0]?.[1].hint ?? '', /mcp-starterctl top/);
    for (let k = 0; k < 19; k++) add(10); // 3 of 40: 7.5 %, under 10 % but over 5 %: still raised
    assert.equal(events.length, 1, 'no flapping between the lines');
    assert.deepEqual(
      e.alerts.map((a) => a.rule),
      ['cpu'],
    );
    for (let k = 0; k < 21; k++) add(10); // 3 of 61: 4.9 %
    assert.deepEqual(
      events.map(([k]) => k),
      ['raised', 'cleared'],
    );
    assert.deepEqual(e.alerts, []);
  });

  test(`a disk alert clears only ${DISK_CLEAR_POINTS} points under its line`, T, () => {
    const { e, events } = engine();
    e.add(sample(t0, { disk_percent: 86 }));
    e.add(sample(t0 + 10_000, { disk_percent: 84 }));
    assert.deepEqual(
      events.map(([k]) => k),
      ['raised'],
    );
    e.add(sample(t0 + 20_000, { disk_percent: 82.9 }));
    assert.deepEqual(
      events.map(([k]) => k),
      ['raised', 'cleared'],
    );
  });
});

describe('samples retention', () => {
  test('raw samples past the retention become hourly averages, read back before the raw ones; the long retention prunes', T, (t) => {
    const ops = new OpsDatabase(join(tempDir(t), 'ops.db'), silent);
    t.after(() => ops.close());
    const table = new SamplesTable(ops);
    const t0 = Date.parse('2026-11-01T10:00:00.000Z');
    // Two hours at 10-minute steps: CPU 10, 15, … 35 in the first, 40 … 65 in the second.
    for (let i = 0; i < 12; i++) table.insert(sample(t0 + i * 10 * MIN, { cpu_percent: 10 + i * 5, response_time_max: i, requests: 1 }));
    const recent = Date.parse('2026-11-28T00:00:00.000Z');
    table.insert(sample(recent));
    // A cutoff in the middle of an hour folds whole hours only.
    assert.equal(table.downsample('2026-11-01T11:30:00.000Z'), 6);
    const { samples, hourly } = table.range('2026-11-01T00:00:00.000Z', '2026-11-29T00:00:00.000Z');
    assert.equal(hourly, 1);
    assert.deepEqual(
      samples.map((s) => s.at),
      [
        '2026-11-01T10:00:00.000Z',
        ...Array.from({ length: 6 }, (_, i) => new Date(t0 + (6 + i) * 10 * MIN).toISOString()),
        '2026-11-28T00:00:00.000Z',
      ],
    );
    const hour = samples[0];
    assert.equal(hour?.cpu_percent, 22.5, 'the average of 10, 15, … 35');
    assert.equal(hour?.response_time_max, 5, 'the largest maximum');
    assert.equal(hour?.requests, 6, 'the sum of the requests');
    assert.equal(table.prune('2026-11-02T00:00:00.000Z'), 7);
    assert.equal(table.range('2026-11-01T00:00:00.000Z').samples.length, 1);
  });
});

describe('the alert command', () => {
  test('gets the alert as one JSON line on stdin; a slow one is killed at its limit and logged', T, async (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'alert.json');
    const logFile = join(dir, 'log.jsonl');
    const log = createLogger({ name: 'test', destination: logFile });
    const alert: Alert = { rule: 'cpu', since: '2026-11-28T00:00:00.000Z', message: 'CPU high', hint: 'look' };
    const ok = new Notifier({ command: ['/bin/sh', '-c', 'cat > "$0"', out], timeoutMs: 5_000, log });
    t.after(() => ok.close());
    const ran = once(ok, 'done') as Promise<[NotifierRun]>;
    ok.notify({ action: 'raised', at: '2026-11-28T00:00:01.000Z', alert });
    assert.equal((await ran)[0].ok, true);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { action: 'raised', at: '2026-11-28T00:00:01.000Z', alert });

    const slow = new Notifier({ command: ['/bin/sleep', '30'], timeoutMs: 200, log });
    t.after(() => slow.close());
    const killed = once(slow, 'done') as Promise<[NotifierRun]>;
    slow.notify({ action: 'cleared', at: '2026-11-28T00:00:02.000Z', alert });
    const [run] = await killed;
    assert.equal(run.ok, false);
    assert.match(run.error ?? '', /no exit within 200 ms; killed/);

    const missing = new Notifier({ command: [join(dir, 'no-such-program')], timeoutMs: 1_000, log });
    const failed = once(missing, 'done') as Promise<[NotifierRun]>;
    missing.notify({ action: 'raised', at: '2026-11-28T00:00:03.000Z', alert });
    assert.match((await failed)[0].error ?? '', /could not run it: .*ENOENT/);
    assert.match(readFileSync(logFile, 'utf8'), /the alert command failed/);
  });
});
