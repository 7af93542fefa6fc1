import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { AppError } from './errors.js';

/**
 * Who uses the learning database besides us: the processes that hold its files open (from
 * /proc), and whether a live mcp-starterd holds the data dir. A restore swaps the file only when
 * nobody else has it open, or that process would go on writing to the replaced file.
 */

/** A process that has one of `files` open. */
export interface Opener {
  pid: number;
  command: string;
}

/**
 * The processes (other than this one) that hold any of `files` open, from /proc: a server run by
 * a client over stdio, an sqlite3 shell, a ctl command. Swapping the file under one of them would
 * let it keep writing to the replaced file. Only processes this user may inspect are seen.
 */
export function openersOf(files: readonly string[]): Opener[] {
  const wanted = new Set(files);
  const found: Opener[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return []; // no /proc (not Linux): nothing can be told
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!wanted.has(target)) continue;
      let command = '';
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 200);
      } catch {
        // exited meanwhile
      }
      found.push({ pid: Number(pid), command });
      break;
    }
  }
  return found;
}

/** E_BUSY naming the processes that still use the learning database. */
export function inUseError(learningDb: string, openers: readonly Opener[]): AppError {
  const list = openers.map((o) => `${o.pid} (${o.command || 'unknown'})`).join(', ');
  return new AppError(
    'E_BUSY',
    `Refused to restore: the learning database ${learningDb} is open in another process: ${list}. Nothing was changed.`,
    {
      hint: 'Stop that process first (an MCP client running mcp-starter-server over stdio, an sqlite3 shell), then restore again.',
    },
  );
}

/** The database files a process may hold open. */
export function databaseFiles(learningDb: string): string[] {
  return [learningDb, `${learningDb}-wal`, `${learningDb}-shm`];
}

/** The pid of the live mcp-starterd that holds the data dir's lock, if one does. */
export function daemonHolds(lockFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
  } catch {
    return undefined; // no lock: no daemon
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon/main') ? pid : undefined;
  } catch {
    return undefined; // that process is gone
  }
}
