import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { backupDatabase, integrityOf } from '../shared/backup.js';
import { openLearningDb } from '../shared/learning-db.js';
import { dataPaths } from '../shared/paths.js';
import { RecoverResult, type RecoverStep } from '../shared/schemas/rpc.js';
import { ctl } from './ctl-helpers.js';
import { rpc, startDaemon, status } from './daemon-helpers.js';
import { tempDir, writeConfig } from './helpers.js';

const T = { timeout: 120_000 };

/** Overwrites a page in the middle of the file with garbage (its -wal and -shm go: the file alone is the database). */
function corrupt(file: string): void {
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  const image = readFileSync(file);
  assert.ok(image.length > 4096 * 5, 'a database of a few pages');
  image.fill(0x55, 4096 * 3, 4096 * 4);
  writeFileSync(file, image);
  assert.notEqual(integrityOf(file), 'ok');
}

const stepOf = (r: RecoverResult, step: RecoverStep['step']): RecoverStep => {
  const s = r.steps.find((x) => x.step === step);
  assert.ok(s, `step ${step}`);
  return s;
};

/** A learning database with the seeded catalogue and `learners` learners, as the server leaves it. */
function seeded(dir: string, learners: number): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = dataPaths(dir).learningDb;
  const db = openLearningDb(file);
  try {
    const tutorials = db.prepare(
      "INSERT OR IGNORE INTO tutorials (id, position, level, estimated_minutes, title, step_count, content_hash) VALUES (?, ?, 'beginner', 10, ?, 3, 'x')",
    );
    for (let i = 0; i < 60; i++) tutorials.run(`t${i}`, i, `Tutorial ${i} ${'x'.repeat(400)}`);
    const users = db.prepare('INSERT INTO users (name, created_at) VALUES (?, ?)');
    for (let i = 0; i < learners; i++) users.run(`learner${i}`, new Date().toISOString());
  } finally {
    db.close();
  }
  return file;
}

const learnerCount = (file: string): number => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('ctl recover (manual 4.2) with the daemon down', () => {
  test(
    'a damaged database: the newest good backup is offered, restored with --yes; then the command that starts minimal mode',
    T,
    async (t) => {
      const dir = tempDir(t);
      const paths = dataPaths(dir);
      const db = seeded(dir, 7);
      const good = await backupDatabase(db, paths.backupsDir, 'manual');
      assert.equal(good.integrity, 'ok');
      corrupt(db);
      const damaged = readFileSync(db);

      const offered = await ctl(t, ['--data-dir', dir, 'recover', '--json']);
      assert.equal(offered.code, 1, offered.stderr);
      const r1 = RecoverResult.parse(JSON.parse(offered.stdout));
      assert.equal(r1.offline, true);
      assert.equal(stepOf(r1, 'database').status, 'failed');
      assert.equal(stepOf(r1, 'restore').status, 'offered');
      assert.match(stepOf(r1, 'restore').summary, /the newest good backup is .*mcp-starter-manual-.*\.db/);
      assert.match(r1.next ?? '', /mcp-starterctl recover --yes/);
      assert.deepEqual(readFileSync(db), damaged, 'without --yes nothing changes');

      const done = await ctl(t, ['--data-dir', dir, 'recover', '--yes', '--json']);
      assert.equal(done.code, 0, done.stdout + done.stderr);
      const r2 = RecoverResult.parse(JSON.parse(done.stdout));
      assert.equal(stepOf(r2, 'restore').status, 'done');
      assert.match(stepOf(r2, 'restore').summary, /the damaged database is kept as .*\.replaced-/);
      assert.equal(integrityOf(db), 'ok');
      assert.equal(learnerCount(db), 7, 'the backup’s data');
      assert.equal(stepOf(r2, 'minimal').status, 'skipped');
      assert.equal(r2.next, `mcp-starterd --data-dir ${dir} --minimal`);
      const human = await ctl(t, ['--data-dir', dir, 'recover']);
      assert.match(human.stdout, /mcp-starterd is not running: the steps on files were done here\./);
      assert.match(human.stdout, /Next: mcp-starterd --data-dir .* --minimal/);
    },
  );

  test('an invalid config is reported key by key and never rewritten; no backup to restore says what to do', T, async (t) => {
    const dir = tempDir(t);
    const file = writeConfig(dir, { server: { prot: 8000 }, thresholds: { cpuPercent: 300 } });
    const before = readFileSync(file, 'utf8');
    const db = seeded(join(dir, 'data'), 1);
    corrupt(db);
    const run = await ctl(t, ['--data-dir', join(dir, 'data'), '--config', file, 'recover', '--yes', '--json']);
    assert.equal(run.code, 1);
    const r = RecoverResult.parse(JSON.parse(run.stdout));
    const config = stepOf(r, 'config');
    assert.equal(config.status, 'failed');
    assert.ok(config.details.some((d) => d.startsWith('server.prot')));
    assert.ok(config.details.some((d) => d.startsWith('thresholds.cpuPercent')));
    assert.equal(readFileSync(file, 'utf8'), before);
    const restore = stepOf(r, 'restore');
    assert.equal(restore.status, 'failed');
    assert.match(restore.summary, /no backup to restore: there are no backups/);
    assert.match(restore.fix ?? '', /\.recover/);
  });
});

describe('ctl recover with the daemon up', () => {
  test('restores through the lifecycle, recomputes progress, hands over to minimal mode, ends healthy; start leaves it', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const paths = dataPaths(dir);
    const backup = await rpc<{ file: string; integrity: string }>(d.socket, 'backup.create');
    assert.equal(backup.result?.integrity, 'ok', JSON.stringify(backup));
    const learnersBefore = learnerCount(paths.learningDb);
    assert.ok((await rpc(d.socket, 'stop', {})).result);
    corrupt(paths.learningDb);

    const run = await ctl(t, ['--data-dir', dir, 'recover', '--yes', '--recompute-progress', '--json']);
    const r = RecoverResult.parse(JSON.parse(run.stdout));
    assert.equal(run.code, 0, JSON.stringify(r.steps, null, 2) + run.stderr);
    assert.equal(r.offline, false);
    assert.deepEqual(
      r.steps.map((s) => s.step),
      ['diagnose', 'database', 'restore', 'config', 'progress', 'minimal', 'health'],
    );
    assert.equal(stepOf(r, 'restore').status, 'done');
    assert.ok(['ok', 'done'].includes(stepOf(r, 'progress').status));
    assert.equal(stepOf(r, 'minimal').status, 'done');
    assert.equal(stepOf(r, 'health').status, 'ok');
    const s = await status(d.socket);
    assert.equal(s.mode, 'minimal');
    assert.equal(s.child.state, 'running');
    assert.equal(learnerCount(paths.learningDb), learnersBefore);
    assert.match(r.next ?? '', /mcp-starterctl start/);

    const started = await ctl(t, ['--data-dir', dir, 'start', '--json']);
    assert.equal(started.code, 0, started.stderr);
    assert.equal((await status(d.socket)).mode, 'normal');
  });

  test('a healthy install: nothing to restore, minimal mode and a passing health check', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const r = RecoverResult.parse((await rpc(d.socket, 'recover', {})).result);
    assert.equal(stepOf(r, 'database').status, 'ok');
    assert.equal(stepOf(r, 'restore').status, 'skipped');
    assert.equal(stepOf(r, 'progress').status, 'skipped');
    assert.equal(r.ok, true, JSON.stringify(r.steps));
    assert.equal((await status(d.socket)).mode, 'minimal');
  });
});

describe('ctl learners reset-sessions', () => {
  test('removes sessions past the TTL and of missing learners, keeps one open within the idle gap', T, async (t) => {
    const dir = tempDir(t);
    const file = seeded(dir, 2);
    const db = new Database(file);
    const old = new Date(Date.now() - 48 * 3_600_000).toISOString();
    const now = new Date().toISOString();
    const session = db.prepare('INSERT INTO user_sessions (user_id, transport, started_at, last_activity) VALUES (?, ?, ?, ?)');
    session.run(1, 'http', old, old);
    session.run(2, 'http', now, now);
    db.pragma('foreign_keys = OFF');
    session.run(999, 'http', now, now);
    db.close();
    const run = await ctl(t, ['--data-dir', dir, 'learners', 'reset-sessions', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as { removed: number; orphansRemoved: number };
    assert.equal(r.removed, 1);
    assert.equal(r.orphansRemoved, 1);
    const after = new Database(file, { readonly: true });
    t.after(() => after.close());
    assert.deepEqual(after.prepare('SELECT user_id FROM user_sessions').all(), [{ user_id: 2 }]);
  });
});
