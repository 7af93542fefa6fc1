import { AppError } from './errors.js';
import { SQL_NOW } from './learning-db.js';
import type { Db } from './sqlite.js';
import { hashToken, newToken } from './tokens.js';

export interface LearnerInfo {
  id: number;
  name: string;
  createdAt: string;
  lastActivity: string | null;
  revokedAt: string | null;
  hasToken: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Creates a learner with a new bearer token. The token is returned once and only its hash is
 * stored. Used by `mcp-starterctl learners add` (which works with the daemon down).
 */
export function addLearner(db: Db, name: string): { learner: LearnerInfo; token: string } {
  if (!NAME.test(name)) {
    throw new AppError('E_BAD_PARAMS', `"${name}" is not a usable learner name.`, {
      hint: 'Use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
    });
  }
  const token = newToken();
  try {
    db.prepare('INSERT INTO users (name, token_hash) VALUES (?, ?)').run(name, hashToken(token));
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw new AppError('E_LEARNER_EXISTS', `A learner named "${name}" already exists.`, {
        hint: 'Choose another name (names stay taken after a revoke, so that progress keeps its owner).',
        cause: err,
      });
    }
    throw err;
  }
  const learner = listLearners(db).find((l) => l.name.toLowerCase() === name.toLowerCase());
  if (!learner) throw new AppError('E_INTERNAL', `Learner "${name}" vanished after it was created.`);
  return { learner, token };
}

export function listLearners(db: Db): LearnerInfo[] {
  const rows = db
    .prepare('SELECT id, name, created_at, last_activity, revoked_at, token_hash IS NOT NULL AS has_token FROM users ORDER BY id')
    .all() as Array<{
    id: number;
    name: string;
    created_at: string;
    last_activity: string | null;
    revoked_at: string | null;
    has_token: number;
  }>;
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    lastActivity: r.last_activity,
    revokedAt: r.revoked_at,
    hasToken: r.has_token === 1,
  }));
}

/** Revokes a learner's token at once; their progress is kept. */
export function revokeLearner(db: Db, name: string): LearnerInfo {
  const changed = db
    .prepare(`UPDATE users SET revoked_at = ${SQL_NOW} WHERE name = ? AND revoked_at IS NULL AND token_hash IS NOT NULL`)
    .run(name);
  const learner = listLearners(db).find((l) => l.name.toLowerCase() === name.toLowerCase());
  if (!learner || (changed.changes === 0 && !learner.revokedAt)) {
    throw new AppError('E_UNKNOWN_LEARNER', `No learner with a token is named "${name}".`, {
      hint: 'mcp-starterctl learners list shows them.',
    });
  }
  return learner;
}
