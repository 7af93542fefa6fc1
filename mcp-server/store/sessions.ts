import type { Db } from '../../shared/sqlite.js';

export interface OpenSession {
  id: number;
  started_at: string;
  last_activity: string;
}

/** `user_sessions`: one row per working session of a learner. */
export class SessionsStore {
  private readonly openStmt;
  private readonly latestOpen;
  private readonly touchStmt;
  private readonly endStmt;
  private readonly staleStmt;

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
  endStale(beforeIso: string): Array<{ id: number; user_id: number; started_at: string; last_activity: string }> {
    return this.staleStmt.all(beforeIso) as Array<{ id: number; user_id: number; started_at: string; last_activity: string }>;
  }
}
