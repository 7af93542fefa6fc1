import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Learning } from '../mcp-server/learning.js';
import { loadCatalog } from '../mcp-server/catalog-loader.js';
import { DiskGuard } from '../mcp-server/store/disk-guard.js';
import { ProgressStore as ServerProgressStore } from '../mcp-server/store/progress.js';
import { seedTutorials } from '../mcp-server/store/tutorials.js';
import { AppError } from '../shared/errors.js';
import { LEARNING_MIGRATIONS, openLearningDb } from '../shared/learning-db.js';
import { createLogger } from '../shared/logger.js';
import { expireSessions, onLearningDb, updateTutorialStats, writeLearningReport } from '../shared/maintenance/learning.js';
import { recomputeProgress } from '../shared/maintenance/progress.js';
import { LearningReport } from '../shared/schemas/reports.js';
import { migrate, openDatabase, openReadOnly, schemaVersionOf, type Db } from '../shared/sqlite.js';
import { UsersStore } from '../shared/store/users.js';
import { tutorialAnswers } from './catalog-answers.js';
import { tempDir } from './helpers.js';
import { addLearner, facts, hoursBefore, pass, seededDb, walk } from './learning-seed.js';

const T = { timeout: 30_000 };
const NOW_MS = Date.parse('2026-11-25T02:00:00.000Z');
const NOW = new Date(NOW_MS);
const ago = (hours: number): string => hoursBefore(NOW_MS, hours);

type Row = Record<string, unknown>;
const all = (db: Db, sql: string, ...params: unknown[]): Row[] => db.prepare(sql).all(...params) as Row[];

describe('the answers migration', () => {
  test(
    'a database at schema 1 migrates to 2 and keeps its learners, progress and sessions; completion_rate takes the manual’s meaning',
    T,
    (t) => {
      const file = join(tempDir(t), 'mcp-starter.db');
      const v1 = openDatabase(file, { synchronous: 'FULL' });
      migrate(
        v1,
        LEARNING_MIGRATIONS.filter((m) => m.version === 1),
      );
      v1.exec(`
      INSERT INTO users (id, name, created_at) VALUES (1, 'ann', '2026-11-01T00:00:00.000Z'), (2, 'bob', '2026-11-02T00:00:00.000Z'),
        (3, 'cy', '2026-11-03T00:00:00.000Z');
      INSERT INTO tutorials (id, position, level, estimated_minutes, title, step_count, content_hash, completion_rate, average_time)
        VALUES ('alpha', 0, 'beginner', 5, 'Alpha', 3, 'x', 0.5, 120), ('beta', 1, 'beginner', 5, 'Beta', 2, 'y', 0, NULL);
      INSERT INTO user_progress (user_id, tutorial_id, status, current_step, started_at, completed_at, completion_time)
        VALUES (1, 'alpha', 'completed', 2, '2026-11-10T00:00:00.000Z', '2026-11-10T00:02:00.000Z', 120),
               (2, 'alpha', 'in_progress', 1, '2026-11-11T00:00:00.000Z', NULL, NULL);
      INSERT INTO user_sessions (user_id, transport, started_at, last_activity) VALUES (1, 'http', '2026-11-10T00:00:00.000Z', '2026-11-10T00:05:00.000Z');
    `);
      assert.equal(schemaVersionOf(v1), 1);
      v1.close();

      const db = openLearningDb(file);
      t.after(() => db.close());
      assert.equal(schemaVersionOf(db), 2);
      assert.equal(all(db, 'SELECT * FROM users').length, 3);
      assert.deepEqual(all(db, 'SELECT user_id, tutorial_id, status, current_step, completion_time FROM user_progress ORDER BY user_id'), [
        { user_id: 1, tutorial_id: 'alpha', status: 'completed', current_step: 2, completion_time: 120 },
        { user_id: 2, tutorial_id: 'alpha', status: 'in_progress', current_step: 1, completion_time: null },
      ]);
      assert.equal(all(db, 'SELECT * FROM user_sessions').length, 1);
      assert.deepEqual(all(db, 'SELECT * FROM user_answers'), []);
      // The stored ratio (completed / started = 0.5) becomes the manual's: 1 of 3 learners completed alpha.
      assert.deepEqual(all(db, 'SELECT id, completion_rate, average_time FROM tutorials ORDER BY position'), [
        { id: 'alpha', completion_rate: (1 / 3) * 100, average_time: 120 },
        { id: 'beta', completion_rate: 0, average_time: null },
      ]);
      db.close();
      const again = openLearningDb(file);
      assert.equal(schemaVersionOf(again), 2, 'opening it again migrates nothing');
      again.close();
    },
  );

  test('a submitted step writes its answer row with the progress change it belongs to', T, (t) => {
    const dir = tempDir(t);
    const db = openLearningDb(join(dir, 'mcp-starter.db'));
    t.after(() => db.close());
    const catalog = loadCatalog();
    seedTutorials(db, catalog);
    const log = createLogger({ name: 'test', destination: join(dir, 'test.log') });
    const guard = new DiskGuard({ db, dataDir: dir, file: join(dir, 'mcp-starter.db'), log });
    t.after(() => guard.close());
    const learning = new Learning(catalog, new ServerProgressStore(db, guard), 'en');
    const ann = new UsersStore(db).ensureLocal('ann');
    const id = 'tools';
    const { steps, file } = tutorialAnswers(id);
    learning.start(ann.id, id);
    for (const s of steps) {
      if (s.wrong !== undefined) assert.equal(learning.submit(ann.id, id, undefined, s.wrong).correct, false);
      assert.equal(learning.submit(ann.id, id, undefined, s.right).correct, true);
    }
    // A repeated submit of a done step changes nothing, so it writes no row.
    learning.submit(ann.id, id, 1, steps[0]?.right);
    const progress = all(db, 'SELECT status, started_at, completed_at, wrong_answers FROM user_progress WHERE user_id = ?', ann.id)[0];
    const rows = all(db, 'SELECT step, step_key, total_steps, asked, correct, attempt_started_at FROM user_answers ORDER BY id');
    const asked = steps.filter((s) => s.right !== undefined).length;
    assert.equal(rows.length, steps.length + asked, 'one row per step passed and one per wrong answer');
    assert.equal(progress?.['wrong_answers'], asked);
    assert.ok(rows.every((r) => r['attempt_started_at'] === progress?.['started_at'] && r['total_steps'] === file.steps.length));
    const passes = rows.filter((r) => r['correct'] === 1);
    assert.deepEqual(
      passes.map((r) => [r['step'], r['step_key'], r['asked']]),
      file.steps.map((s, i) => [i, s.id, s.question ? 1 : 0]),
    );
    const last = all(db, 'SELECT answered_at FROM user_answers WHERE correct = 1 ORDER BY id DESC LIMIT 1')[0];
    assert.equal(last?.['answered_at'], progress?.['completed_at'], 'the completing row is written with the completion');
  });
});

describe('daily maintenance steps', () => {
  test('expired sessions: idle past the TTL removed, never those of learners active now or inside the idle gap', T, (t) => {
    const { db } = seededDb(t);
    const ids = Object.fromEntries(['ann', 'bob', 'cy', 'dee', 'eve'].map((n) => [n, addLearner(db, n, ago(100))]));
    const session = db.prepare(
      'INSERT INTO user_sessions (user_id, transport, started_at, last_activity, ended_at) VALUES (?, ?, ?, ?, ?)',
    );
    const add = (name: string, lastHoursAgo: number, ended: boolean): void => {
      session.run(ids[name], 'http', ago(lastHoursAgo + 1), ago(lastHoursAgo), ended ? ago(lastHoursAgo) : null);
    };
    add('cy', 25, true); // removed
    add('cy', 23, true); // within the TTL
    add('dee', 30, false); // removed, never ended
    add('ann', 48, false); // spared: active now (by id)
    add('bob', 26, true); // spared: active now (by name, any case)
    add('eve', 1, false); // within the TTL

    const r = expireSessions(db, {
      ttlMs: 24 * 3_600_000,
      now: NOW,
      idleMs: 30 * 60_000,
      spareUserIds: [ids['ann'] ?? 0],
      spareNames: ['BOB'],
    });
    assert.equal(r.removed, 2);
    assert.equal(r.kept, 2);
    assert.equal(r.cutoff, ago(24));
    assert.deepEqual(
      r.unended.map((s) => [s.learner, s.last_activity]),
      [['dee', ago(30)]],
    );
    assert.equal(r.summary, 'Cleaned 2 expired sessions (idle over 24 h); 1 never ended; 2 sessions of learners active now kept');
    const left = (): unknown[] =>
      all(db, 'SELECT u.name, s.last_activity FROM user_sessions s JOIN users u ON u.id = s.user_id ORDER BY s.id').map((x) => [
        x['name'],
        x['last_activity'],
      ]);
    assert.deepEqual(left(), [
      ['cy', ago(23)],
      ['ann', ago(48)],
      ['bob', ago(26)],
      ['eve', ago(1)],
    ]);

    // A TTL shorter than the idle gap: an open session inside the gap is a learner still working.
    add('eve', 2, false);
    const short = expireSessions(db, { ttlMs: 3_600_000, now: NOW, idleMs: 3 * 3_600_000 });
    assert.deepEqual(
      left(),
      [
        ['eve', ago(1)],
        ['eve', ago(2)],
      ],
      'ended ones past the TTL go; open ones inside the idle gap stay',
    );
    assert.equal(short.removed, 3);
    assert.equal(short.kept, 1);
    assert.equal(
      expireSessions(db, { ttlMs: 3_600_000, now: NOW, idleMs: 3 * 3_600_000 }).summary,
      'Cleaned 0 expired sessions (idle over 1 h); 1 session of learners active now kept',
    );
  });

  test(
    'tutorial statistics: completion_rate = learners who completed ÷ all learners × 100, average_time = mean completion_time, exactly',
    T,
    (t) => {
      const { db, progress } = seededDb(t);
      const empty = updateTutorialStats(db);
      assert.deepEqual(
        empty.tutorials.map((x) => [x.id, x.completion_rate, x.average_time]),
        [
          ['alpha', 0, null],
          ['beta', 0, null],
          ['gamma', 0, null],
        ],
        'no learners: 0, not a division by zero',
      );
      const [ann, bob, cy] = ['ann', 'bob', 'cy'].map((n) => addLearner(db, n, ago(100))) as [number, number, number];
      walk(progress, ann, 'alpha', ago(10), [ago(9.9), ago(9.8), ago(9)]);
      walk(progress, bob, 'alpha', ago(8), [ago(7), ago(6.5), ago(5.25)]);
      progress.start(cy, 'alpha', ago(4));
      walk(progress, cy, 'gamma', ago(3), [ago(2.5)]);
      progress.start(ann, 'beta', ago(1));
      db.prepare('UPDATE tutorials SET completion_rate = 0.5').run(); // the old ratio, stale

      const r = updateTutorialStats(db);
      const times = all(db, "SELECT completion_time AS s FROM user_progress WHERE tutorial_id = 'alpha' AND status = 'completed'").map(
        (x) => x['s'] as number,
      );
      assert.equal(times.length, 2);
      assert.deepEqual(
        r.tutorials.map((x) => [x.id, x.completion_rate, x.average_time]),
        [
          ['alpha', (2 / 3) * 100, (times[0]! + times[1]!) / 2],
          ['beta', 0, null],
          ['gamma', (1 / 3) * 100, all(db, "SELECT completion_time AS s FROM user_progress WHERE tutorial_id = 'gamma'")[0]?.['s']],
        ],
      );
      assert.ok(Math.abs((times[0]! + times[1]!) / 2 - (3_600 + 9_900) / 2) < 0.01, 'completion_time is seconds from start to completion');
      assert.deepEqual(all(db, 'SELECT id, completion_rate FROM tutorials ORDER BY position'), [
        { id: 'alpha', completion_rate: (2 / 3) * 100 },
        { id: 'beta', completion_rate: 0 },
        { id: 'gamma', completion_rate: (1 / 3) * 100 },
      ]);
      assert.equal(r.learners, 3);
      assert.equal(r.summary, 'Tutorial statistics updated: 3 tutorials, 3 learners; completion_rate 0–66.7 %');
    },
  );

  test('recomputing progress rebuilds statuses from the answer rows and leaves resets and older progress as they are', T, (t) => {
    const { db, progress } = seededDb(t);
    const [ann, bob, cy, dee, eve] = ['ann', 'bob', 'cy', 'dee', 'eve'].map((n) => addLearner(db, n, ago(100))) as [
      number,
      number,
      number,
      number,
      number,
    ];
    progress.start(ann, 'alpha', ago(10));
    progress.recordWrongAnswer(ann, 'alpha', facts('alpha', 0), ago(9.9));
    walk(progress, ann, 'alpha', ago(10), [ago(9.8), ago(9.5), ago(9)]);
    progress.start(bob, 'alpha', ago(8));
    pass(progress, bob, 'alpha', 0, ago(7));
    pass(progress, bob, 'alpha', 1, ago(6));
    progress.recordWrongAnswer(bob, 'alpha', facts('alpha', 2), ago(5));
    walk(progress, cy, 'beta', ago(8), [ago(7.5)]);
    progress.reset(cy, 'beta', ago(7));
    progress.start(cy, 'beta', ago(6));
    progress.recordWrongAnswer(cy, 'beta', facts('beta', 0), ago(5.5));
    walk(progress, eve, 'gamma', ago(4), [ago(3)]);
    progress.reset(eve, 'gamma', ago(2));
    // Progress from before answers were recorded: no rows to rebuild it from.
    db.prepare(
      "INSERT INTO user_progress (user_id, tutorial_id, status, current_step, started_at) VALUES (?, 'beta', 'in_progress', 1, ?)",
    ).run(dee, ago(50));
    const columns = 'user_id, tutorial_id, status, current_step, wrong_answers, started_at, completed_at, completion_time';
    const snapshot = (): Row[] => all(db, `SELECT ${columns} FROM user_progress ORDER BY user_id, tutorial_id`);
    const truth = snapshot();
    assert.equal(recomputeProgress(db, { now: NOW }).changed.length, 0, 'consistent data: nothing to change');

    db.prepare(
      "UPDATE user_progress SET status = 'in_progress', current_step = 0, completed_at = NULL, completion_time = NULL WHERE user_id = ?",
    ).run(ann);
    db.prepare("DELETE FROM user_progress WHERE user_id = ? AND tutorial_id = 'alpha'").run(bob);
    db.prepare("UPDATE user_progress SET wrong_answers = 0, current_step = 1 WHERE user_id = ? AND tutorial_id = 'beta'").run(cy);
    db.prepare('UPDATE tutorials SET completion_rate = 0, average_time = NULL').run();

    const r = recomputeProgress(db, { now: NOW });
    assert.deepEqual(snapshot(), truth, 'every row as the server wrote it');
    assert.deepEqual(
      r.changed.map((c) => [c.learner, c.tutorialId, c.before?.status ?? null, c.after.status, c.after.current_step]),
      [
        ['ann', 'alpha', 'in_progress', 'completed', 2],
        ['cy', 'beta', 'in_progress', 'in_progress', 0],
        ['bob', 'alpha', null, 'in_progress', 2],
      ],
    );
    assert.equal(r.checked, 4);
    assert.equal(r.fromAnswers, 3);
    assert.equal(
      r.summary,
      'Progress recomputed from the answers: 4 progress rows checked, 3 with answers, 2 corrected, 1 restored; statistics of 3 tutorials updated',
    );
    assert.deepEqual(all(db, 'SELECT id, completion_rate FROM tutorials ORDER BY position'), [
      { id: 'alpha', completion_rate: (1 / 5) * 100 },
      { id: 'beta', completion_rate: 0 },
      { id: 'gamma', completion_rate: 0 },
    ]);
    assert.equal(recomputeProgress(db, { now: NOW }).changed.length, 0, 'a second run changes nothing');
  });

  test('a failing step says what it could not do and changes nothing; the steps after it still work', T, (t) => {
    const { db, dir, file, progress } = seededDb(t);
    const ann = addLearner(db, 'ann', ago(100));
    walk(progress, ann, 'gamma', ago(3), [ago(2)]);
    db.prepare("INSERT INTO user_sessions (user_id, transport, started_at, last_activity, ended_at) VALUES (?, 'http', ?, ?, ?)").run(
      ann,
      ago(50),
      ago(49),
      ago(49),
    );
    const sessions = (): number => all(db, 'SELECT * FROM user_sessions').length;

    // A database this process may only read: the session step fails whole, with the cause.
    const readOnly = openReadOnly(file).db;
    t.after(() => readOnly.close());
    assert.throws(
      () => expireSessions(readOnly, { ttlMs: 24 * 3_600_000, now: NOW }),
      (err: AppError) =>
        err.code === 'E_DB' &&
        /^Cannot remove expired sessions: attempt to write a readonly database \(SQLITE_READONLY\)\.$/.test(err.message),
    );
    assert.equal(sessions(), 1, 'nothing removed');
    assert.throws(
      () => updateTutorialStats(readOnly),
      (err: AppError) => err.code === 'E_DB' && /^Cannot update the tutorial statistics: /.test(err.message),
    );

    // A reports folder that is a file: the report step fails, and leaves no file behind.
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'not a folder');
    assert.throws(
      () => writeLearningReport(db, blocked, '2026-11-25', { now: NOW }),
      (err: AppError) => err.code === 'E_DATA_DIR' && err.message.startsWith(`Cannot write the learning report to ${blocked}: EEXIST`),
    );

    // The steps after a failure work on the same database.
    assert.equal(expireSessions(db, { ttlMs: 24 * 3_600_000, now: NOW }).summary, 'Cleaned 1 expired session (idle over 24 h)');
    assert.equal(sessions(), 0);
    assert.equal(
      onLearningDb(file, (own) => updateTutorialStats(own).tutorials.find((x) => x.id === 'gamma')?.completion_rate),
      100,
      'a step on its own connection, as a job opens one',
    );
    assert.throws(
      () => onLearningDb(join(dir, 'missing', 'x.db'), updateTutorialStats),
      (err: AppError) => err.code === 'E_DB',
    );
    const reportsDir = join(dir, 'reports');
    const written = writeLearningReport(db, reportsDir, '2026-11-25', { now: NOW });
    assert.equal(LearningReport.parse(JSON.parse(readFileSync(written.file, 'utf8'))).completed_tutorials, 1);
    assert.equal(
      written.summary,
      'Learning report 2026-11-25: 1 learner, 1 completed tutorials, 0 in progress, completion_rate 100 %; written to learning_report_2026-11-25.json',
    );
  });
});
