import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { REPORT_COMMANDS } from '../ctl/commands-report.js';
import type { Context } from '../ctl/command-kit.js';
import { AppError } from '../shared/errors.js';
import { writeLearningReport } from '../shared/maintenance/learning.js';
import { dataPaths } from '../shared/paths.js';
import { learningReportFor, writeLearningReportFile } from '../shared/reports/learning-file.js';
import { computeLearningReport, learningPeriod, localDate } from '../shared/reports/learning.js';
import { LearningReport, ReportLearningResult } from '../shared/schemas/reports.js';
import type { Db } from '../shared/sqlite.js';
import { rpc, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';
import { addLearner, facts, hoursBefore, pass, seededDb, type Seeded } from './learning-seed.js';

const T = { timeout: 60_000 };
const NOW_MS = Date.parse('2026-11-25T02:00:00.000Z');
const NOW = new Date(NOW_MS);
const ago = (hours: number): string => hoursBefore(NOW_MS, hours);
const HOUR = 3_600;

const completionTime = (db: Db, user: number, tutorial: string): number =>
  db.prepare('SELECT completion_time FROM user_progress WHERE user_id = ? AND tutorial_id = ?').pluck().get(user, tutorial) as number;

/**
 * Known activity around the report's period [now − 24 h, now) and the day before [now − 48 h, now − 24 h):
 * ann walks alpha across both days, bob starts it today and is stuck on a2, cy (new today) is stuck
 * on b0, dee completed gamma the day before, ann completed beta before both.
 */
function knownActivity(s: Seeded, nowMs = NOW_MS): Record<'ann' | 'bob' | 'cy' | 'dee', number> {
  const { db, progress: p } = s;
  const ago = (hours: number): string => hoursBefore(nowMs, hours);
  const ann = addLearner(db, 'ann', ago(72));
  const bob = addLearner(db, 'bob', ago(30));
  const cy = addLearner(db, 'cy', ago(2));
  const dee = addLearner(db, 'dee', ago(240));
  p.start(ann, 'beta', ago(50));
  pass(p, ann, 'beta', 0, ago(49.5));
  pass(p, ann, 'beta', 1, ago(49));
  p.start(ann, 'alpha', ago(30));
  p.recordWrongAnswer(ann, 'alpha', facts('alpha', 0), ago(29));
  pass(p, ann, 'alpha', 0, ago(28));
  pass(p, ann, 'alpha', 1, ago(27));
  pass(p, ann, 'alpha', 2, ago(20));
  p.start(dee, 'gamma', ago(40));
  pass(p, dee, 'gamma', 0, ago(39));
  p.start(bob, 'alpha', ago(10));
  p.recordWrongAnswer(bob, 'alpha', facts('alpha', 0), ago(9.5));
  pass(p, bob, 'alpha', 0, ago(9));
  pass(p, bob, 'alpha', 1, ago(8.5));
  p.recordWrongAnswer(bob, 'alpha', facts('alpha', 2), ago(7));
  p.recordWrongAnswer(bob, 'alpha', facts('alpha', 2), ago(6));
  p.start(cy, 'beta', ago(1));
  p.recordWrongAnswer(cy, 'beta', facts('beta', 0), ago(0.5));
  return { ann, bob, cy, dee };
}

function near(actual: number | null | undefined, expected: number, what: string): void {
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - expected) < 0.01, `${what}: ${actual} is not ~${expected}`);
}

describe('the learning report from known data', () => {
  test('the report file: the manual’s keys first with the manual’s formulas, then each figure beside the day before', T, (t) => {
    const s = seededDb(t);
    const { db } = s;
    const { ann, dee } = knownActivity(s);
    const reportsDir = join(s.dir, 'reports');
    const r = writeLearningReport(db, reportsDir, '2026-11-25', { now: NOW });
    assert.equal(r.file, join(reportsDir, 'learning_report_2026-11-25.json'));
    assert.equal(statSync(r.file).mode & 0o777, 0o600);
    const json = JSON.parse(readFileSync(r.file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).slice(0, 5), ['date', 'total_users', 'completed_tutorials', 'active_learners', 'completion_rate']);
    const report = LearningReport.parse(json);
    assert.deepEqual(report, r.report);

    // The manual's figures now: 3 completed rows (ann alpha, ann beta, dee gamma), 2 in progress, 4 learners.
    assert.deepEqual(
      [report.date, report.total_users, report.completed_tutorials, report.active_learners, report.completion_rate],
      ['2026-11-25', 4, 3, 2, (3 / Math.max(4, 1)) * 100],
    );
    assert.deepEqual(report.period, { from: ago(24), to: ago(0) });
    assert.equal(report.generated_at, NOW.toISOString());
    assert.deepEqual([report.new_learners, report.starts, report.completions, report.answers, report.wrong_answers], [1, 2, 1, 6, 4]);
    // The day before, as of its end: 3 learners (cy came later), 2 completed (ann's alpha came later), ann's alpha in progress.
    assert.deepEqual(report.previous, {
      date: '2026-11-24',
      total_users: 3,
      completed_tutorials: 2,
      active_learners: 1,
      completion_rate: (2 / 3) * 100,
      period: { from: ago(48), to: ago(24) },
      new_learners: 1,
      starts: 2,
      completions: 1,
      answers: 2,
      wrong_answers: 1,
    });

    const annAlpha = completionTime(db, ann, 'alpha');
    const annBeta = completionTime(db, ann, 'beta');
    const deeGamma = completionTime(db, dee, 'gamma');
    near(annAlpha, 10 * HOUR, 'ann completed alpha in 10 h');
    assert.deepEqual(report.tutorials, [
      {
        id: 'alpha',
        title: 'Alpha',
        retired: false,
        starts: 1,
        completions: 1,
        completion_rate: (1 / 4) * 100,
        average_time: annAlpha,
        previous: { starts: 1, completions: 0, completion_rate: 0, average_time: null },
      },
      {
        id: 'beta',
        title: 'Beta',
        retired: false,
        starts: 1,
        completions: 0,
        completion_rate: (1 / 4) * 100,
        average_time: annBeta,
        previous: { starts: 0, completions: 0, completion_rate: (1 / 3) * 100, average_time: annBeta },
      },
      {
        id: 'gamma',
        title: 'Gamma',
        retired: false,
        starts: 0,
        completions: 0,
        completion_rate: (1 / 4) * 100,
        average_time: deeGamma,
        previous: { starts: 1, completions: 1, completion_rate: (1 / 3) * 100, average_time: deeGamma },
      },
    ]);

    assert.deepEqual(report.stuck_steps.most_wrong_answers, [
      {
        tutorial_id: 'alpha',
        tutorial_title: 'Alpha',
        step: 3,
        step_key: 'a2',
        step_title: 'Alpha three',
        wrong_answers: 2,
        learners: 1,
        previous: { wrong_answers: 0, learners: 0 },
      },
      {
        tutorial_id: 'alpha',
        tutorial_title: 'Alpha',
        step: 1,
        step_key: 'a0',
        step_title: 'Alpha one',
        wrong_answers: 1,
        learners: 1,
        previous: { wrong_answers: 1, learners: 1 },
      },
      {
        tutorial_id: 'beta',
        tutorial_title: 'Beta',
        step: 1,
        step_key: 'b0',
        step_title: 'Beta one',
        wrong_answers: 1,
        learners: 1,
        previous: { wrong_answers: 0, learners: 0 },
      },
    ]);
    // Dwell: ann sat on a2 for 7 h (from passing a1 to passing a2); bob passed a0 an hour after starting, a1 half an hour later.
    const dwell = report.stuck_steps.longest_dwell;
    assert.deepEqual(
      dwell.map((d) => [d.step_key, d.step, d.passes, d.previous.passes]),
      [
        ['a2', 3, 1, 0],
        ['a0', 1, 1, 1],
        ['a1', 2, 1, 1],
      ],
    );
    near(dwell[0]?.average_dwell, 7 * HOUR, 'a2 dwell');
    near(dwell[0]?.longest_dwell, 7 * HOUR, 'a2 longest');
    assert.equal(dwell[0]?.previous.average_dwell, null);
    near(dwell[1]?.average_dwell, HOUR, 'a0 dwell');
    near(dwell[1]?.previous.average_dwell, 2 * HOUR, 'a0 dwell the day before (ann: 2 h from her start)');
    near(dwell[2]?.average_dwell, HOUR / 2, 'a1 dwell');
    near(dwell[2]?.previous.average_dwell, HOUR, 'a1 dwell the day before');

    assert.equal(
      r.summary,
      'Learning report 2026-11-25: 4 learners (+1 new), 3 completed tutorials, 2 in progress, completion_rate 75 %; written to learning_report_2026-11-25.json',
    );
    assert.deepEqual(readdirSync(reportsDir), ['learning_report_2026-11-25.json'], 'no temp file left behind');
  });

  test(
    'any period’s figures as of its end (for the weekly report): the day before as the report has it, today as the manual counts it',
    T,
    (t) => {
      const s = seededDb(t);
      knownActivity(s);
      const report = computeLearningReport(s.db, { date: '2026-11-25', now: NOW });
      const dayBefore = learningPeriod(s.db, { from: new Date(NOW_MS - 48 * HOUR * 1000), to: new Date(NOW_MS - 24 * HOUR * 1000) });
      const { date, ...previous } = report.previous;
      assert.equal(date, '2026-11-24');
      assert.deepEqual(
        { ...dayBefore, tutorials: undefined, most_wrong_answers: undefined, longest_dwell: undefined },
        {
          ...previous,
          tutorials: undefined,
          most_wrong_answers: undefined,
          longest_dwell: undefined,
        },
      );
      assert.deepEqual(
        dayBefore.tutorials.map((x) => [x.id, x.starts, x.completions, x.completion_rate]),
        report.tutorials.map((x) => [x.id, x.previous.starts, x.previous.completions, x.previous.completion_rate]),
      );
      assert.deepEqual(
        dayBefore.most_wrong_answers.map((x) => [x.step_key, x.wrong_answers]),
        [['a0', 1]],
      );
      const today = learningPeriod(s.db, { from: new Date(NOW_MS - 24 * HOUR * 1000), to: NOW, limit: 1 });
      assert.deepEqual(
        [today.total_users, today.completed_tutorials, today.active_learners, today.completion_rate, today.starts, today.wrong_answers],
        [
          report.total_users,
          report.completed_tutorials,
          report.active_learners,
          report.completion_rate,
          report.starts,
          report.wrong_answers,
        ],
      );
      assert.deepEqual(
        today.most_wrong_answers.map((x) => x.step_key),
        ['a2'],
      );
    },
  );

  test('an empty database reports zeros (completion_rate over max(learners, 1)), not an error', T, (t) => {
    const { db } = seededDb(t);
    const report = computeLearningReport(db, { date: '2026-11-25', now: NOW });
    assert.deepEqual(
      [report.total_users, report.completed_tutorials, report.active_learners, report.completion_rate, report.previous.completion_rate],
      [0, 0, 0, 0, 0],
    );
    assert.deepEqual(report.stuck_steps, { most_wrong_answers: [], longest_dwell: [] });
    assert.equal(report.tutorials.length, 3);
  });
});

function paths(s: Seeded): ReturnType<typeof dataPaths> {
  return { ...dataPaths(s.dir), learningDb: s.file };
}

describe('the day’s report: the file, or today computed live', () => {
  test(
    'reads the day’s file; computes today before the file exists without writing it; refuses a future day and a past day without a file',
    T,
    (t) => {
      const s = seededDb(t);
      knownActivity(s);
      const p = paths(s);
      const request = { now: NOW, timeZone: 'UTC' };

      const live = learningReportFor(p, request);
      assert.equal(live.source, 'live');
      assert.equal(live.file, null);
      assert.equal(live.date, '2026-11-25');
      assert.equal(live.completed_tutorials, 3);
      assert.equal(existsSync(p.reportsDir), false, 'nothing written');

      // The day before's file, as the job wrote it then.
      const yesterday = computeLearningReport(s.db, { date: '2026-11-24', now: new Date(NOW_MS - 24 * HOUR * 1000) });
      const file = writeLearningReportFile(p.reportsDir, yesterday);
      const read = learningReportFor(p, { ...request, date: '2026-11-24' });
      assert.deepEqual(ReportLearningResult.parse(read), { ...yesterday, source: 'file', file });

      // In Tokyo it is already the 25th at 02:00 UTC; at 23:00 UTC on the 24th it is the 25th there too, not in UTC.
      assert.equal(learningReportFor(p, { now: new Date('2026-11-24T23:00:00.000Z'), timeZone: 'Asia/Tokyo' }).date, '2026-11-25');

      const refused = (date: string): AppError => {
        try {
          learningReportFor(p, { ...request, date });
        } catch (err) {
          assert.ok(err instanceof AppError);
          return err;
        }
        assert.fail(`${date} was not refused`);
      };
      const future = refused('2026-11-26');
      assert.equal(future.code, 'E_BAD_PARAMS');
      assert.match(future.message, /2026-11-26 is after today \(2026-11-25\)/);
      const missing = refused('2026-11-20');
      assert.equal(missing.code, 'E_BAD_PARAMS');
      assert.match(missing.message, /There is no learning report for 2026-11-20 .*; reports exist for 2026-11-24\./);

      writeFileSync(join(p.reportsDir, 'learning_report_2026-11-23.json'), '{"date": "2026-11-23"}');
      const broken = refused('2026-11-23');
      assert.equal(broken.code, 'E_INTERNAL');
      assert.match(broken.message, /learning_report_2026-11-23\.json is not a report this release reads \(total_users: /);
    },
  );

  test('ctl report learning works without the daemon: today from the database, said so, a bad --date is a usage error', T, async (t) => {
    const s = seededDb(t);
    knownActivity(s, Date.now());
    const command = REPORT_COMMANDS.find((c) => c.name === 'report learning');
    assert.ok(command);
    const warnings: string[] = [];
    const ctx: Context = {
      paths: paths(s),
      socket: join(s.dir, 'no-daemon.sock'),
      configFile: undefined,
      env: {},
      timeoutOverrideMs: undefined,
      warn: (text) => warnings.push(text),
      waiting: () => () => undefined,
      json: false,
    };
    const out = await command.execute({}, ctx);
    assert.equal(out.kind, 'result');
    if (out.kind !== 'result') return;
    assert.equal(out.exit, 0);
    assert.match(warnings.join('\n'), /Acting without it/);
    const result = ReportLearningResult.parse(out.result);
    assert.equal(result.source, 'live');
    assert.equal(result.date, localDate(Date.now()));
    assert.match(
      out.human,
      /^Learning report \d{4}-\d{2}-\d{2}\ncomputed now from the learning database: daily maintenance has not written today’s file yet/,
    );
    assert.match(out.human, /learners \(total_users\) +4/);
    assert.match(out.human, /Most wrong answers:\n {2}alpha step 3 “Alpha three”: 2 wrong answers by 1 learner/);

    await assert.rejects(command.execute({ date: '2026-02-30' }, ctx), (err: AppError) => {
      assert.equal(err.code, 'E_USAGE');
      assert.match(err.message, /--date 2026-02-30 is not a day/);
      return true;
    });
  });
});

describe('report.learning over the control socket', () => {
  test('the daemon answers today’s report live, a day’s file, and refuses a bad or future date', T, async (t: TestContext) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const today = await rpc(d.socket, 'report.learning', {});
    assert.ok(today.result !== undefined, JSON.stringify(today.error));
    const live = ReportLearningResult.parse(today.result);
    assert.equal(live.source, 'live');
    assert.equal(live.date, localDate(Date.now()));
    assert.ok(live.tutorials.length > 0, 'the served catalogue');

    const p = dataPaths(dir);
    const file = writeLearningReportFile(p.reportsDir, LearningReport.parse({ ...live, date: '2026-01-02' }));
    const past = ReportLearningResult.parse((await rpc(d.socket, 'report.learning', { date: '2026-01-02' })).result);
    assert.deepEqual([past.source, past.file, past.date], ['file', file, '2026-01-02']);

    for (const date of ['2026-02-30', 'tomorrow', '9999-01-01']) {
      const bad = await rpc(d.socket, 'report.learning', { date });
      assert.equal((bad.error?.data as { code?: string } | undefined)?.code, 'E_BAD_PARAMS', `${date}: ${JSON.stringify(bad)}`);
    }
  });
});
