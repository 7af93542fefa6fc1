import { z } from 'zod';
import { SQL_NOW } from '../learning-db.js';
import { LearnerInfo } from '../schemas/learners.js';
import type { Db } from '../sqlite.js';

/** Who is calling, as the server's tools see it. */
export type Learner = Pick<LearnerInfo, 'id' | 'name'>;

interface UserRow extends Learner {
  last_activity: string | null;
}

const INFO_COLUMNS = 'id, name, created_at, last_activity, revoked_at, token_hash IS NOT NULL AS has_token';

const InfoRow = z
  .object({
    id: z.number(),
    name: z.string(),
    created_at: z.string(),
    last_activity: z.string().nullable(),
    revoked_at: z.string().nullable(),
    has_token: z.number(),
  })
  .transform((r): LearnerInfo => ({
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    lastActivity: r.last_activity,
    revokedAt: r.revoked_at,
    hasToken: r.has_token === 1,
  }));

/**
 * The `users` table (learners): the one module with SQL for it. The server finds learners by
 * token and records their activity; ctl adds, lists and revokes them. Statements are prepared
 * once, when the store is built (the server builds it once per process).
 */
export class UsersStore {
  private readonly byTokenHash;
  private readonly byName;
  private readonly byId;
  private readonly insertLocal;
  private readonly insertWithToken;
  private readonly touchStmt;
  private readonly infoByName;
  private readonly listStmt;
  private readonly revokeStmt;
  private readonly countStmt;
  private readonly createdStmt;

  constructor(db: Db) {
    this.byTokenHash = db.prepare('SELECT id, name, last_activity FROM users WHERE token_hash = ? AND revoked_at IS NULL');
    this.byName = db.prepare('SELECT id, name, last_activity FROM users WHERE name = ?');
    this.byId = db.prepare('SELECT id, name, last_activity FROM users WHERE id = ?');
    this.insertLocal = db.prepare('INSERT INTO users (name) VALUES (?) ON CONFLICT (name) DO NOTHING');
    this.insertWithToken = db.prepare('INSERT INTO users (name, token_hash) VALUES (?, ?)');
    this.touchStmt = db.prepare('UPDATE users SET last_activity = ? WHERE id = ?');
    this.infoByName = db.prepare(`SELECT ${INFO_COLUMNS} FROM users WHERE name = ?`);
    this.listStmt = db.prepare(`SELECT ${INFO_COLUMNS} FROM users ORDER BY id`);
    this.revokeStmt = db.prepare(
      `UPDATE users SET revoked_at = ${SQL_NOW} WHERE name = ? AND revoked_at IS NULL AND token_hash IS NOT NULL`,
    );
    this.countStmt = db.prepare('SELECT COUNT(*) FROM users WHERE @at IS NULL OR created_at < @at').pluck();
    this.createdStmt = db.prepare('SELECT COUNT(*) FROM users WHERE created_at >= @from AND created_at < @to').pluck();
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

  /** Adds a learner with a token hash; throws SQLite's SQLITE_CONSTRAINT_UNIQUE when the name (any case) is taken. */
  insert(name: string, tokenHash: string): void {
    this.insertWithToken.run(name, tokenHash);
  }

  /** The learner of that name (names compare without case, as the column does). */
  info(name: string): LearnerInfo | undefined {
    const row: unknown = this.infoByName.get(name);
    return row === undefined ? undefined : InfoRow.parse(row);
  }

  /** Every learner, oldest first. */
  list(): LearnerInfo[] {
    return InfoRow.array().parse(this.listStmt.all());
  }

  /** Every learner, as the manual counts them (revoked ones too): now (`atIso` null) or as of `atIso`. */
  count(atIso: string | null): number {
    return this.countStmt.get({ at: atIso }) as number;
  }

  /** Learners added in [from, to). */
  countCreated(fromIso: string, toIso: string): number {
    return this.createdStmt.get({ from: fromIso, to: toIso }) as number;
  }

  /** Revokes the token of the learner of that name; false when there was no valid token to revoke. */
  revoke(name: string): boolean {
    return this.revokeStmt.run(name).changes > 0;
  }
}
