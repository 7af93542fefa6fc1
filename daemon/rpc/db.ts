import type { Logger } from '../../shared/logger.js';
import type { DataPaths } from '../../shared/paths.js';
import type { Config } from '../../shared/schemas/config.js';
import type { ControlServer } from '../control-server.js';
import type { OpsDatabase } from '../ops/database.js';
import type { Supervisor } from '../supervisor/supervisor.js';

export interface DbDeps {
  supervisor: Supervisor;
  paths: DataPaths;
  /** The config in force now (a reload may change `backups.keep`). */
  config: () => Config;
  ops: OpsDatabase;
  log: Logger;
}

/** Backup and database methods of the control API. Placeholder: the backups work (issue 9) registers them here. */
export function registerDb(_control: ControlServer, _deps: DbDeps): void {}
