import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Cron } from 'croner';
import { JobRunsTable } from '../daemon/ops/job-runs.js';
import { OpsDatabase } from '../daemon/ops/database.js';
import { Scheduler, type JobSpec } from '../daemon/scheduler.js';
import { createLogger } from '../shared/logger.js';
import type { JobRunResult } from '../shared/schemas/rpc.js';
import { withTimeout } from './ctl-helpers.js';
import { tempDir } from './helpers.js';

const T = { timeout: 30_000 };
const BERLIN = 'Europe/Berlin';

function scheduler(t: TestContext, jobs: JobSpec[], timezone?: string): { scheduler: Scheduler; runs: JobRunsTable } {
  const dir = tempDir(t);
  const log = createLogger({ name: 'test', destination: join(dir, 'scheduler.log') });
  const ops = new OpsDatabase(join(dir, 'ops.db'), log);
  const runs = new JobRunsTable(ops);
  const s = new Scheduler({ jobs, timezone, runs, log });
  t.after(async () => {
    await s.close();
    ops.close();
  });
  return { scheduler: s, runs };
}

function recordRun(runs: JobRunsTable, name: JobSpec['name'], at: string): void {
  runs.record({ name, trigger: 'schedule', startedAt: at, endedAt: at, ok: true, ms: 1, summary: 'ok', error: null });
}

/** Local calendar day of each run in Berlin. */
const berlinDays = (dates: Date[]): string[] => dates.map((d) => d.toLocaleDateString('sv', { timeZone: BERLIN }));

describe('schedules across daylight-saving changes (Europe/Berlin, 2026)', () => {
  // The manual's times: 01:00 logs, 02:00 daily, Sunday 03:00 weekly. In Berlin 2026-03-29 02:00–03:00
  // does not exist and 2026-10-25 02:00–03:00 happens twice.
  for (const pattern of ['0 1 * * *', '0 2 * * *', '30 2 * * *']) {
    test(`${pattern}: one run a day through both changes, none skipped, none doubled`, T, () => {
      const cron = new Cron(pattern, { timezone: BERLIN, paused: true });
      try {
        for (const from of ['2026-03-26T12:00:00Z', '2026-10-22T12:00:00Z']) {
          const days = berlinDays(cron.nextRuns(7, new Date(from)));
          assert.equal(new Set(days).size, 7, `seven runs on seven days: ${days.join(', ')}`);
          const first = new Date(from);
          const expected = Array.from({ length: 7 }, (_, i) =>
            new Date(first.getTime() + (i + 1) * 86_400_000).toLocaleDateString('sv', { timeZone: BERLIN }),
          );
          assert.deepEqual(days, expected, 'one on each day in a row');
        }
      } finally {
        cron.stop();
      }
    });
  }

  test('a daemon restarted between the two 02:00s of the autumn change does not run the daily job again', T, (t) => {
    const { scheduler: s, runs } = scheduler(
      t,
      [{ name: 'daily-maintenance', pattern: '0 2 * * *', run: () => Promise.resolve('done') }],
      BERLIN,
    );
    // It ran at the first 02:00 (CEST, 00:00 UTC); the daemon comes back at 02:30 CET (01:30 UTC).
    recordRun(runs, 'daily-maintenance', '2026-10-25T00:00:00.000Z');
    let ran = false;
    s.on('run', () => (ran = true));
    s.start(Date.parse('2026-10-25T01:30:00.000Z'));
    assert.equal(s.list()[0]?.runningSince, null, 'no catch-up: the day’s run happened');
    assert.equal(ran, false);
  });

  test('a daemon down across the spring change catches up the run of the missing hour once', T, async (t) => {
    const { scheduler: s, runs } = scheduler(
      t,
      [{ name: 'daily-maintenance', pattern: '0 2 * * *', run: () => Promise.resolve('done') }],
      BERLIN,
    );
    recordRun(runs, 'daily-maintenance', '2026-03-28T01:00:00.000Z');
    const ran = withTimeout(once(s, 'run'), 'the catch-up run');
    // Down from Saturday until Sunday 04:00 CEST: Sunday's run (02:00 does not exist: croner runs it at 03:00) was missed.
    s.start(Date.parse('2026-03-29T02:00:00.000Z'));
    const [run] = (await ran) as [JobRunResult];
    assert.equal(run.trigger, 'catch-up');
  });
});

describe('pausing the schedules (minimal mode)', () => {
  test('started paused: no catch-up and no next runs until resumed; resume catches up once', T, async (t) => {
    const { scheduler: s, runs } = scheduler(t, [{ name: 'health-report', pattern: '* * * * *', run: () => Promise.resolve('healthy') }]);
    recordRun(runs, 'health-report', new Date(Date.now() - 180_000).toISOString());
    let count = 0;
    s.on('run', () => count++);
    s.pause();
    s.start();
    assert.equal(s.list()[0]?.nextRun, null);
    assert.equal(s.list()[0]?.runningSince, null, 'nothing runs while paused');
    const ran = withTimeout(once(s, 'run'), 'the catch-up run after resume');
    s.resume();
    const [run] = (await ran) as [JobRunResult];
    assert.equal(run.trigger, 'catch-up');
    assert.notEqual(s.list()[0]?.nextRun, null);
    s.pause();
    s.resume();
    assert.equal(count, 1, 'a second resume does not catch up again');
    assert.equal(s.list()[0]?.runningSince, null);
  });

  test('a job still runs by hand while paused', T, async (t) => {
    const { scheduler: s } = scheduler(t, [{ name: 'optimize-db', pattern: '0 4 * * *', run: () => Promise.resolve('optimised') }]);
    s.pause();
    s.start();
    const run = await s.run('optimize-db');
    assert.equal(run.ok, true);
    assert.equal(run.summary, 'optimised');
  });
});
