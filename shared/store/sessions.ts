import type { ActiveLearner } from '../schemas/emergency.js';
import type { Db } from '../sqlite.js';

export interface OpenSession {
  id: number;
  started_at: string;
  last_activity: string;
}

export interface EndedSession extends OpenSession {
  user_id: number;
}

/** A session row daily maintenance removed. */
export interface RemovedSession extends EndedSession {
  learner: string;
  /** Null when no process ended it (the server that held it died, or it is idle past the TTL). */
  ended_at: string | null;
}

export interface RemoveIdleOptions {
  /** Rows idle since before this are removed. */
  beforeIso: string;
  /**
   * Open rows (never ended) are removed only when idle since before this, which may be earlier
   * than `beforeIso`: a learner inside the idle gap is still working.
   */
  openBeforeIso: string;
  /** Learners whose sessions stay whatever their age (active now, as the server reports them). */
  spareUserIds: readonly number[];
  spareNames: readonly string[];
}

/**
 * `user_sessions`, one row per working session of a learner: the one module with SQL for it.
 * The server opens, touches and ends sessions; an emergency stop lists the open ones.
 * Statements are prepared once, when the store is built (the server builds it once per process).
 */
export class SessionsStore {
  private readonly openStmt;
  private readonly latestOpen;
  private readonly touchStmt;
  private readonly endStmt;
  private readonly staleStmt;
  private readonly activeStmt;
  private readonly removeStmt;
  private readonly idleStmt;
  private readonly orphansStmt;

  constructor(db: Db) {
    this.orphansStmt = db.prepare('DELETE FROM user_sessions WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = user_sessions.user_id)');
    this.openStmt = db.prepare('INSERT INTO user_sessions (user_id, transport, started_at, last_activity) VALUES (?, ?, ?, ?)');
    this.latestOpen = db.prepare(
      'SELECT id, started_at, last_activity FROM user_sessions WHERE user_id = ? AND ended_at IS NULL ORDER BY last_activity DESC LIMIT 1',
    );
    this.touchStmt = db.prepare('UPDATE user_sessions SET last_activity = ? WHERE id = ?');
    this.endStmt = db.prepare('UPDATE user_sessions SET ended_at = ?, last_activity = ? WHERE id = ? AND ended_at IS NULL');
    this.staleStmt = db.prepare(
      'UPDATE user_sessions SET ended_at = last_activity WHERE ended_at IS NULL AND last_activity < ? RETURNING id, user_id, started_at, last_activity',
    );
    this.activeStmt = db.prepare(
      `SELECT u.name AS name, s.started_at AS sessionStartedAt, s.last_activity AS lastActivity
       FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.ended_at IS NULL ORDER BY s.last_activity DESC LIMIT ?`,
    );
    // Timestamps are one ISO-8601 UTC format, so text comparison is time order (DESIGN.md, Data).
    this.removeStmt = db.prepare(`
      DELETE FROM user_sessions
      WHERE last_activity < @before AND (ended_at IS NOT NULL OR last_activity < @openBefore)
        AND user_id NOT IN (SELECT value FROM json_each(@ids))
        AND user_id NOT IN (SELECT id FROM users WHERE name IN (SELECT value FROM json_each(@names)))
      RETURNING id, user_id, (SELECT name FROM users WHERE users.id = user_id) AS learner, started_at, last_activity, ended_at`);
    this.idleStmt = db.prepare('SELECT COUNT(*) FROM user_sessions WHERE last_activity < ?').pluck();
  }

  open(user: number, transport: string, atIso: string): number {
    return Number(this.openStmt.run(user, transport, atIso, atIso).lastInsertRowid);
  }

  /** The learner's most recent session that was never ended (a previous process may have left it). */
  latestOpenFor(user: number): OpenSession | undefined {
    return this.latestOpen.get(user) as OpenSession | undefined;
  }

  touch(id: number, atIso: string): void {
    this.touchStmt.run(atIso, id);
  }

  end(id: number, atIso: string): void {
    this.endStmt.run(atIso, atIso, id);
  }

  /** Ends sessions left open by a process that died, idle since before `beforeIso`. */
  endStale(beforeIso: string): EndedSession[] {
    return this.staleStmt.all(beforeIso) as EndedSession[];
  }

  /** Removes sessions whose learner no longer exists (`learners reset-sessions`); returns how many. */
  removeOrphans(): number {
    return this.orphansStmt.run().changes;
  }

  /** Removes the sessions idle past the TTL, sparing learners active now; returns what it removed. */
  removeIdle(options: RemoveIdleOptions): RemovedSession[] {
    return this.removeStmt.all({
      before: options.beforeIso,
      openBefore: options.openBeforeIso,
      ids: JSON.stringify(options.spareUserIds),
      names: JSON.stringify(options.spareNames),
    }) as RemovedSession[];
  }

  /** Sessions idle since before `beforeIso`. */
  countIdle(beforeIso: string): number {
    return this.idleStmt.get(beforeIso) as number;
  }

  /** Learners with an open session, latest activity first, at most `limit` of them. */
  activeLearners(limit: number): ActiveLearner[] {
    return this.activeStmt.all(limit) as ActiveLearner[];
  }
}
