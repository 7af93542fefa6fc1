import type { ControlServer } from '../control-server.js';
import { DbMaintenance, type DbMaintenanceDeps } from '../maintenance/maintenance.js';

export type DbDeps = DbMaintenanceDeps;

/**
 * Backup and database methods of the control API: a thin layer over DbMaintenance, which it
 * returns so the scheduled jobs (daily-maintenance, optimize-db) use the same one.
 */
export function registerDb(control: ControlServer, deps: DbDeps): DbMaintenance {
  const db = new DbMaintenance(deps);
  control.method('backup.create', () => db.backup('manual'));
  control.method('backup.list', () => db.list());
  control.method('backup.restore', (p) => db.restore(p.file));
  control.method('db.check', () => db.check());
  control.method('db.optimize', () => db.optimize());
  return db;
}
