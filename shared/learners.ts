import { AppError } from './errors.js';
import { expireSessions } from './maintenance/learning.js';
import type { LearnerInfo, LearnersAddResult, LearnersResetSessionsResult } from './schemas/learners.js';
import type { Db } from './sqlite.js';
import { SessionsStore } from './store/sessions.js';
import { UsersStore } from './store/users.js';
import { hashToken, newToken } from './tokens.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Creates a learner with a new bearer token. The token is returned once and only its hash is
 * stored. Used by `mcp-starterctl learners add` (which works with the daemon down).
 */
export function addLearner(db: Db, name: string): LearnersAddResult {
  if (!NAME.test(name)) {
    throw new AppError('E_BAD_PARAMS', `"${name}" is not a usable learner name.`, {
      hint: 'Use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
    });
  }
  const users = new UsersStore(db);
  const token = newToken();
  try {
    users.insert(name, hashToken(token));
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw new AppError('E_LEARNER_EXISTS', `A learner named "${name}" already exists.`, {
        hint: 'Choose another name (names stay taken after a revoke, so that progress keeps its owner).',
        cause: err,
      });
    }
    throw err;
  }
  const learner = users.info(name);
  if (!learner) throw new AppError('E_INTERNAL', `Learner "${name}" vanished after it was created.`);
  return { learner, token };
}

export function listLearners(db: Db): LearnerInfo[] {
  return new UsersStore(db).list();
}

/** Revokes a learner's token at once; their progress is kept. */
export function revokeLearner(db: Db, name: string): LearnerInfo {
  const users = new UsersStore(db);
  const changed = users.revoke(name);
  const learner = users.info(name);
  if (!learner || (!changed && !learner.revokedAt)) {
    throw new AppError('E_UNKNOWN_LEARNER', `No learner with a token is named "${name}".`, {
      hint: 'mcp-starterctl learners list shows them.',
    });
  }
  return learner;
}

/**
 * `learners reset-sessions` (the fix `diagnose` names for stale sessions): removes sessions idle
 * past the TTL, as daily maintenance does, and sessions of learners who no longer exist, in one
 * transaction. A session open within the idle gap (a learner working now) is kept.
 */
export function resetSessions(db: Db, o: { ttlMs: number; idleMs: number; now?: Date }): LearnersResetSessionsResult {
  return db.transaction(() => {
    const expired = expireSessions(db, { ttlMs: o.ttlMs, idleMs: o.idleMs, now: o.now });
    const orphansRemoved = new SessionsStore(db).removeOrphans();
    return {
      summary: `${expired.summary}; ${orphansRemoved} session${orphansRemoved === 1 ? '' : 's'} of missing learners removed`,
      removed: expired.removed,
      orphansRemoved,
      kept: expired.kept,
      cutoff: expired.cutoff,
    };
  })();
}
