import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { JobRunsTable } from '../daemon/ops/job-runs.js';
import { OpsDatabase } from '../daemon/ops/database.js';
import { Scheduler, type JobSpec } from '../daemon/scheduler.js';
import { parseConfig } from '../shared/config.js';
import { AppError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { openReadOnly } from '../shared/sqlite.js';
import { JobRunResult, JobsListResult } from '../shared/schemas/rpc.js';
import { ctl, withTimeout } from './ctl-helpers.js';
import { rpc, startDaemon } from './daemon-helpers.js';
import { LineStream, tempDir, WAIT_MS } from './helpers.js';

const T = { timeout: 60_000 };

/** A scheduler over a real ops.db in a temp dir, logging to a file there. */
function scheduler(t: TestContext, jobs: JobSpec[]): { scheduler: Scheduler; runs: JobRunsTable; ops: OpsDatabase; logFile: string } {
  const dir = tempDir(t);
  const logFile = join(dir, 'scheduler.log');
  const log = createLogger({ name: 'test', destination: logFile });
  const ops = new OpsDatabase(join(dir, 'ops.db'), log);
  const runs = new JobRunsTable(ops);
  const s = new Scheduler({ jobs, timezone: undefined, runs, log });
  t.after(async () => {
    await s.close();
    ops.close();
  });
  return { scheduler: s, runs, ops, logFile };
}

/** A promise and its resolver, for a job the test releases. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

// Never fires during a test: the schedule is not what these tests drive.
const NEVER = '0 0 1 1 *';

describe('the scheduler (unit)', () => {
  test('a job that throws is recorded failed with its error, and the scheduler runs it again', T, async (t) => {
    let calls = 0;
    const {
      scheduler: s,
      ops,
      logFile,
    } = scheduler(t, [
      {
        name: 'weekly-report',
        pattern: NEVER,
        run: () => {
          calls++;
          if (calls === 1) throw new Error('the report folder is gone');
          return Promise.resolve('report written');
        },
      },
    ]);
    const failed = await s.run('weekly-report');
    assert.equal(failed.ok, false);
    assert.equal(failed.error, 'the report folder is gone');
    const row = ops.db.prepare('SELECT ok, error, trigger FROM job_runs').get() as { ok: number; error: string; trigger: string };
    assert.deepEqual({ ...row }, { ok: 0, error: 'the report folder is gone', trigger: 'manual' });
    const logged = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"job_run"'))
      .map((l) => JSON.parse(l) as { ok: boolean; error: string | null });
    assert.equal(logged[0]?.ok, false);
    assert.equal(logged[0]?.error, 'the report folder is gone');
    const again = await s.run('weekly-report');
    assert.equal(again.ok, true);
    assert.equal(s.list()[0]?.lastRun?.summary, 'report written');
  });

  test('a job that hangs past its time limit is aborted and recorded as timed out', T, async (t) => {
    let signal: AbortSignal | undefined;
    const { scheduler: s, runs } = scheduler(t, [
      {
        name: 'optimize-db',
        pattern: NEVER,
        timeoutMs: 300,
        // Ignores its signal on purpose: the limit ends the run anyway.
        run: (sig) => {
          signal = sig;
          return new Promise<string>(() => undefined);
        },
      },
    ]);
    const result = await s.run('optimize-db');
    assert.equal(result.ok, false);
    assert.equal(result.error, 'timed out after 300 ms');
    assert.equal(signal?.aborted, true);
    assert.equal(runs.last('optimize-db')?.ok, false);
    assert.equal(s.list()[0]?.runningSince, null, 'the job can run again');
  });

  test('running a job while it runs is refused with E_BUSY naming it, and an overlapping tick is skipped', T, async (t) => {
    const release = gate();
    const started = gate();
    const { scheduler: s } = scheduler(t, [
      {
        name: 'daily-maintenance',
        pattern: '* * * * * *',
        run: async () => {
          started.open();
          await release.promise;
          return 'done';
        },
      },
    ]);
    // The scheduler's timers do not hold the process open (unref): the guards here do.
    const skipped = withTimeout(once(s, 'skipped'), 'a skipped tick');
    s.start();
    const first = withTimeout(once(s, 'run'), 'the scheduled run');
    await withTimeout(started.promise, 'the first tick');
    await assert.rejects(s.run('daily-maintenance'), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'E_BUSY');
      assert.match(err.message, /daily-maintenance is already running/);
      return true;
    });
    const [skip] = (await skipped) as [{ name: string }];
    assert.equal(skip.name, 'daily-maintenance');
    release.open();
    const [run] = (await first) as [JobRunResult];
    assert.equal(run.trigger, 'schedule');
    assert.equal(run.ok, true);
  });

  test('a job whose scheduled time passed while the daemon was down runs once at start (catch-up)', T, async (t) => {
    const {
      scheduler: s,
      runs,
      logFile,
    } = scheduler(t, [
      { name: 'health-report', pattern: '* * * * *', run: () => Promise.resolve('healthy') },
      { name: 'rotate-logs', pattern: '* * * * *', run: () => Promise.resolve('rotated') },
    ]);
    const twoMinutesAgo = new Date(Date.now() - 120_000).toISOString();
    runs.record({
      name: 'health-report',
      trigger: 'schedule',
      startedAt: twoMinutesAgo,
      endedAt: twoMinutesAgo,
      ok: true,
      ms: 1,
      summary: 'healthy',
      error: null,
    });
    const ran = withTimeout(once(s, 'run'), 'the catch-up run');
    s.start();
    // rotate-logs never ran (a fresh install): nothing to catch up, so it is not running now.
    assert.equal(s.list().find((j) => j.name === 'rotate-logs')?.runningSince, null);
    const [run] = (await ran) as [JobRunResult];
    assert.equal(run.name, 'health-report');
    assert.equal(run.trigger, 'catch-up');
    assert.match(
      readFileSync(logFile, 'utf8'),
      /health-report missed its run at .* while the daemon was down; running it now \(catch-up\)/,
    );
  });
});

describe('schedule.timezone', () => {
  test('an unknown timezone is a config error naming the key', () => {
    assert.throws(
      () => parseConfig({ schedule: { timezone: 'Mars/Olympus' } }, 'my.json'),
      (err: unknown) => err instanceof AppError && err.code === 'E_CONFIG_INVALID' && /schedule\.timezone.*Mars\/Olympus/.test(err.message),
    );
    assert.equal(parseConfig({ schedule: { timezone: 'Europe/Berlin' } }).schedule.timezone, 'Europe/Berlin');
  });
});

describe('jobs through the daemon', () => {
  test('jobs.list shows the five jobs with their next runs', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const r = await rpc(d.socket, 'jobs.list');
    const jobs = JobsListResult.parse(r.result);
    assert.deepEqual(
      jobs.map((j) => j.name),
      ['health-report', 'rotate-logs', 'daily-maintenance', 'weekly-report', 'optimize-db'],
    );
    for (const j of jobs) assert.ok(j.nextRun !== null && Date.parse(j.nextRun) > Date.now(), `${j.name} has a next run`);
    assert.equal(jobs[0]?.schedule, '0 * * * *');
  });

  test('jobs run health-report is recorded in ops.db, logged and pushed; ctl jobs run exits 0', T, async (t) => {
    const dataDir = tempDir(t);
    const d = await startDaemon(t, dataDir);
    const sub = connect(d.socket);
    t.after(() => sub.destroy());
    const lines = new LineStream(sub);
    sub.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { topics: ['jobs'] } })}\n`);
    const subscribed = new Promise<void>((resolve) => lines.on((l) => (l.includes('"id":1') ? (resolve(), true) : false)));
    await subscribed;
    const pushed = new Promise<JobRunResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no jobs notification')), WAIT_MS);
      lines.on((l) => {
        const msg = JSON.parse(l) as { method?: string; params?: unknown };
        if (msg.method !== 'jobs') return false;
        clearTimeout(timer);
        resolve(JobRunResult.parse(msg.params));
        return true;
      });
    });

    const r = await rpc(d.socket, 'jobs.run', { name: 'health-report' });
    const run = JobRunResult.parse(r.result);
    assert.equal(run.ok, true, JSON.stringify(run));
    assert.equal(run.trigger, 'manual');
    assert.deepEqual(await pushed, run);

    const { db } = openReadOnly(join(dataDir, 'ops.db'));
    t.after(() => db.close());
    const row = db.prepare("SELECT ok, trigger FROM job_runs WHERE job = 'health-report'").get() as { ok: number; trigger: string };
    assert.deepEqual({ ...row }, { ok: 1, trigger: 'manual' });
    const log = readFileSync(join(dataDir, 'logs', 'mcp-starterd.log'), 'utf8');
    assert.ok(
      log.split('\n').some((l) => l.includes('"event":"job_run"') && l.includes('"job":"health-report"') && l.includes('"ok":true')),
      'a job_run log event',
    );

    const out = await ctl(t, ['jobs', 'run', 'health-report', '--data-dir', dataDir]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /health-report ran in/);
    const listed = await ctl(t, ['jobs', '--data-dir', dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /health-report\s+0 \* \* \* \*/);
  });
});
