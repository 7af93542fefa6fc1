import { existsSync } from 'node:fs';
import type { ConfigCheck } from '../config.js';
import type { DataPaths } from '../paths.js';
import type { Config } from '../schemas/config.js';
import { configCheck, dataDirCheck, diskCheck } from './files.js';
import { learningChecks } from './learning-checks.js';
import { logChecks, type LogView } from './log-checks.js';
import type { CheckSpec } from './run.js';

/**
 * The checks that need only the files of the data dir: the daemon runs them beside its live
 * checks, ctl runs them itself with the daemon down. In the order the manual's 4.1 would go:
 * the install, then the data, then what the log says.
 */

export interface FileCheckOptions {
  paths: DataPaths;
  /** The config in force (the daemon's), or the one mcp-starterd would load (ctl); defaults when invalid. */
  config: Config;
  configFile: string | undefined;
  configCheck: () => ConfigCheck;
  daemonUp: boolean;
  log: LogView;
  nowMs: number;
  integrityMaxBytes: number;
  /** Whether a server keeps the learning database open (the write-lock probe needs that). */
  serverHoldsDb: boolean;
}

export function fileChecks(o: FileCheckOptions): { checks: CheckSpec[]; close: () => void } {
  const learning = learningChecks({
    paths: o.paths,
    config: o.config,
    log: o.log,
    nowMs: o.nowMs,
    integrityMaxBytes: o.integrityMaxBytes,
    probeWriteLock: o.serverHoldsDb,
  });
  return {
    checks: [
      configCheck({ file: o.configFile, check: o.configCheck, daemonUp: o.daemonUp }),
      dataDirCheck(o.paths, startCommand(o.paths, o.configFile)),
      diskCheck(o.paths.dataDir, o.config.thresholds),
      ...learning.checks,
      ...logChecks(o.log),
    ],
    close: () => learning.view.close(),
  };
}

const UNIT_FILES = [
  '/etc/systemd/system/mcp-starter.service',
  '/lib/systemd/system/mcp-starter.service',
  '/usr/lib/systemd/system/mcp-starter.service',
];

/** How this install starts its daemon: systemd's unit when one is installed, else mcp-starterd itself. */
export function startCommand(paths: DataPaths, configFile: string | undefined): string {
  if (UNIT_FILES.some((f) => existsSync(f))) return 'sudo systemctl start mcp-starter';
  return `mcp-starterd --data-dir ${paths.dataDir}${configFile === undefined ? '' : ` --config ${configFile}`}`;
}

/** Restarting the daemon itself: systemd's way when it is installed so. */
export function restartCommand(pid: number): string {
  return UNIT_FILES.some((f) => existsSync(f)) ? 'sudo systemctl restart mcp-starter' : `kill ${pid}`;
}
