// Backups and restore (issue 9): online backups while learners write, restore through the
// lifecycle, refusals that change nothing, retention, and ctl with the daemon down.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { listBackups, pruneBackups } from '../shared/backup-files.js';
import { backupDatabase, integrityOf } from '../shared/backup.js';
import { openLearningDb } from '../shared/learning-db.js';
import { dataPaths } from '../shared/paths.js';
import { RESULT_SCHEMAS, type BackupInfo } from '../shared/schemas/rpc.js';
import { ctl } from './ctl-helpers.js';
import { inState, rpc, startDaemon, status, waitForStatus } from './daemon-helpers.js';
import { tempDir, v2HttpClient } from './helpers.js';
import { addLearners, LearnerWriters, missingAcks } from './learner-writers.js';

const T = { timeout: 120_000 };

/** A copy of `file` with one page in the middle overwritten with garbage: a backup that fails its check. */
function corruptCopy(file: string, to: string): string {
  const image = readFileSync(file);
  image.fill(0x55, 4096 * 3, 4096 * 4);
  writeFileSync(to, image);
  return to;
}

/** Files in the data dir a restore leaves: kept databases (their -wal and -shm beside them) and staged copies. */
function restoreLeftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => (f.includes('.replaced-') || f.includes('.restoring-')) && !/-(wal|shm)$/.test(f));
}

/** A small learning database of our schema, as the server would leave it. */
function learningDb(dir: string): string {
  const file = dataPaths(dir).learningDb;
  openLearningDb(file).close();
  return file;
}

describe('backups while learners write', () => {
  test('a backup taken while learners write holds every write acknowledged before it, and restoring it brings them back', T, async (t) => {
    const dir = tempDir(t);
    const paths = dataPaths(dir);
    const learners = addLearners(paths.learningDb, 6);
    const d = await startDaemon(t, dir);
    const url = new URL((await status(d.socket)).url);
    const writers = new LearnerWriters(t, url, learners);
    writers.start();
    await writers.acknowledged(30);
    const before = [...writers.acks];
    const backup = await rpc(d.socket, 'backup.create');
    const during = writers.acks.length - before.length;
    const created = RESULT_SCHEMAS['backup.create'].parse(backup.result);
    await writers.stop();
    t.diagnostic(`${before.length} writes acknowledged before the backup, ${during} while it ran, ${writers.acks.length} in all`);
    assert.equal(created.integrity, 'ok');
    assert.equal(created.label, 'manual');
    assert.equal(integrityOf(created.file), 'ok', 'the check was real');
    assert.deepEqual(missingAcks(created.file, before), [], 'every write acknowledged before the backup is in it');
    assert.deepEqual(missingAcks(paths.learningDb, writers.acks), [], 'and every write at all is in the live database');

    const pidBefore = (await status(d.socket)).child.pid;
    const restore = await rpc(d.socket, 'backup.restore', { file: basename(created.file) }, 60_000);
    const restored = RESULT_SCHEMAS['backup.restore'].parse(restore.result);
    assert.equal(restored.restored.file, created.file);
    assert.equal(restored.health?.status, 'healthy', JSON.stringify(restored));
    assert.equal(restored.hint, null);
    assert.equal(restored.child?.state, 'running');
    assert.notEqual(restored.child?.pid, pidBefore, 'the server was restarted on the restored database');
    assert.deepEqual(missingAcks(paths.learningDb, before), [], 'the restored database holds every write acknowledged before the backup');
    assert.ok(restored.keptAs !== null && restored.keptAs.startsWith(`${paths.learningDb}.replaced-`));
    assert.deepEqual(missingAcks(restored.keptAs, writers.acks), [], 'the replaced database is kept whole');
    assert.deepEqual(restoreLeftovers(dir), [basename(restored.keptAs)], 'no staged copy is left');

    const first = learners[0];
    assert.ok(first);
    const client = await v2HttpClient(t, url, first.token);
    const progress = (await client.callTool({ name: 'get_progress', arguments: {} })) as { isError?: boolean };
    assert.notEqual(progress.isError, true, 'learners are served from the restored database');
  });
});

describe('restore refusals change nothing', () => {
  test('a corrupted backup, a file that is no database, a missing file and the live database are refused', T, async (t) => {
    const dir = tempDir(t);
    const paths = dataPaths(dir);
    const d = await startDaemon(t, dir);
    const created = RESULT_SCHEMAS['backup.create'].parse((await rpc(d.socket, 'backup.create')).result);
    const before = await status(d.socket);
    const inode = statSync(paths.learningDb).ino;

    const bad = corruptCopy(created.file, join(dir, 'corrupted.db'));
    const corrupted = await rpc(d.socket, 'backup.restore', { file: bad });
    assert.equal(corrupted.error?.data?.code, 'E_DB');
    assert.match(corrupted.error?.message ?? '', /fails its integrity check.*Nothing was changed/);
    assert.match(corrupted.error?.data?.hint ?? '', /mcp-starterctl backups/);

    writeFileSync(join(dir, 'notes.db'), 'not a database at all\n'.repeat(100));
    const text = await rpc(d.socket, 'backup.restore', { file: join(dir, 'notes.db') });
    assert.equal(text.error?.data?.code, 'E_DB');
    assert.match(text.error?.message ?? '', /not an SQLite database/);

    const missing = await rpc(d.socket, 'backup.restore', { file: join(dir, 'no-such.db') });
    assert.equal(missing.error?.data?.code, 'E_BAD_PARAMS');
    const live = await rpc(d.socket, 'backup.restore', { file: paths.learningDb });
    assert.match(live.error?.message ?? '', /live learning database/);
    const relative = await rpc(d.socket, 'backup.restore', { file: 'backups/x.db' });
    assert.equal(relative.error?.data?.code, 'E_BAD_PARAMS');

    const after = await status(d.socket);
    assert.equal(after.child.state, 'running');
    assert.equal(after.child.pid, before.child.pid, 'the server was not stopped');
    assert.equal(after.child.restarts, 0);
    assert.equal(statSync(paths.learningDb).ino, inode, 'the database file is the same file');
    assert.deepEqual(restoreLeftovers(dir), []);
    assert.equal(integrityOf(paths.learningDb), 'ok');
  });

  test('an operator’s stop during a restore gets E_BUSY, and a restore during a reload changes nothing', T, async (t) => {
    const dir = tempDir(t);
    const paths = dataPaths(dir);
    const d = await startDaemon(t, dir);
    const created = RESULT_SCHEMAS['backup.create'].parse((await rpc(d.socket, 'backup.create')).result);

    const restoring = rpc(d.socket, 'backup.restore', { file: created.file }, 60_000);
    await waitForStatus(d.socket, (s) => s.operation?.name === 'restore');
    const stop = await rpc(d.socket, 'stop', {});
    assert.equal(stop.error?.data?.code, 'E_BUSY');
    assert.match(stop.error?.message ?? '', /Cannot stop the server now: a restore of a backup is in progress/);
    const done = RESULT_SCHEMAS['backup.restore'].parse((await restoring).result);
    assert.equal(done.health?.status, 'healthy');

    const pid = (await status(d.socket)).child.pid;
    const inode = statSync(paths.learningDb).ino;
    const reload = rpc(d.socket, 'config.reload');
    await waitForStatus(d.socket, inState('reloading'));
    const refused = await rpc(d.socket, 'backup.restore', { file: created.file }, 60_000);
    assert.ok((await reload).result);
    if (refused.error) {
      assert.equal(refused.error.data?.code, 'E_BUSY');
      assert.match(refused.error.message, /reload/);
      assert.equal(statSync(paths.learningDb).ino, inode, 'the database was not replaced');
      assert.equal(restoreLeftovers(dir).length, 1, 'only the first restore’s kept file');
    } else {
      // The reload finished while the backup was being checked: the restore then ran, whole.
      t.diagnostic('the reload ended before the restore reached the lifecycle');
      assert.notEqual((await status(d.socket)).child.pid, pid);
    }
  });
});

describe('retention and the backups list', () => {
  /** Six backups, oldest first, of a small learning database. */
  async function sixBackups(dir: string): Promise<{ backupsDir: string; made: BackupInfo[] }> {
    const db = learningDb(dir);
    const backupsDir = join(dir, 'backups');
    const made: BackupInfo[] = [];
    for (const label of ['daily', 'manual', 'emergency', 'daily', 'daily', 'manual'])
      made.push(await backupDatabase(db, backupsDir, label));
    return { backupsDir, made };
  }

  /** Rewrites a backup's record as if its check had failed. */
  function markFailed(b: BackupInfo): void {
    const record = JSON.parse(readFileSync(`${b.file}.json`, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      `${b.file}.json`,
      JSON.stringify({ ...record, integrity: '*** in database main *** Page 3: btreeInitPage() returns error code 11' }),
    );
  }

  test('backups.keep keeps the newest backups of every kind, and never deletes the newest good one', T, async (t) => {
    const dir = tempDir(t);
    const { backupsDir, made } = await sixBackups(dir);
    const [b1, b2, b3, b4, b5, b6] = made;
    assert.ok(b1 && b2 && b3 && b4 && b5 && b6);
    writeFileSync(join(backupsDir, 'my-own-copy.db'), 'the operator’s file');
    markFailed(b5);
    markFailed(b6);

    assert.deepEqual(pruneBackups(backupsDir, 2).sort(), [b1.file, b2.file, b3.file].sort(), 'the newest good one (b4) stays past keep');
    assert.deepEqual(
      listBackups(backupsDir).map((b) => b.file),
      [b6.file, b5.file, b4.file],
    );
    assert.ok(readdirSync(backupsDir).includes('my-own-copy.db'), 'a file not named like our backups is never touched');
    assert.ok(!readdirSync(backupsDir).includes(`${basename(b1.file)}.json`), 'a deleted backup’s record goes with it');
    assert.deepEqual(pruneBackups(backupsDir, 2), [], 'pruning again deletes nothing');
    assert.deepEqual(pruneBackups(backupsDir, 1).sort(), [b5.file]);
  });

  test('the list shows each backup’s recorded check, and "unchecked" without a record that fits', T, async (t) => {
    const dir = tempDir(t);
    const { backupsDir, made } = await sixBackups(dir);
    const [b1, b2, b3] = made;
    assert.ok(b1 && b2 && b3);
    writeFileSync(`${b1.file}.json`, 'not json');
    writeFileSync(
      `${b2.file}.json`,
      JSON.stringify({ format: 1, bytes: b2.bytes + 1, at: b2.at, label: 'manual', integrity: 'ok', checkedAt: b2.at, schemaVersion: 2 }),
    );
    const list = listBackups(backupsDir);
    assert.equal(list.length, 6);
    assert.deepEqual(
      list.map((b) => b.label),
      ['manual', 'daily', 'daily', 'emergency', 'manual', 'daily'],
      'newest first, labels from the names',
    );
    const byFile = new Map(list.map((b) => [b.file, b]));
    assert.equal(byFile.get(b1.file)?.integrity, 'unchecked', 'a record that does not parse');
    assert.equal(byFile.get(b2.file)?.integrity, 'unchecked', 'a record for another size');
    assert.equal(byFile.get(b3.file)?.integrity, 'ok');
    assert.equal(byFile.get(b3.file)?.at, b3.at);
    assert.ok(
      list.every((b) => statSync(b.file).mode % 0o1000 === 0o600),
      'backups are private',
    );
  });
});

describe('ctl with the daemon down', () => {
  test(
    'backup, backups, db check and restore work on the data dir; restore refuses while another process has the database open',
    T,
    async (t) => {
      const dir = tempDir(t);
      const file = learningDb(dir);
      const args = (...a: string[]): string[] => ['--data-dir', dir, ...a, '--json'];

      const backup = await ctl(t, args('backup'));
      assert.equal(backup.code, 0, backup.stderr);
      assert.match(backup.stderr, /not running.*Acting without it/);
      const created = RESULT_SCHEMAS['backup.create'].parse(JSON.parse(backup.stdout));
      assert.equal(created.offline, true);
      assert.equal(created.integrity, 'ok');

      const list = await ctl(t, args('backups'));
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(
        RESULT_SCHEMAS['backup.list'].parse(JSON.parse(list.stdout)).map((b) => b.file),
        [created.file],
      );

      const check = await ctl(t, args('db', 'check'));
      assert.equal(check.code, 0, check.stderr);
      const checked = RESULT_SCHEMAS['db.check'].parse(JSON.parse(check.stdout));
      assert.equal(checked.ok, true);
      assert.equal(checked.offline, true);

      const holder = new Database(file, { readonly: true });
      holder.prepare('SELECT COUNT(*) FROM users').get();
      const busy = await ctl(t, args('restore', created.file));
      holder.close();
      assert.equal(busy.code, 1);
      assert.equal((JSON.parse(busy.stdout) as { error: { code: string } }).error.code, 'E_BUSY');
      assert.match(busy.stdout, new RegExp(`open in another process: ${process.pid}`));
      assert.deepEqual(restoreLeftovers(dir), [], 'a refused restore changes nothing');

      const bad = await ctl(t, args('restore', corruptCopy(created.file, join(dir, 'bad.db'))));
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /fails its integrity check/);

      const restore = await ctl(t, args('restore', basename(created.file)));
      assert.equal(restore.code, 0, restore.stdout + restore.stderr);
      const restored = JSON.parse(restore.stdout) as { offline: boolean; keptAs: string; child: null };
      assert.equal(restored.offline, true);
      assert.equal(restored.child, null);
      assert.deepEqual(restoreLeftovers(dir), [basename(restored.keptAs)]);
      assert.equal(integrityOf(file), 'ok');

      const human = await ctl(t, ['--data-dir', dir, 'backups']);
      assert.equal(human.code, 0);
      assert.match(human.stdout, /mcp-starter-manual-\d{8}T\d{9}Z\.db\s+manual\s+.*ok/);
      assert.match(human.stdout, /newest good backup: mcp-starter-manual-/);
    },
  );

  test('a backup of a data dir without a database fails with what to do', T, async (t) => {
    const dir = tempDir(t);
    const run = await ctl(t, ['--data-dir', dir, 'backup', '--json']);
    assert.equal(run.code, 1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; hint: string } };
    assert.equal(error.code, 'E_DB');
    assert.match(error.hint, /no learning database yet/);
    const backups = join(dir, 'backups');
    assert.ok(!existsSync(backups) || readdirSync(backups).length === 0, 'no partial file is left');
  });
});
