import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ActivityTracker } from '../mcp-server/activity.js';
import { SessionsStore } from '../shared/store/sessions.js';
import { UsersStore } from '../shared/store/users.js';
import { openLearningDb } from '../shared/learning-db.js';
import { createLogger } from '../shared/logger.js';
import { tempDir } from './helpers.js';

test(
  'working sessions: started by activity, last_activity written at most once a minute, ended by the idle gap, continued across a restart',
  { timeout: 10_000 },
  (t) => {
    const dir = tempDir(t);
    const db = openLearningDb(join(dir, 'learn.db'));
    t.after(() => db.close());
    const logFile = join(dir, 'events.log');
    const log = createLogger({ name: 'test', destination: logFile });
    let nowMs = Date.parse('2026-11-25T10:00:00.000Z');
    const options = { idleMs: 30 * 60_000, writeIntervalMs: 60_000, now: () => nowMs };
    const users = new UsersStore(db);
    const ann = users.ensureLocal('ann');
    const lastActivity = (): string | null =>
      (db.prepare('SELECT last_activity AS a FROM users WHERE id = ?').get(ann.id) as { a: string | null }).a;
    const sessions = (): Array<{ started_at: string; last_activity: string; ended_at: string | null }> =>
      db.prepare('SELECT started_at, last_activity, ended_at FROM user_sessions ORDER BY id').all() as Array<{
        started_at: string;
        last_activity: string;
        ended_at: string | null;
      }>;

    const tracker = new ActivityTracker(users, new SessionsStore(db), log, options);
    tracker.touch(ann, 'http');
    assert.equal(tracker.activeLearners, 1);
    assert.equal(lastActivity(), '2026-11-25T10:00:00.000Z');
    nowMs += 30_000;
    tracker.touch(ann, 'http');
    assert.equal(lastActivity(), '2026-11-25T10:00:00.000Z', 'not written again within the minute');
    nowMs += 31_000;
    tracker.touch(ann, 'http');
    assert.equal(lastActivity(), '2026-11-25T10:01:01.000Z', 'written once the minute is over');
    assert.equal(sessions().length, 1);

    // A restart within the idle gap continues the same session.
    nowMs += 10_000;
    tracker.close();
    const restarted = new ActivityTracker(users, new SessionsStore(db), log, options);
    nowMs += 60_000;
    restarted.touch(ann, 'http');
    assert.equal(sessions().length, 1, 'the session continued');

    // The idle gap ends it; the next activity starts a new one.
    nowMs += 31 * 60_000;
    restarted.sweep();
    assert.equal(restarted.activeLearners, 0);
    assert.ok(sessions()[0]?.ended_at, 'ended');
    restarted.touch(ann, 'stdio');
    assert.equal(sessions().length, 2);
    restarted.close();
    const events = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event?: string }).event);
    assert.deepEqual(
      events.filter((e) => e === 'new_learner' || e === 'session_start' || e === 'session_end'),
      ['new_learner', 'session_start', 'session_end', 'session_start'],
    );
  },
);
