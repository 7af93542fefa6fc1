import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface ActiveLearnersRecord {
  at: string;
  reason: string;
  /** In-flight requests as the server last reported them; null when unknown (daemon down). */
  inFlight: number | null;
  activeLearnersReported: number | null;
  /** Learners with an open working session, from the learning database. */
  learners: Array<{ name: string; sessionStartedAt: string; lastActivity: string }>;
  error?: string;
}

/**
 * Writes `<dataDir>/emergency-<time>.json`: who was active when the server was killed, so an
 * operator can tell them, and what was in flight. Never throws: an emergency stop goes on.
 */
export function writeActiveLearnersFile(dataDir: string, learningDb: string, info: Omit<ActiveLearnersRecord, 'at' | 'learners'>): string {
  const at = new Date();
  const file = join(dataDir, `emergency-${at.toISOString().replace(/[-:.]/g, '')}.json`);
  const record: ActiveLearnersRecord = { at: at.toISOString(), ...info, learners: [] };
  try {
    const db = new Database(learningDb, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 2000');
      record.learners = (
        db
          .prepare(
            `SELECT u.name AS name, s.started_at AS sessionStartedAt, s.last_activity AS lastActivity
             FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.ended_at IS NULL ORDER BY s.last_activity DESC`,
          )
          .all() as ActiveLearnersRecord['learners']
      ).slice(0, 10_000);
    } finally {
      db.close();
    }
  } catch (err) {
    record.error = `could not read active sessions: ${(err as Error).message}`;
  }
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  return file;
}
