import type { Logger } from '../../shared/logger.js';
import { expireSessions, onLearningDb, updateTutorialStats, writeLearningReport } from '../../shared/maintenance/learning.js';
import type { DataPaths } from '../../shared/paths.js';
import { localDate } from '../../shared/reports/learning.js';
import type { Config } from '../../shared/schemas/config.js';
import type { JobStep } from './steps.js';

export interface LearningStepsDeps {
  paths: DataPaths;
  /** The config in force now (session TTL and idle gap, timezone, locale). */
  config: () => Config;
  log: Logger;
}

/**
 * Daily maintenance's steps on learning data (manual 5.1), each on its own connection to the
 * learning database and in one transaction: sessions past the TTL, the tutorials' statistics,
 * and the day's learning report. They are quick at this project's scale (about a second for
 * 10,000 learners) and run on the daemon's thread.
 */
export function learningSteps(deps: LearningStepsDeps): { expire: JobStep; stats: JobStep; report: JobStep } {
  const { learningDb, reportsDir } = deps.paths;
  return {
    expire: {
      name: 'expire-sessions',
      run: () => {
        const { sessions } = deps.config();
        const r = onLearningDb(learningDb, (db) =>
          // The idle gap spares every learner active now: the server keeps their session open within it.
          expireSessions(db, { ttlMs: sessions.ttlHours * 3_600_000, idleMs: sessions.idleMinutes * 60_000 }),
        );
        for (const s of r.unended) {
          deps.log.info({ event: 'session_end', ...s, reason: 'expired' }, 'session ended (expired by daily maintenance)');
        }
        return Promise.resolve(r.summary);
      },
    },
    stats: { name: 'tutorial-stats', run: () => Promise.resolve(onLearningDb(learningDb, (db) => updateTutorialStats(db).summary)) },
    report: {
      name: 'learning-report',
      run: () => {
        const config = deps.config();
        const date = localDate(Date.now(), config.schedule.timezone);
        return Promise.resolve(
          onLearningDb(learningDb, (db) => writeLearningReport(db, reportsDir, date, { locale: config.learner.locale }).summary),
        );
      },
    },
  };
}
