import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ActiveLearnersRecord } from './schemas/emergency.js';
import { SessionsStore } from './store/sessions.js';

/** Enough for any real class; a bound on what an emergency writes. */
const MAX_LEARNERS = 10_000;

/**
 * Writes `<dataDir>/emergency-<time>.json`: who was active when the server was killed, so an
 * operator can tell them, and what was in flight. Never throws: an emergency stop goes on.
 */
export function writeActiveLearnersFile(dataDir: string, learningDb: string, info: Omit<ActiveLearnersRecord, 'at' | 'learners'>): string {
  const at = new Date();
  const file = join(dataDir, `emergency-${at.toISOString().replace(/[-:.]/g, '')}.json`);
  const record: ActiveLearnersRecord = { at: at.toISOString(), ...info, learners: [] };
  try {
    // Read-only and not migrated: an emergency must not change the database it reports on.
    const db = new Database(learningDb, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 2000');
      record.learners = new SessionsStore(db).activeLearners(MAX_LEARNERS);
    } finally {
      db.close();
    }
  } catch (err) {
    record.error = `could not read active sessions: ${(err as Error).message}`;
  }
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  return file;
}
