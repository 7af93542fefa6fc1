// db check, db optimize and ops.db retention (issue 9), and the jobs that run them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { OpsDatabase } from '../daemon/ops/database.js';
import { JobRunsTable } from '../daemon/ops/job-runs.js';
import { pruneOps } from '../daemon/ops/retention.js';
import { dailyMaintenance } from '../daemon/jobs/daily-maintenance.js';
import { parseConfig } from '../shared/config.js';
import { checkDatabase, LEARNING_SCHEMA_VERSION } from '../shared/db-check.js';
import { optimizeDatabase } from '../shared/db-optimize.js';
import { openLearningDb } from '../shared/learning-db.js';
import { createLogger } from '../shared/logger.js';
import { dataPaths } from '../shared/paths.js';
import { RESULT_SCHEMAS, type BackupCreateResult, type DbOptimizeResult } from '../shared/schemas/rpc.js';
import { rpc, startDaemon, status } from './daemon-helpers.js';
import { tempDir } from './helpers.js';
import { addLearners, LearnerWriters, missingAcks } from './learner-writers.js';

const T = { timeout: 120_000 };
const DAY_MS = 24 * 3_600_000;

/** Adds `rows` learners with 1 KiB names and deletes them again: about `rows` KiB of free pages for VACUUM. */
function freePages(file: string, rows: number): void {
  const db = openLearningDb(file);
  try {
    const insert = db.prepare('INSERT INTO users (name) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(`junk-${i}-${'x'.repeat(1024)}`);
    })();
    db.prepare("DELETE FROM users WHERE name LIKE 'junk-%'").run();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

describe('db optimize while learners write', () => {
  test('an optimize that vacuums while learners write loses no acknowledged write', T, async (t) => {
    const dir = tempDir(t);
    const paths = dataPaths(dir);
    const learners = addLearners(paths.learningDb, 6);
    freePages(paths.learningDb, 3000);
    const d = await startDaemon(t, dir);
    const writers = new LearnerWriters(t, new URL((await status(d.socket)).url), learners);
    writers.start();
    await writers.acknowledged(20);
    const before = writers.acks.length;
    const answer = await rpc(d.socket, 'db.optimize', undefined, 60_000);
    const during = writers.acks.length - before;
    await writers.stop();
    const result = RESULT_SCHEMAS['db.optimize'].parse(answer.result);
    t.diagnostic(
      `${during} writes acknowledged while it ran, ${writers.acks.length} in all, ${writers.refused.length} refused; ` +
        `longest lock ${result.writers.longestLockMs} ms, probe ${result.writers.probeWrites} writes, longest ${result.writers.probeLongestWaitMs} ms`,
    );
    const vacuum = result.learning.steps.find((s) => s.name === 'vacuum');
    assert.equal(vacuum?.ran, true, `VACUUM ran beside the learners: ${vacuum?.detail ?? ''}`);
    assert.ok(result.learning.after.dbBytes < result.learning.before.dbBytes, 'the free pages were returned');
    assert.deepEqual(
      result.learning.steps.map((s) => s.name),
      ['reindex', 'vacuum', 'analyze', 'pragma optimize', 'checkpoint'],
    );
    assert.deepEqual(
      result.ops.steps.map((s) => s.name),
      ['prune', 'vacuum', 'checkpoint'],
    );
    assert.ok(result.writers.probeWrites > 0, 'the probe writer wrote');
    assert.deepEqual(missingAcks(paths.learningDb, writers.acks), [], 'every acknowledged write is still there');
    const check = RESULT_SCHEMAS['db.check'].parse((await rpc(d.socket, 'db.check')).result);
    assert.equal(check.ok, true, JSON.stringify(check.problems));
    assert.equal(check.offline, false);
  });

  test('a second optimize while one runs is refused with E_BUSY', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const [first, second] = await Promise.all([
      rpc(d.socket, 'db.optimize', undefined, 60_000),
      rpc(d.socket, 'db.optimize', undefined, 60_000),
    ]);
    const refused = [first, second].filter((r) => r.error !== undefined);
    assert.equal(refused.length, 1, JSON.stringify([first, second]));
    assert.equal(refused[0]?.error?.data?.code, 'E_BUSY');
    assert.match(refused[0]?.error?.message ?? '', /db optimize is in progress/);
  });
});

describe('db check (unit)', () => {
  test('a sound database passes; a missing parent row, a newer schema and a damaged page are problems with what to do', T, (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'learning.db');
    const db = openLearningDb(file);
    db.close();
    const sound = checkDatabase(file);
    assert.equal(sound.ok, true, JSON.stringify(sound));
    assert.deepEqual(sound.schema, { version: LEARNING_SCHEMA_VERSION, expected: LEARNING_SCHEMA_VERSION });
    assert.equal(sound.integrity, 'ok');

    const broken = openLearningDb(file);
    broken.pragma('foreign_keys = OFF');
    broken.prepare("INSERT INTO user_sessions (user_id, transport, started_at, last_activity) VALUES (4242, 'http', 'x', 'x')").run();
    broken.prepare("INSERT INTO schema_version (version, name) VALUES (?, 'from the future')").run(LEARNING_SCHEMA_VERSION + 1);
    broken.close();
    const found = checkDatabase(file);
    assert.equal(found.ok, false);
    assert.equal(found.foreignKeys.violations, 1);
    assert.deepEqual(found.foreignKeys.sample[0], { table: 'user_sessions', rowid: 1, parent: 'users' });
    assert.equal(found.schema.version, LEARNING_SCHEMA_VERSION + 1);
    assert.equal(found.problems.length, 2);
    assert.match(found.problems[1]?.what ?? '', /newer than this release/);

    const damaged = join(dir, 'damaged.db');
    const image = Buffer.alloc(4096 * 8, 0x55);
    Buffer.from('SQLite format 3\0', 'latin1').copy(image);
    writeFileSync(damaged, image);
    const bad = checkDatabase(damaged);
    assert.equal(bad.ok, false);
    assert.notEqual(bad.integrity, 'ok');
    assert.match(bad.problems[0]?.hint ?? '', /restore the newest good backup/);

    assert.throws(() => checkDatabase(join(dir, 'none.db')), /no learning database/);
  });
});

describe('db optimize (unit)', () => {
  test('VACUUM runs only when free pages justify it, and a large one waits while learners are active', T, (t) => {
    const file = join(tempDir(t), 'learning.db');
    openLearningDb(file).close();
    const plain = optimizeDatabase(file, { learnersActive: 0, full: true });
    assert.match(plain.steps.find((s) => s.name === 'vacuum')?.detail ?? '', /^not needed/);
    assert.equal(plain.steps.find((s) => s.name === 'vacuum')?.ran, false);

    freePages(file, 2000);
    const busy = optimizeDatabase(file, { learnersActive: 3, full: true, rebuildOnlineMaxBytes: 16 * 1024 });
    const postponed = busy.steps.find((s) => s.name === 'vacuum');
    assert.equal(postponed?.ran, false);
    assert.match(postponed?.detail ?? '', /^postponed: 3 learners are active and a VACUUM of .* MiB would hold their writes too long/);
    assert.match(
      busy.steps.find((s) => s.name === 'reindex')?.detail ?? '',
      /^postponed: 3 learners are active and rebuilding the indexes/,
    );
    assert.equal(busy.after.freeBytes, busy.before.freeBytes);

    const quiet = optimizeDatabase(file, { learnersActive: 0, full: true });
    assert.equal(quiet.steps.find((s) => s.name === 'vacuum')?.ran, true);
    assert.equal(quiet.after.freeBytes, 0);
    assert.ok(quiet.after.dbBytes < quiet.before.dbBytes);
    for (const s of quiet.steps) assert.ok(s.lockMs <= s.ms + 0.1, `${s.name}: a lock is held within its step`);
  });
});

describe('ops.db retention (unit)', () => {
  test('rows past the retention go through their owners; each job keeps its latest run and availability its 7 days', T, (t) => {
    const dir = tempDir(t);
    const ops = new OpsDatabase(join(dir, 'ops.db'), createLogger({ name: 'test', level: 'silent' }));
    t.after(() => ops.close());
    const now = Date.parse('2026-11-25T12:00:00.000Z');
    const iso = (daysAgo: number): string => new Date(now - daysAgo * DAY_MS).toISOString();
    const runs = new JobRunsTable(ops);
    for (const [job, daysAgo] of [
      ['weekly-report', 30],
      ['daily-maintenance', 30],
      ['daily-maintenance', 1],
    ] as const) {
      runs.record({
        name: job,
        trigger: 'schedule',
        startedAt: iso(daysAgo),
        endedAt: iso(daysAgo),
        ok: true,
        ms: 5,
        summary: 'done',
        error: null,
      });
    }
    const db = ops.db;
    for (const daysAgo of [30, 1, 0]) db.prepare("INSERT INTO probes (at, kind, ok, ms) VALUES (?, 'liveness', 1, 3)").run(iso(daysAgo));
    db.prepare("INSERT INTO alerts (rule, raised_at, cleared_at, message, hint) VALUES ('cpu', ?, ?, 'm', 'h')").run(iso(31), iso(30));
    db.prepare("INSERT INTO alerts (rule, raised_at, message, hint) VALUES ('disk', ?, 'm', 'h')").run(iso(30));
    for (const daysAgo of [30, 9, 6]) {
      db.prepare("INSERT INTO availability (start, end, condition, reason) VALUES (?, ?, 'up', 'r')").run(iso(daysAgo + 1), iso(daysAgo));
    }
    const metrics = parseConfig({ metrics: { retentionDays: 1, hourlyRetentionDays: 2 } }).metrics;
    const pruned = pruneOps(ops, metrics, now);
    assert.equal(pruned['probes'], 1);
    assert.equal(pruned['alerts'], 1, 'only the resolved alert');
    assert.equal(pruned['job_runs'], 1, 'the weekly report’s only run stays');
    assert.equal(pruned['availability'], 2, 'the 6-day-old interval is in the 7-day window');
    assert.equal(runs.last('weekly-report')?.at, iso(30));
    assert.deepEqual(pruneOps(ops, metrics, now), { ...pruned, probes: 0, alerts: 0, job_runs: 0, availability: 0 });
  });
});

describe('the maintenance jobs', () => {
  const backup = (): Promise<BackupCreateResult> =>
    Promise.resolve({
      file: '/x/b.db',
      bytes: 4096,
      at: '2026-11-25T02:00:00.000Z',
      integrity: 'ok',
      ms: 5,
      pruned: [],
      keep: 14,
      offline: false,
    });

  test('daily-maintenance runs every step; a failing step fails the run naming it, and the others still run', T, async () => {
    let optimized = 0;
    const optimize = (): Promise<DbOptimizeResult> => {
      optimized++;
      return Promise.reject(new Error('disk I/O error'));
    };
    let reported = 0;
    const learning = {
      expire: { name: 'expire-sessions', run: () => Promise.resolve('2 sessions removed') },
      stats: { name: 'tutorial-stats', run: () => Promise.reject(new Error('database is locked')) },
      report: {
        name: 'learning-report',
        run: () => {
          reported++;
          return Promise.resolve('wrote learning_report_2026-11-25.json');
        },
      },
    };
    const failing = dailyMaintenance({
      backup: () => Promise.reject(new Error('the backup failed its integrity check')),
      optimize,
      learning,
    });
    await assert.rejects(failing(new AbortController().signal), (err: Error) => {
      assert.match(
        err.message,
        /^3 of 5 steps failed: tutorial-stats \(database is locked\); backup \(the backup failed its integrity check\); optimize \(disk I\/O error\)/,
      );
      return true;
    });
    assert.equal(optimized, 1, 'a failed backup does not stop the optimisation');
    assert.equal(reported, 1, 'nor the learning report, the last step');
    await assert.rejects(dailyMaintenance({ backup, optimize, learning })(new AbortController().signal), (err: Error) => {
      assert.match(
        err.message,
        /^2 of 5 steps failed: tutorial-stats \(database is locked\); optimize \(disk I\/O error\)\. All steps: expire-sessions: 2 sessions removed; tutorial-stats: FAILED \(database is locked\); backup: b\.db \(0\.0 MiB, integrity ok\)/,
      );
      return true;
    });
  });

  test('daily-maintenance and optimize-db back up and optimise through the daemon', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const daily = RESULT_SCHEMAS['jobs.run'].parse((await rpc(d.socket, 'jobs.run', { name: 'daily-maintenance' }, 60_000)).result);
    assert.equal(daily.ok, true, daily.error ?? '');
    assert.match(
      daily.summary,
      /^expire-sessions: .*; tutorial-stats: .*; backup: mcp-starter-daily-\d{8}T\d{9}Z\.db \(.* integrity ok\) .*; optimize: learning db .* → .*; learning-report: /,
    );
    const list = RESULT_SCHEMAS['backup.list'].parse((await rpc(d.socket, 'backup.list')).result);
    assert.deepEqual(
      list.map((b) => [b.label, b.integrity]),
      [['daily', 'ok']],
    );
    const optimize = RESULT_SCHEMAS['jobs.run'].parse((await rpc(d.socket, 'jobs.run', { name: 'optimize-db' }, 60_000)).result);
    assert.equal(optimize.ok, true, optimize.error ?? '');
    assert.match(optimize.summary, /writers held at most \d+ ms/);
  });
});
