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

  constructor(db: Db) {
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

  /** Learners with an open session, latest activity first, at most `limit` of them. */
  activeLearners(limit: number): ActiveLearner[] {
    return this.activeStmt.all(limit) as ActiveLearner[];
  }
}
