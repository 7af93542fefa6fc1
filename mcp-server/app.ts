import { AppError } from '../shared/errors.js';
import { openLearningDb } from '../shared/learning-db.js';
import type { Logger } from '../shared/logger.js';
import type { DataPaths } from '../shared/paths.js';
import type { Config } from '../shared/schemas/config.js';
import type { Db } from '../shared/sqlite.js';
import { SessionsStore } from '../shared/store/sessions.js';
import { UsersStore, type Learner } from '../shared/store/users.js';
import { ActivityTracker } from './activity.js';
import { loadCatalog, type Catalog } from './catalog-loader.js';
import type { ServerDeps } from './context.js';
import { Learning } from './learning.js';
import { ProgressStore } from './store/progress.js';
import { seedTutorials } from './store/tutorials.js';

/** Everything both transports share: the store, the catalogue, the learning rules. */
export interface LearningApp {
  db: Db;
  catalog: Catalog;
  deps: ServerDeps;
  users: UsersStore;
  localLearner: Learner;
  /** Checks the database answers; used by /health. */
  databaseOk(): { ok: true; tutorials: number } | { ok: false; error: string };
  close(): void;
}

export interface OpenAppOptions {
  config: Config;
  paths: DataPaths;
  log: Logger;
  /** Tutorial files; the package's own catalogue by default. */
  catalogDir?: string;
}

/** Opens and migrates the learning database, seeds the catalogue, builds the shared components. */
export function openApp({ config, paths, log, catalogDir }: OpenAppOptions): LearningApp {
  const catalog = loadCatalog(catalogDir);
  const db = openLearningDb(paths.learningDb);
  try {
    const seeded = seedTutorials(db, catalog);
    log.info({ event: 'catalog_seeded', ...seeded, locales: catalog.locales }, 'tutorial catalogue loaded');
    const users = new UsersStore(db);
    const localLearner = users.ensureLocal(config.learner.localName);
    const activity = new ActivityTracker(users, new SessionsStore(db), log, {
      idleMs: config.sessions.idleMinutes * 60_000,
      writeIntervalMs: config.sessions.activityWriteIntervalMs,
    });
    const locale = config.learner.locale;
    const deps: ServerDeps = { learning: new Learning(catalog, new ProgressStore(db), locale), catalog, locale, activity, log };
    const countStmt = db.prepare('SELECT COUNT(*) AS n FROM tutorials WHERE retired_at IS NULL');
    let closed = false;
    return {
      db,
      catalog,
      deps,
      users,
      localLearner,
      databaseOk() {
        try {
          return { ok: true, tutorials: (countStmt.get() as { n: number }).n };
        } catch (err) {
          return { ok: false, error: (err as Error).message };
        }
      },
      close() {
        if (closed) return;
        closed = true;
        activity.close();
        db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err instanceof AppError
      ? err
      : new AppError('E_DB', `Cannot prepare the learning database: ${(err as Error).message}`, { cause: err });
  }
}
