import { statSync } from 'node:fs';
import type { DataPaths } from '../paths.js';
import type { Config } from '../schemas/config.js';
import type { Db } from '../sqlite.js';
import { isLoopbackHost } from '../http-config.js';
import { hasTable, LearningDbView, LOCK_WAIT_MS, newestBackup, writeLockFree } from './learning-db.js';
import type { LogView } from './log-checks.js';
import { userName } from './proc.js';
import { ctlCommand, type CheckSpec, type NewFinding, type Outcome } from './run.js';

/**
 * The manual's 学習データ不整合 (learning data inconsistency) and the database behind it:
 * integrity, locks, size, progress that contradicts itself, stale sessions, timestamps from the
 * future; and whether any learner can connect at all.
 */

const MiB = 1024 * 1024;
/** Above this size, the integrity check is left to `ctl db check` (it would take too long here). */
export const INTEGRITY_MAX_BYTES = { daemon: 256 * MiB, offline: 2048 * MiB };
const LARGE_DB_BYTES = 1024 * MiB;
const LARGE_WAL_BYTES = 64 * MiB;
const FREELIST_MIN_BYTES = 64 * MiB;
const FREELIST_SHARE = 0.25;
/** A timestamp this far ahead of the clock is skew, not rounding. */
export const CLOCK_SKEW_MS = 5 * 60_000;
const EXAMPLES = 5;

export interface LearningOptions {
  paths: DataPaths;
  config: Config;
  log: LogView;
  nowMs: number;
  integrityMaxBytes: number;
  /** Probe the write lock too: only while a server keeps the database open (closing ours then never checkpoints). */
  probeWriteLock: boolean;
}

type Rows = Array<Record<string, unknown>>;

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // no -wal: nothing waits to be checkpointed
  }
}

const mib = (n: number): string => `${Math.round(n / MiB)} MiB`;

/** 7 minutes, 5 hours, 3 days. */
function span(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} hours` : `${Math.round(hours / 24)} days`;
}

/** Runs `use` on the open database, or says why the check cannot run. */
function withDb(view: LearningDbView, use: (db: Db) => Outcome): Outcome {
  const opened = view.open();
  switch (opened.kind) {
    case 'missing':
      return { summary: 'no learning database yet', skipped: true };
    case 'not_owner':
      return { summary: `the database belongs to ${userName(opened.owner)}: run diagnose as that user to check it`, skipped: true };
    case 'failed':
      return { summary: `the database could not be read (${opened.code}; see db_integrity)`, skipped: true };
    case 'open':
      if (view.damaged) return { summary: 'the database is damaged (see db_integrity)', skipped: true };
      if (!hasTable(opened.db, 'user_progress')) return { summary: 'the database has no tables yet', skipped: true };
      return use(opened.db);
  }
}

function corrupt(file: string, backupsDir: string, why: string, details: string[]): NewFinding {
  const backup = newestBackup(backupsDir);
  return {
    id: 'db_corrupt',
    severity: 'critical',
    title: 'The learning database is damaged',
    cause: `${file}: ${why}. Learners' progress may be lost or wrong; restore the newest good backup (the damaged file is kept).${backup === undefined ? ' No backup was found in ' + backupsDir + '.' : ''}`,
    fix: backup === undefined ? `sqlite3 ${file} .recover > recovered.sql` : ctlCommand(`restore ${backup}`),
    details,
  };
}

function locked(file: string, how: string, probeWriteLock: boolean): NewFinding {
  return {
    id: 'db_locked',
    severity: 'error',
    title: 'The learning database is locked',
    cause: `${how} for more than ${LOCK_WAIT_MS} ms: a process holds a long transaction on ${file}, so learners' saves wait and fail with "database is locked".`,
    fix: probeWriteLock ? ctlCommand('restart') : `fuser -v ${file} ${file}-wal`,
  };
}

function integrityCheck(view: LearningDbView, o: LearningOptions): CheckSpec {
  const { file } = view;
  return {
    id: 'db_integrity',
    category: 'learning_data',
    what: `the integrity of ${file}`,
    timeoutMs: 10_000,
    run: (): Outcome => {
      const opened = view.open();
      if (opened.kind === 'missing') return { summary: `no learning database yet at ${file}`, skipped: true };
      if (opened.kind === 'not_owner')
        return { summary: `${file} belongs to ${userName(opened.owner)}: run diagnose as that user to check it`, skipped: true };
      if (opened.kind === 'failed') {
        if (opened.code === 'SQLITE_BUSY') return { summary: 'locked', findings: [locked(file, 'Reading it waited', false)] };
        if (opened.code === 'SQLITE_NOTADB' || opened.code === 'SQLITE_CORRUPT') {
          return { summary: `damaged (${opened.code})`, findings: [corrupt(file, o.paths.backupsDir, opened.message, [])] };
        }
        return {
          summary: `cannot be opened (${opened.code})`,
          findings: [
            {
              id: 'db_unreadable',
              severity: 'critical',
              title: 'The learning database cannot be opened',
              cause: `${file}: ${opened.message} (${opened.code}). The server cannot serve learners without it.`,
              fix: `ls -la ${o.paths.dataDir}`,
            },
          ],
        };
      }
      const size = sizeOf(file);
      if (size > o.integrityMaxBytes) {
        return { summary: `${mib(size)}: too big for a quick look (\`${ctlCommand('db check')}\` runs the full check)`, skipped: true };
      }
      let rows: Rows;
      try {
        // quick_check: O(pages), without the index cross-checks of integrity_check; enough to find damage fast.
        rows = opened.db.pragma('quick_check(10)') as Rows;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (code === 'SQLITE_BUSY') return { summary: 'locked', findings: [locked(file, 'Reading it waited', false)] };
        view.damaged = true;
        return { summary: `damaged (${code})`, findings: [corrupt(file, o.paths.backupsDir, (err as Error).message, [])] };
      }
      const problems = rows.map((r) => String(Object.values(r)[0])).filter((m) => m !== 'ok');
      if (problems.length === 0) return { summary: `${mib(size)}, quick_check ok` };
      view.damaged = true;
      return {
        summary: `quick_check found ${problems.length} problem(s)`,
        findings: [corrupt(file, o.paths.backupsDir, 'PRAGMA quick_check found damage', problems)],
      };
    },
  };
}

function lockCheck(view: LearningDbView, o: LearningOptions): CheckSpec {
  return {
    id: 'db_lock',
    category: 'learning_data',
    what: 'whether the learning database is locked',
    run: (): Outcome =>
      withDb(view, (db) => {
        db.prepare('SELECT COUNT(*) FROM users').get();
        if (o.probeWriteLock) {
          const lock = writeLockFree(view.file);
          if (!lock.free && lock.code.startsWith('SQLITE_BUSY'))
            return { summary: 'the write lock is held', findings: [locked(view.file, 'Taking the write lock waited', true)] };
        }
        const busy = o.log.within(60 * 60_000).filter((e) => /database is locked|SQLITE_BUSY/.test(e.message));
        if (busy.length === 0) return { summary: o.probeWriteLock ? 'reads and the write lock are free' : 'reads are free' };
        return {
          summary: `${busy.length} "database is locked" lines in the last hour`,
          findings: [
            {
              ...locked(view.file, `${busy.length} log lines in the last hour say a save waited`, o.probeWriteLock),
              details: busy.slice(0, 3).map((e) => `${e.time ?? '?'} ${e.message}`),
            },
          ],
        };
      }),
  };
}

function sizeCheck(view: LearningDbView): CheckSpec {
  const { file } = view;
  return {
    id: 'db_size',
    category: 'slowdown',
    what: `the size of ${file} and its WAL`,
    run: (): Outcome =>
      withDb(view, (db) => {
        const size = sizeOf(file);
        const wal = sizeOf(`${file}-wal`);
        const pageSize = Number(db.pragma('page_size', { simple: true }));
        const freeBytes = Number(db.pragma('freelist_count', { simple: true })) * pageSize;
        const findings: NewFinding[] = [];
        if (size > LARGE_DB_BYTES) {
          findings.push({
            id: 'db_large',
            severity: 'warning',
            title: `The learning database is large (${mib(size)})`,
            cause: 'Queries and backups slow down as it grows; old sessions and answers can be pruned and the file compacted.',
            fix: ctlCommand('db optimize'),
          });
        }
        if (wal > LARGE_WAL_BYTES) {
          findings.push({
            id: 'db_wal_large',
            severity: 'warning',
            title: `The database's WAL is ${mib(wal)}`,
            cause: `${file}-wal should stay a few MiB: checkpoints are not completing (a long reader, or a crash), so every read walks a long log.`,
            fix: ctlCommand('db optimize'),
          });
        }
        if (freeBytes > FREELIST_MIN_BYTES && freeBytes > size * FREELIST_SHARE) {
          findings.push({
            id: 'db_fragmented',
            severity: 'warning',
            title: `${mib(freeBytes)} of the database are free pages`,
            cause: `More than ${FREELIST_SHARE * 100} % of ${file} is unused space left by deleted rows; VACUUM gives it back and packs the tables.`,
            fix: ctlCommand('db optimize'),
          });
        }
        return { summary: `${mib(size)}, WAL ${mib(wal)}, ${mib(freeBytes)} free pages`, findings };
      }),
  };
}

/**
 * Rows that contradict themselves, by kind (the finding's id): the rows are `FROM user_progress p
 * <join> WHERE <where>`. Exported for `recover --recompute-progress`, which repairs these rows.
 */
export const PROGRESS_RULES = [
  {
    id: 'progress_completed_without_time',
    title: 'completed without completed_at',
    where: "p.status = 'completed' AND p.completed_at IS NULL",
    join: '',
    cause: 'is marked completed but has no completion time, so reports and average_time leave it out or count it wrong',
  },
  {
    id: 'progress_step_past_end',
    title: 'on a step past the tutorial\u2019s last',
    where: 'p.current_step >= t.step_count OR p.current_step < 0',
    join: 'JOIN tutorials t ON t.id = p.tutorial_id',
    cause: 'points at a step the tutorial does not have, so get_step and submit_step cannot continue it',
  },
  {
    id: 'progress_without_learner',
    title: 'belongs to no learner',
    where: 'NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id)',
    join: '',
    cause: 'belongs to a learner who no longer exists, so it inflates the tutorials\u2019 statistics',
  },
  {
    id: 'progress_without_tutorial',
    title: 'is for a tutorial that does not exist',
    where: 'NOT EXISTS (SELECT 1 FROM tutorials t WHERE t.id = p.tutorial_id)',
    join: '',
    cause: 'is for a tutorial missing from the database',
  },
] as const;

function progressCheck(view: LearningDbView): CheckSpec {
  return {
    id: 'progress',
    category: 'learning_data',
    what: 'whether learners\u2019 progress contradicts itself',
    run: (): Outcome =>
      withDb(view, (db) => {
        const findings: NewFinding[] = [];
        const total = (db.prepare('SELECT COUNT(*) AS n FROM user_progress').get() as { n: number }).n;
        for (const rule of PROGRESS_RULES) {
          const from = `FROM user_progress p ${rule.join} WHERE ${rule.where}`;
          const count = (db.prepare(`SELECT COUNT(*) AS n ${from}`).get() as { n: number }).n;
          if (count === 0) continue;
          const examples = db
            .prepare(
              `SELECT p.user_id, (SELECT name FROM users u WHERE u.id = p.user_id) AS name, p.tutorial_id, p.status, p.current_step ${from} LIMIT ${EXAMPLES}`,
            )
            .all() as Array<{ user_id: number; name: string | null; tutorial_id: string; status: string; current_step: number }>;
          findings.push({
            id: rule.id,
            severity: 'error',
            title: `${count} progress row${count === 1 ? '' : 's'} ${rule.title}`,
            cause: `Each ${rule.cause}. Recomputing progress from the recorded answers repairs it.`,
            fix: ctlCommand('recover --recompute-progress'),
            details: examples.map(
              (e) => `learner ${e.name ?? `#${e.user_id} (missing)`}, tutorial ${e.tutorial_id}: ${e.status}, step index ${e.current_step}`,
            ),
          });
        }
        return {
          summary: `${total} progress rows, ${findings.length === 0 ? 'consistent' : `${findings.length} kind(s) of contradiction`}`,
          findings,
        };
      }),
  };
}

function sessionsCheck(view: LearningDbView, o: LearningOptions): CheckSpec {
  return {
    id: 'sessions',
    category: 'learning_data',
    what: 'learners\u2019 sessions',
    run: (): Outcome =>
      withDb(view, (db) => {
        if (!hasTable(db, 'user_sessions')) return { summary: 'no sessions table yet', skipped: true };
        const { ttlHours } = o.config.sessions;
        // ISO 8601 UTC text compares in time order (DESIGN.md, Data): never SQLite's datetime() text.
        const cutoff = new Date(o.nowMs - ttlHours * 3_600_000).toISOString();
        const total = (db.prepare('SELECT COUNT(*) AS n FROM user_sessions').get() as { n: number }).n;
        const stale = (db.prepare('SELECT COUNT(*) AS n FROM user_sessions WHERE last_activity < ?').get(cutoff) as { n: number }).n;
        const orphans = (
          db.prepare('SELECT COUNT(*) AS n FROM user_sessions s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id)').get() as {
            n: number;
          }
        ).n;
        const findings: NewFinding[] = [];
        if (orphans > 0) {
          findings.push({
            id: 'sessions_without_learner',
            severity: 'error',
            title: `${orphans} session${orphans === 1 ? '' : 's'} of learners who do not exist`,
            cause: 'Session rows point at missing learners, so active-learner counts and reports are wrong.',
            fix: ctlCommand('learners reset-sessions'),
          });
        }
        if (stale > 0) {
          findings.push({
            id: 'sessions_stale',
            severity: 'warning',
            title: `${stale} session${stale === 1 ? '' : 's'} idle for more than ${ttlHours} h`,
            cause: `Sessions idle past sessions.ttlHours (${ttlHours} h) are removed by the daily maintenance, which has not done so (it did not run, or failed: \`${ctlCommand('jobs')}\` shows it). They make learners look active who are not.`,
            fix: ctlCommand('learners reset-sessions'),
          });
        }
        return { summary: `${total} sessions, ${stale} past the ${ttlHours} h TTL`, findings };
      }),
  };
}

function clockCheck(view: LearningDbView, o: LearningOptions): CheckSpec {
  return {
    id: 'clock',
    category: 'learning_data',
    what: 'the clock against the newest stored times',
    run: (): Outcome => {
      const stamps: Array<{ where: string; at: string }> = [];
      const opened = view.open();
      if (opened.kind === 'open' && !view.damaged && hasTable(opened.db, 'user_progress')) {
        const sources = [
          ['users.last_activity', 'SELECT MAX(last_activity) AS v FROM users'],
          ['users.created_at', 'SELECT MAX(created_at) AS v FROM users'],
          ['user_progress.updated_at', 'SELECT MAX(updated_at) AS v FROM user_progress'],
          ['user_sessions.last_activity', 'SELECT MAX(last_activity) AS v FROM user_sessions'],
        ] as const;
        for (const [where, sql] of sources) {
          const v = (opened.db.prepare(sql).get() as { v: unknown }).v;
          if (typeof v === 'string') stamps.push({ where, at: v });
        }
      }
      const newestLog = o.log.get().newestTime;
      if (newestLog !== undefined) stamps.push({ where: 'the newest log line', at: newestLog });
      if (stamps.length === 0) return { summary: 'nothing stored to compare with yet', skipped: true };
      const ahead = stamps.filter((s) => Date.parse(s.at) - o.nowMs > CLOCK_SKEW_MS);
      const now = new Date(o.nowMs).toISOString();
      if (ahead.length === 0) return { summary: `no stored time is ahead of the clock (${now})` };
      const most = Math.max(...ahead.map((s) => Date.parse(s.at) - o.nowMs));
      return {
        summary: `stored times up to ${span(most)} ahead of the clock`,
        findings: [
          {
            id: 'clock_skew',
            severity: 'warning',
            title: `Stored times are up to ${span(most)} ahead of this machine's clock`,
            cause: `The clock says ${now}, but times were written later than that: the clock went back (or the data came from a machine whose clock was ahead). Session expiry, the reports' days and "last active" are computed from these times.`,
            fix: 'timedatectl set-ntp true',
            details: ahead.map((s) => `${s.where}: ${s.at}`),
          },
        ],
      };
    },
  };
}

function learnerAccessCheck(view: LearningDbView, o: LearningOptions): CheckSpec {
  return {
    id: 'learner_access',
    category: 'connection',
    what: 'whether learners hold tokens the server accepts',
    run: (): Outcome => {
      const { requireAuth, host } = o.config.server;
      const tokensNeeded = requireAuth || !isLoopbackHost(host);
      if (!tokensNeeded) return { summary: `no token needed on ${host} (loopback, server.requireAuth off)` };
      return withDb(view, (db) => {
        const live = (
          db.prepare('SELECT COUNT(*) AS n FROM users WHERE token_hash IS NOT NULL AND revoked_at IS NULL').get() as { n: number }
        ).n;
        const revoked = (db.prepare('SELECT COUNT(*) AS n FROM users WHERE revoked_at IS NOT NULL').get() as { n: number }).n;
        const summary = `${live} learner token(s) in use, ${revoked} revoked`;
        if (live > 0) return { summary };
        return {
          summary,
          findings: [
            {
              id: 'no_learner_tokens',
              severity: 'error',
              title: 'No learner can connect: tokens are required and none is valid',
              cause: `The server needs a bearer token (${requireAuth ? 'server.requireAuth is on' : `it listens on ${host}, not loopback`}), and no learner holds one that is not revoked (${revoked} revoked).`,
              fix: ctlCommand('learners add NAME'),
            },
          ],
        };
      });
    },
  };
}

/** The learning database's checks, in order; `close()` the view when they have run. */
export function learningChecks(o: LearningOptions): { checks: CheckSpec[]; view: LearningDbView } {
  const view = new LearningDbView(o.paths.learningDb);
  return {
    view,
    checks: [
      integrityCheck(view, o),
      lockCheck(view, o),
      sizeCheck(view),
      progressCheck(view),
      sessionsCheck(view, o),
      clockCheck(view, o),
      learnerAccessCheck(view, o),
    ],
  };
}
