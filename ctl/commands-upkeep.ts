import { EXIT } from '../shared/errors.js';
import { command, type Command, daemon, NONE, schema } from './command-kit.js';
import { renderOptimize, renderRecover } from './render/upkeep.js';

/** The database step of optimize can VACUUM a large database; the server's part answers at once. */
const OPTIMIZE_MS = 10 * 60_000;

/** Restoring a large backup and a full health check take their time. */
const RECOVER_MS = 10 * 60_000;

/** `optimize`. */
export const OPTIMIZE_COMMAND: Command = command({
  name: 'optimize',
  usage: 'optimize [--json]',
  summary: 'Apply the manual\u2019s optimisation rules: database, memory, cache, connections',
  details:
    'database     the `db optimize` step (PRAGMA optimize, ANALYZE, REINDEX, VACUUM when worth it, WAL checkpoint, ops.db retention)\n' +
    'memory       the server collects garbage and reports its heap and RSS before and after\n' +
    'cache        idle learner sessions ended, expired entries dropped, SQLite\u2019s page cache released\n' +
    'connections  keep-alive connections idle over a second closed (clients reconnect by themselves)\n' +
    'A part that cannot run (no server running, another optimisation in progress) says why; the others still run.\n' +
    'Exit code 1 when any part did not run.',
  params: NONE,
  run: daemon('optimize', OPTIMIZE_MS),
  render: renderOptimize,
  exit: (r) => (r.parts.every((p) => p.ok) ? EXIT.ok : EXIT.bad),
});

/** `recover`. */
export const RECOVER_COMMAND: Command = command({
  name: 'recover',
  usage: 'recover [--recompute-progress] [--yes] [--json]',
  summary: 'Minimal recovery: diagnose, check the database and config, run the server in minimal mode',
  details:
    'The manual\u2019s 4.2, each step printed with what to do if it fails:\n' +
    '  diagnose   what `diagnose` finds, most serious first\n' +
    '  database   integrity of the learning database; damaged: the newest backup that passes its check is\n' +
    '             offered, and restored with --yes (the damaged file is kept beside it)\n' +
    '  config     the config file checked key by key, never rewritten (a running daemon keeps its last good one)\n' +
    '  progress   with --recompute-progress: statuses and statistics rebuilt from the answers\n' +
    '  minimal    the server handed over to one in minimal mode (debug logging; no jobs, alert command, Prometheus)\n' +
    '  health     the full health check\n' +
    'With mcp-starterd down, ctl does the steps on files and prints the exact command that starts it in minimal\n' +
    'mode (ctl never starts a daemon). `mcp-starterctl start` leaves minimal mode. Exit code 1 when a step failed\n' +
    'or waits for --yes.',
  params: schema(async () => (await import('./params-upkeep.js')).RecoverArgs),
  run: daemon('recover', RECOVER_MS, async (params, ctx) =>
    (await import('../shared/recover/offline.js')).recoverOffline({ paths: ctx.paths, configFile: ctx.configFile, env: ctx.env }, params),
  ),
  render: renderRecover,
  exit: (r) => (r.ok ? EXIT.ok : EXIT.bad),
});
