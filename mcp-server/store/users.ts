import type { Db } from '../../shared/sqlite.js';

export interface Learner {
  id: number;
  name: string;
}

interface UserRow extends Learner {
  last_activity: string | null;
}

/** The `users` table as the server needs it: find learners, create the local one, record activity. */
export class UsersStore {
  private readonly byTokenHash;
  private readonly byName;
  private readonly byId;
  private readonly insertLocal;
  private readonly touchStmt;

  constructor(db: Db) {
    this.byTokenHash = db.prepare('SELECT id, name, last_activity FROM users WHERE token_hash = ? AND revoked_at IS NULL');
    this.byName = db.prepare('SELECT id, name, last_activity FROM users WHERE name = ?');
    this.byId = db.prepare('SELECT id, name, last_activity FROM users WHERE id = ?');
    this.insertLocal = db.prepare('INSERT INTO users (name) VALUES (?) ON CONFLICT (name) DO NOTHING');
    this.touchStmt = db.prepare(`UPDATE users SET last_activity = ? WHERE id = ?`);
  }

  /** The learner holding a token with this hash, unless revoked. */
  findByTokenHash(hash: string): Learner | undefined {
    const row = this.byTokenHash.get(hash) as UserRow | undefined;
    return row ? { id: row.id, name: row.name } : undefined;
  }

  /** The local learner (stdio, and loopback HTTP without a token), created on first use. */
  ensureLocal(name: string): Learner {
    this.insertLocal.run(name);
    const row = this.byName.get(name) as UserRow;
    return { id: row.id, name: row.name };
  }

  /** Whether the learner has never been active before. */
  isNew(id: number): boolean {
    const row = this.byId.get(id) as UserRow | undefined;
    return row?.last_activity == null;
  }

  touch(id: number, atIso: string): void {
    this.touchStmt.run(atIso, id);
  }
}
