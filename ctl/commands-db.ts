import { EXIT } from '../shared/errors.js';
import type { RestoreArgs } from './params-db.js';
import { command, type Command, daemon, NONE, schema } from './command-kit.js';
import { renderBackup, renderBackups, renderDbCheck, renderDbOptimize, renderRestore } from './render/db.js';
import { STATUS_MS } from './waits.js';

/** A backup copies and checks the whole database: about 4 s per 100 MB here (bench/backup.ts); this is a guard. */
const BACKUP_MS = 10 * 60_000;
/** integrity_check reads every page. */
const CHECK_MS = 10 * 60_000;
/** The optimize-db job's own limit is 10 minutes. */
const OPTIMIZE_MS = 15 * 60_000;
/** A check and a copy of the backup, the drain (30 s), the start and the health check. */
const RESTORE_MS = 20 * 60_000;

const offlineDb = (): Promise<typeof import('./offline-db.js')> => import('./offline-db.js');
const argvSchemas = (): Promise<typeof import('./params-db.js')> => import('./params-db.js');

/** `backup`, `backups`, `restore FILE`, `db check`, `db optimize`. */
export const DB_COMMANDS: readonly Command[] = [
  command({
    name: 'backup',
    usage: 'backup [--json]',
    summary: 'Back up the learning database now (online, checked)',
    details:
      'Uses SQLite\u2019s online backup API while learners keep writing, checks the copy with PRAGMA integrity_check,\n' +
      'and keeps backups.keep backups (the newest that passed its check is never deleted). Works with mcp-starterd\n' +
      'down. Exit code 1 when the backup failed or failed its check (its file is kept for inspection).',
    params: NONE,
    run: daemon('backup.create', BACKUP_MS, async (_params, ctx) => (await offlineDb()).backupOffline(ctx.paths, ctx.configFile, ctx.env)),
    render: renderBackup,
  }),
  command({
    name: 'backups',
    usage: 'backups [--json]',
    summary: 'List the backups, newest first, with size, time and integrity check',
    details:
      'The check shown is the one made when each backup was written ("unchecked": no record of one).\n' +
      'Retention keeps the newest backups.keep files of every kind (daily, manual, emergency) and never deletes\n' +
      'the newest one that passed its check.',
    params: NONE,
    run: daemon('backup.list', STATUS_MS, async (_params, ctx) => (await offlineDb()).listOffline(ctx.paths)),
    render: renderBackups,
  }),
  command({
    name: 'restore',
    usage: 'restore FILE [--json]',
    summary: 'Replace the learning database with a backup (the replaced one is kept)',
    details:
      'FILE is a path, or a name from `mcp-starterctl backups`. A file that fails its integrity check, is not a\n' +
      'learning database, or is newer than this release is refused and nothing changes. Otherwise the server is\n' +
      'stopped safely, the database is renamed to mcp-starter.db.replaced-<time> (kept), the backup takes its\n' +
      'place, and the server is started and health-checked. With mcp-starterd down it restores only when no\n' +
      'process has the database open, and leaves the start to the daemon. Exit code 1 when the server did not\n' +
      'come back healthy (the output says how to put the replaced database back).',
    positionals: ['file'],
    params: schema(async () => (await argvSchemas()).RestoreArgs),
    run: daemon('backup.restore', RESTORE_MS, async (params: RestoreArgs, ctx) =>
      (await offlineDb()).restoreWithoutDaemon(ctx.paths, params.file),
    ),
    render: renderRestore,
    exit: (r) => (r.offline || r.health?.status === 'healthy' ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'db check',
    usage: 'db check [--json]',
    summary: 'Check the learning database: integrity, foreign keys, schema version, WAL size',
    details: 'Read only; works with mcp-starterd down. Exit code 1 when there is a problem (each is printed with what to do).',
    params: NONE,
    run: daemon('db.check', CHECK_MS, async (_params, ctx) => (await offlineDb()).checkOffline(ctx.paths)),
    render: renderDbCheck,
    exit: (r) => (r.ok ? EXIT.ok : EXIT.bad),
  }),
  command({
    name: 'db optimize',
    usage: 'db optimize [--json]',
    summary: 'REINDEX, VACUUM (when worth it), ANALYZE, checkpoint; prune ops.db by retention',
    details:
      'What the optimize-db job does. VACUUM runs when free pages are at least 10 % of the file and 1 MiB. A database\n' +
      'over 64 MiB is rebuilt (VACUUM, REINDEX) only while no learner is active: a rebuild holds their writes.\n' +
      'Prints sizes before and after, each step\u2019s time and write-lock time, and how long a probe write waited.',
    params: NONE,
    run: daemon('db.optimize', OPTIMIZE_MS),
    render: renderDbOptimize,
  }),
];
