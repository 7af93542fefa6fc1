import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from './errors.js';

/** Every file and folder inside the data dir, by role. */
export interface DataPaths {
  dataDir: string;
  learningDb: string;
  opsDb: string;
  socket: string;
  /** The daemon's private way to its own child: probes reach the child they mean, never a learner's queue. */
  probeSocket: string;
  lockFile: string;
  daemonPidFile: string;
  childPidFile: string;
  logsDir: string;
  backupsDir: string;
  reportsDir: string;
}

export interface DataDirSource {
  /** `--data-dir` */
  flag?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Whether `dir` is an mcp-starter checkout (so `npm start` there keeps its data in ./data). */
function isCheckout(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'mcp-starter';
  } catch {
    return false; // no package.json here, or not ours
  }
}

/**
 * DESIGN.md's rule: `--data-dir`, else `MCP_STARTER_DATA_DIR`, else `./data` when run by npm in
 * this checkout (`npm start`, or any command run from the checkout's folder), else `$XDG_STATE_HOME/mcp-starter` (`~/.local/state/mcp-starter`).
 */
export function resolveDataDir(source: DataDirSource = {}): string {
  const env = source.env ?? process.env;
  const cwd = source.cwd ?? process.cwd();
  if (source.flag !== undefined && source.flag !== '') return resolve(cwd, source.flag);
  const fromEnv = env['MCP_STARTER_DATA_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(cwd, fromEnv);
  if (env['npm_package_name'] === 'mcp-starter' || isCheckout(cwd)) return resolve(cwd, 'data');
  const stateHome = env['XDG_STATE_HOME'];
  const base = stateHome !== undefined && stateHome !== '' ? stateHome : join(homedir(), '.local', 'state');
  return join(base, 'mcp-starter');
}

export function dataPaths(dataDir: string): DataPaths {
  return {
    dataDir,
    learningDb: join(dataDir, 'mcp-starter.db'),
    opsDb: join(dataDir, 'ops.db'),
    socket: join(dataDir, 'mcp-starterd.sock'),
    probeSocket: join(dataDir, 'mcp-starterd-probe.sock'),
    lockFile: join(dataDir, 'mcp-starterd.lock'),
    daemonPidFile: join(dataDir, 'mcp-starterd.pid'),
    childPidFile: join(dataDir, 'mcp-starter-server.pid'),
    logsDir: join(dataDir, 'logs'),
    backupsDir: join(dataDir, 'backups'),
    reportsDir: join(dataDir, 'reports'),
  };
}

/** What to do when a folder of the data dir cannot be created, by the error behind it. */
function dataDirHint(dir: string, code: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'Choose a folder you can write to with --data-dir or MCP_STARTER_DATA_DIR, or fix its permissions.';
    case 'EROFS':
      return `The file system is read-only: check the mount (\`findmnt -T ${dirname(dir)}\`) or choose another --data-dir.`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `The disk is full: free space (\`df -h ${dirname(dir)}\`), then start again.`;
    case 'ENOTDIR':
    case 'EEXIST':
      return 'Point --data-dir (or MCP_STARTER_DATA_DIR) at a folder, not a file.';
    case 'ENOENT':
      // Node's recursive mkdir says ENOENT when the parent exists but cannot take a new folder.
      return existsSync(dirname(dir))
        ? `${dirname(dir)} exists but cannot take a new folder: check that it is writable and mounted read-write (\`findmnt -T ${dirname(dir)}\`) and has free space (\`df -h ${dirname(dir)}\`).`
        : 'Point --data-dir (or MCP_STARTER_DATA_DIR) at a folder whose parent exists.';
    default:
      return 'Check the folder’s permissions, mount and free space, or choose another --data-dir.';
  }
}

function makeDir(dir: string): void {
  try {
    // mode applies only to folders this call creates; an existing folder keeps the owner's choice.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new AppError('E_DATA_DIR', `Cannot use data directory ${dir} (${code}).`, { hint: dataDirHint(dir, code), cause: err });
  }
}

/** Creates the data dir and its sub-folders (mode 0700) and returns their paths. */
export function ensureDataDir(dataDir: string): DataPaths {
  const paths = dataPaths(dataDir);
  for (const dir of [paths.dataDir, paths.logsDir, paths.backupsDir, paths.reportsDir]) makeDir(dir);
  return paths;
}

let rootCache: string | undefined;

/** The package's own folder (where package.json is), from source under tsx or from dist/. */
export function packageRoot(): string {
  if (rootCache !== undefined) return rootCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'mcp-server'))) return (rootCache = dir);
    dir = dirname(dir);
  }
  throw new AppError('E_INTERNAL', 'Cannot find the mcp-starter package folder.', { hint: 'Reinstall the package.' });
}

/** The config file: `--config`, else `MCP_STARTER_CONFIG`, else none (defaults and environment overrides). */
export function configFileFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env['MCP_STARTER_CONFIG'];
  return flag ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
}
