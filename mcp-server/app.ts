import { AppError } from '../shared/errors.js';
import { openLearningDbForServing, openLearningDbReadOnly, type ServedLearningDb } from '../shared/learning-db.js';
import type { Logger } from '../shared/logger.js';
import type { DataPaths } from '../shared/paths.js';
import type { Config } from '../shared/schemas/config.js';
import { diskFaultOf, refineDiskFault, type Db } from '../shared/sqlite.js';
import { UsersStore, type Learner } from '../shared/store/users.js';
import { ActivityTracker } from './activity.js';
import { loadCatalog, type Catalog } from './catalog-loader.js';
import type { ServerDeps } from './context.js';
import { Learning } from './learning.js';
import { ServerSessionsStore, ServerUsersStore } from './store/activity-stores.js';
import { DiskGuard } from './store/disk-guard.js';
import { ProgressStore } from './store/progress.js';
import { seedTutorials } from './store/tutorials.js';

/** Everything both transports share: the store, the catalogue, the learning rules. */
export interface LearningApp {
  db: Db;
  catalog: Catalog;
  deps: ServerDeps;
  users: UsersStore;
  localLearner: Learner;
  /** The disk's state: `/health` reports it while the disk refuses writes. */
  disk: DiskGuard;
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

function prepareError(err: unknown): AppError {
  return err instanceof AppError
    ? err
    : new AppError('E_DB', `Cannot prepare the learning database: ${(err as Error).message}`, { cause: err });
}

/**
 * Opens the learning database and writes what serving needs (the catalogue, the local learner).
 * A disk that refuses those writes leaves the database open read-only rather than stopping the
 * server: learners can still read, and their changes get a clear error until a restart.
 */
function prepareDatabase(paths: DataPaths, catalog: Catalog, localName: string, log: Logger): ServedLearningDb & { local: Learner } {
  let served = openLearningDbForServing(paths.learningDb);
  if (!served.readOnly) {
    try {
      const seeded = seedTutorials(served.db, catalog);
      log.info({ event: 'catalog_seeded', ...seeded, locales: catalog.locales }, 'tutorial catalogue loaded');
      return { ...served, local: new UsersStore(served.db).ensureLocal(localName) };
    } catch (err) {
      served.db.close();
      const fault = diskFaultOf(err);
      if (!fault) throw prepareError(err);
      served = openLearningDbReadOnly(paths.learningDb, refineDiskFault(fault, paths.dataDir));
    }
  }
  // Read-only: the catalogue is served from its files; a local learner the file lacks has no progress yet.
  const row = new UsersStore(served.db).info(localName);
  return { ...served, local: row ? { id: row.id, name: row.name } : { id: 0, name: localName } };
}

/** Opens (or creates) and migrates the learning database, seeds the catalogue, builds the shared components. */
export function openApp({ config, paths, log, catalogDir }: OpenAppOptions): LearningApp {
  const catalog = loadCatalog(catalogDir);
  const { db, readOnly, local: localLearner } = prepareDatabase(paths, catalog, config.learner.localName, log);
  const disk = new DiskGuard({ db, dataDir: paths.dataDir, file: paths.learningDb, log, readOnly });
  try {
    const users = new ServerUsersStore(db, disk);
    const activity = new ActivityTracker(users, new ServerSessionsStore(db, disk), log, {
      idleMs: config.sessions.idleMinutes * 60_000,
      writeIntervalMs: config.sessions.activityWriteIntervalMs,
    });
    const locale = config.learner.locale;
    const learning = new Learning(catalog, new ProgressStore(db, disk), locale);
    const deps: ServerDeps = { learning, catalog, locale, activity, log };
    const countStmt = db.prepare('SELECT COUNT(*) AS n FROM tutorials WHERE retired_at IS NULL');
    let closed = false;
    return {
      db,
      catalog,
      deps,
      users,
      localLearner,
      disk,
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
        disk.close();
        db.close();
      },
    };
  } catch (err) {
    disk.close();
    db.close();
    throw prepareError(err);
  }
}
