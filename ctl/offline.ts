import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { checkedBackup } from '../shared/backup.js';
import { writeActiveLearnersFile } from '../shared/emergency.js';
import { AppError } from '../shared/errors.js';
import { addLearner, listLearners, resetSessions, revokeLearner } from '../shared/learners.js';
import { openLearningDb } from '../shared/learning-db.js';
import { ensureDataDir, type DataPaths } from '../shared/paths.js';
import type {
  LearnersAddResult,
  LearnersListResult,
  LearnersResetSessionsResult,
  LearnersRevokeResult,
} from '../shared/schemas/learners.js';
import type { EmergencyStopResult } from '../shared/schemas/rpc.js';
import type { Db } from '../shared/sqlite.js';

/**
 * What ctl does without the daemon, on the data dir itself: learners (the learning DB takes
 * concurrent writers, so these work with the daemon up too) and the emergency stop's fallback.
 * Loaded only by the commands that need it, because better-sqlite3 is slow to load.
 */

function withDb<T>(paths: DataPaths, use: (db: Db) => T): T {
  const db = openLearningDb(paths.learningDb);
  try {
    return use(db);
  } finally {
    db.close();
  }
}

export function learnersAdd(paths: DataPaths, name: string): LearnersAddResult {
  ensureDataDir(paths.dataDir);
  return withDb(paths, (db) => addLearner(db, name));
}

/** An empty list when there is no database yet: listing must not create one. */
export function learnersList(paths: DataPaths): LearnersListResult {
  if (!existsSync(paths.learningDb)) return { learners: [] };
  return { learners: withDb(paths, listLearners) };
}

/** Nothing to reset when there is no database yet: resetting must not create one. */
export function learnersResetSessions(paths: DataPaths, sessions: { ttlHours: number; idleMinutes: number }): LearnersResetSessionsResult {
  if (!existsSync(paths.learningDb))
    return { summary: 'no learning database yet: no sessions', removed: 0, orphansRemoved: 0, kept: 0, cutoff: new Date().toISOString() };
  return withDb(paths, (db) => resetSessions(db, { ttlMs: sessions.ttlHours * 3_600_000, idleMs: sessions.idleMinutes * 60_000 }));
}

export function learnersRevoke(paths: DataPaths, name: string): LearnersRevokeResult {
  if (!existsSync(paths.learningDb)) {
    throw new AppError('E_UNKNOWN_LEARNER', `No learner is named "${name}": there is no learning database at ${paths.learningDb} yet.`, {
      hint: 'Check --data-dir (or MCP_STARTER_DATA_DIR) points at the daemon\u2019s data directory; `mcp-starterctl learners list` shows the learners.',
    });
  }
  return { learner: withDb(paths, (db) => revokeLearner(db, name)) };
}

const PidText = z
  .string()
  .trim()
  .regex(/^\d+$/)
  .transform(Number)
  // 0 and 1 would make kill(-pid) hit our own process group or every process we may signal.
  .refine((pid) => pid > 1 && pid <= 4_194_304);

type ProcessState = { alive: false } | { alive: true; cmdline: string };

function processState(pid: number): ProcessState {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return { alive: false }; // no such process
  }
  // Field 3, after the parenthesised command name (which may itself hold spaces or parentheses).
  if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return { alive: false };
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return { alive: false }; // it exited between the two reads
  }
  return { alive: true, cmdline };
}

/** The server's entry point as it appears in its command line, from source (tsx) or from dist/. */
const SERVER_MARK = 'mcp-server/main';

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  // SIGKILL is delivered asynchronously and the process is not ours to wait() for, so poll /proc.
  while (processState(pid).alive) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/**
 * Kills the MCP server named by the pid file, with its process group (it leads one), but only
 * after /proc shows that the pid really is mcp-starter-server: a pid left in a stale file may
 * belong to an unrelated process by now.
 */
async function killServer(pidFile: string, warn: (text: string) => void): Promise<number | null> {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    warn(`There is no pid file at ${pidFile}, so no MCP server process is known to be running.`);
    return null;
  }
  const pid = PidText.safeParse(text);
  if (!pid.success) {
    warn(`The pid file ${pidFile} does not hold a process id (${JSON.stringify(text.slice(0, 40))}); left it alone.`);
    return null;
  }
  const state = processState(pid.data);
  if (!state.alive) {
    warn(`The pid file names process ${pid.data}, which is not running any more (a stale pid file).`);
    return null;
  }
  if (!state.cmdline.includes(SERVER_MARK)) {
    warn(
      `Process ${pid.data} from ${pidFile} is not an MCP server (it runs \`${state.cmdline.slice(0, 120)}\`): left it alone. ` +
        'The pid file is stale and the pid was reused.',
    );
    return null;
  }
  try {
    process.kill(-pid.data, 'SIGKILL');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? err.code : undefined;
    if (code !== 'ESRCH') throw killError(pid.data, err);
    // Not a process-group leader (started by hand, not by the daemon): kill just the process.
    try {
      process.kill(pid.data, 'SIGKILL');
    } catch (again) {
      throw killError(pid.data, again);
    }
  }
  if (!(await waitGone(pid.data, 5_000))) warn(`Process ${pid.data} was sent SIGKILL but is still listed after 5 s.`);
  removeIfUnchanged(pidFile, text);
  return pid.data;
}

/** Removes the pid file of the server we killed; one that a new server wrote meanwhile stays. */
function removeIfUnchanged(pidFile: string, text: string): void {
  try {
    if (readFileSync(pidFile, 'utf8') === text) rmSync(pidFile, { force: true });
  } catch {
    // Already gone: nothing to clean up.
  }
}

function killError(pid: number, err: unknown): AppError {
  const code = err instanceof Error && 'code' in err ? String(err.code) : String(err);
  return new AppError('E_INTERNAL', `Could not kill the MCP server (pid ${pid}): ${code}.`, {
    hint:
      code === 'EPERM'
        ? 'It runs as another user: run mcp-starterctl as that user, or with sudo.'
        : `Kill it by hand: \`kill -9 -${pid}\` (its process group), then check with \`ps -p ${pid}\`.`,
    cause: err,
  });
}

/**
 * The emergency stop without the daemon: SIGKILL the server from its pid file, write who was
 * active (in-flight requests are unknown offline: only the daemon counted them), and take a
 * checked backup of the learning database.
 */
export async function emergencyStopOffline(
  paths: DataPaths,
  reason: string | undefined,
  warn: (text: string) => void,
): Promise<EmergencyStopResult> {
  if (!existsSync(paths.dataDir)) {
    throw new AppError('E_DATA_DIR', `There is no data directory at ${paths.dataDir}, so there is no pid file to act on.`, {
      hint: 'Point --data-dir (or MCP_STARTER_DATA_DIR) at the daemon\u2019s data directory (`systemctl cat mcp-starter` shows the one systemd uses).',
    });
  }
  const killedPid = await killServer(paths.childPidFile, warn);
  // The same file the daemon writes; in-flight counts are the daemon's, so unknown here.
  const activeFile = writeActiveLearnersFile(paths.dataDir, paths.learningDb, {
    reason: reason ?? 'requested by the operator (mcp-starterd was not running)',
    inFlight: null,
    activeLearnersReported: null,
  });
  if (!existsSync(paths.learningDb)) {
    return {
      killedPid,
      activeFile,
      backup: null,
      backupError: `There is no learning database at ${paths.learningDb} to back up.`,
      offline: true,
    };
  }
  const { backup, backupError } = await checkedBackup(paths.learningDb, paths.backupsDir, 'emergency');
  return { killedPid, activeFile, backup, backupError, offline: true };
}
