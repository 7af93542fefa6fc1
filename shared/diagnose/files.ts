import { accessSync, constants, lstatSync, readdirSync, statfsSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { ConfigCheck } from '../config.js';
import type { DataPaths } from '../paths.js';
import type { Config } from '../schemas/config.js';
import { userName } from './proc.js';
import { ctlCommand, type CheckSpec, type NewFinding, type Outcome } from './run.js';

/** Entries looked at for their mode and owner, at most (the data dir, logs/, backups/, reports/). */
const MAX_ENTRIES = 5_000;
const MAX_NAMED = 5;
const MiB = 1024 * 1024;
/** Below this much free space writes are about to fail, whatever the percentage says. */
const CRITICAL_FREE_BYTES = 64 * MiB;

const euid = (): number => process.geteuid?.() ?? -1;

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(3, '0');

function named(paths: readonly string[]): string[] {
  return paths.length > MAX_NAMED ? [...paths.slice(0, MAX_NAMED), `\u2026 and ${paths.length - MAX_NAMED} more`] : [...paths];
}

/** The config file (and MCP_STARTER_* variables) as mcp-starterd would load them: `checkConfig`'s answer. */
export function configCheck(options: { file: string | undefined; check: () => ConfigCheck; daemonUp: boolean }): CheckSpec {
  return {
    id: 'config',
    category: 'installation',
    what: 'the configuration',
    run: (): Outcome => {
      const source = options.file ?? 'the config (defaults and MCP_STARTER_* variables)';
      const check = options.check();
      if (check.problems.length === 0) return { summary: `${source} is valid` };
      return {
        summary: `${check.problems.length} problem(s) in ${source}`,
        findings: [
          {
            id: 'config_invalid',
            severity: options.daemonUp ? 'error' : 'critical',
            title: `The configuration is invalid (${check.problems.length} problem${check.problems.length === 1 ? '' : 's'})`,
            cause: options.daemonUp
              ? `mcp-starterd runs with the config it loaded earlier, but ${source} is invalid now: the next reload is refused and a restart of the daemon fails.`
              : `mcp-starterd refuses to start with ${source}.`,
            fix: ctlCommand(options.file === undefined ? 'config validate' : `config validate ${options.file}`),
            details: check.problems.map((p) => `${p.path === '' ? '(file)' : p.path}: ${p.message}`),
          },
        ],
      };
    },
  };
}

function dataDirFindings(dir: string, st: Stats): NewFinding[] {
  const findings: NewFinding[] = [];
  const mode = st.mode & 0o777;
  if ((mode & 0o700) !== 0o700) {
    findings.push({
      id: 'data_dir_not_writable',
      severity: 'critical',
      title: `The data dir's owner cannot use it (mode ${octal(mode)})`,
      cause: `${dir} must be readable, writable and searchable by its owner (${userName(st.uid)}), who runs mcp-starterd.`,
      fix: `chmod 700 ${dir}`,
    });
  } else if ((mode & 0o077) !== 0) {
    findings.push({
      id: 'data_dir_open',
      severity: 'warning',
      title: `Other users can look into the data dir (mode ${octal(mode)})`,
      cause: `${dir} holds learners' progress and tokens' hashes; it should be private to ${userName(st.uid)} (mode 700).`,
      fix: `chmod 700 ${dir}`,
    });
  }
  const me = euid();
  if (me !== st.uid && me !== 0) {
    findings.push({
      id: 'not_data_dir_owner',
      severity: 'warning',
      title: `diagnose runs as ${userName(me)}, but the data dir belongs to ${userName(st.uid)}`,
      cause: 'Files this user may not read cannot be checked, and what this user may do is not what the daemon may do.',
      fix: `sudo -u ${userName(st.uid)} ${ctlCommand(`--data-dir ${dir} diagnose`)}`,
    });
    return findings;
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EROFS') {
      findings.push({
        id: 'data_dir_read_only',
        severity: 'critical',
        title: 'The data dir is on a read-only file system',
        cause: `${dir} cannot be written (EROFS): learners' progress cannot be saved. Remount it read-write.`,
        fix: `findmnt -T ${dir}`,
      });
    }
  }
  return findings;
}

/** Every entry of the data dir and its sub-folders (one level), with its stats. */
function entries(paths: DataPaths): Array<{ path: string; st: Stats }> {
  const out: Array<{ path: string; st: Stats }> = [];
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // a sub-folder this user cannot read: the owner check says so
    }
    for (const name of names) {
      if (out.length >= MAX_ENTRIES) return;
      const path = join(dir, name);
      const st = statOrUndefined(path);
      if (!st || st.isSymbolicLink()) continue;
      out.push({ path, st });
      if (st.isDirectory() && depth === 0) walk(path, 1);
    }
  };
  walk(paths.dataDir, 0);
  return out;
}

function socketFindings(paths: DataPaths, dirUid: number): NewFinding[] {
  const findings: NewFinding[] = [];
  for (const socket of [paths.socket, paths.probeSocket]) {
    const st = statOrUndefined(socket);
    if (!st) continue;
    if (!st.isSocket()) {
      findings.push({
        id: 'socket_not_socket',
        severity: 'error',
        title: `${socket} is not a socket`,
        cause: 'A file sits where mcp-starterd puts its control socket; the daemon cannot listen there and ctl cannot reach it.',
        fix: `mv ${socket} ${socket}.moved`,
      });
      continue;
    }
    const mode = st.mode & 0o777;
    if (mode === 0o600 && st.uid === dirUid) continue;
    findings.push({
      id: 'socket_mode',
      severity: 'error',
      title: `The control socket has mode ${octal(mode)} (it must be 600)`,
      cause:
        mode === 0o600
          ? `${socket} belongs to ${userName(st.uid)}, not to the data dir's owner ${userName(dirUid)}.`
          : `${socket} lets other users ${(mode & 0o022) !== 0 ? 'control mcp-starterd (stop, restore, emergency-stop)' : 'see'}; only its owner may.`,
      fix: mode === 0o600 ? `sudo chown ${dirUid} ${socket}` : `chmod 600 ${socket}`,
    });
  }
  return findings;
}

function fileFindings(paths: DataPaths, dirUid: number, dirGid: number): NewFinding[] {
  const sockets = new Set([paths.socket, paths.probeSocket]);
  const open: string[] = [];
  const foreign: string[] = [];
  for (const { path, st } of entries(paths)) {
    if (sockets.has(path)) continue;
    if (st.uid !== dirUid) foreign.push(`${path} (${userName(st.uid)})`);
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) open.push(`${path} (${octal(mode)})`);
  }
  const findings: NewFinding[] = [];
  if (foreign.length > 0) {
    findings.push({
      id: 'files_foreign_owner',
      severity: 'error',
      title: `${foreign.length} file(s) in the data dir belong to another user`,
      cause: `mcp-starterd runs as ${userName(dirUid)} and may be refused these (a command once run with sudo leaves root's files, e.g. a database's -wal).`,
      fix: `sudo chown -R ${dirUid}:${dirGid} ${paths.dataDir}`,
      details: named(foreign),
    });
  }
  if (open.length > 0) {
    findings.push({
      id: 'files_open',
      severity: 'warning',
      title: `${open.length} file(s) in the data dir can be read by other users`,
      cause: 'Files of the data dir should be private to its owner (mode 600, folders 700): they hold learners\u2019 progress and logs.',
      fix: `chmod -R go-rwx ${paths.dataDir}`,
      details: named(open),
    });
  }
  return findings;
}

/** The data dir, its files and sockets: there, private, owned by one user, writable. */
export function dataDirCheck(paths: DataPaths, startCommand: string): CheckSpec {
  return {
    id: 'data_dir',
    category: 'installation',
    what: `the data dir ${paths.dataDir} and its permissions`,
    run: (): Outcome => {
      const st = statOrUndefined(paths.dataDir);
      if (!st) {
        return {
          summary: `${paths.dataDir} does not exist`,
          findings: [
            {
              id: 'data_dir_missing',
              severity: 'critical',
              title: `There is no data dir at ${paths.dataDir}`,
              cause:
                'mcp-starterd has never run with this data dir (it creates it), or it was removed. If the daemon uses another one, pass --data-dir DIR (or MCP_STARTER_DATA_DIR).',
              fix: startCommand,
            },
          ],
        };
      }
      if (!st.isDirectory()) {
        return {
          summary: `${paths.dataDir} is not a folder`,
          findings: [
            {
              id: 'data_dir_missing',
              severity: 'critical',
              title: `${paths.dataDir} is a file, not a folder`,
              cause: 'The data dir must be a folder; point --data-dir (or MCP_STARTER_DATA_DIR) at one.',
              fix: `mv ${paths.dataDir} ${paths.dataDir}.moved`,
            },
          ],
        };
      }
      const findings = dataDirFindings(paths.dataDir, st);
      if (!findings.some((f) => f.id === 'not_data_dir_owner')) {
        findings.push(...socketFindings(paths, st.uid), ...fileFindings(paths, st.uid, st.gid));
      }
      return { summary: `${paths.dataDir}: mode ${octal(st.mode)}, owner ${userName(st.uid)}`, findings };
    },
  };
}

/** Used share of the data dir's file system, as df counts it (blocks reserved for root are not free). */
export function diskCheck(dataDir: string, thresholds: Config['thresholds']): CheckSpec {
  return {
    id: 'disk',
    category: 'slowdown',
    what: `free space on the disk of ${dataDir}`,
    run: (): Outcome => {
      let s;
      try {
        s = statfsSync(dataDir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { summary: 'no data dir to look at', skipped: true };
        throw err;
      }
      const used = s.blocks - s.bfree;
      const total = used + s.bavail;
      const percent = total > 0 ? Math.round((used / total) * 1000) / 10 : 0;
      const free = s.bavail * s.bsize;
      const summary = `${percent} % used, ${Math.round(free / MiB)} MiB free (the line is ${thresholds.diskPercent} %)`;
      const full = free < CRITICAL_FREE_BYTES || percent >= 99;
      if (!full && percent <= thresholds.diskPercent) return { summary };
      return {
        summary,
        findings: [
          {
            id: 'disk_full',
            severity: full ? 'critical' : percent >= 95 ? 'error' : 'warning',
            title: `The data dir's disk is ${percent} % full`,
            cause: `Only ${Math.round(free / MiB)} MiB are free on the disk of ${dataDir} (the line is ${thresholds.diskPercent} %); when it fills, learners' progress cannot be saved and the log stops. Old backups, rotated logs and reports take room there.`,
            fix: `du -sh ${dataDir}/* | sort -h`,
          },
        ],
      };
    },
  };
}
