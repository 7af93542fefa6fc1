import { EXIT } from '../shared/errors.js';
import type { DiagnoseResult } from '../shared/schemas/rpc.js';
import { command, type Command, daemon, type Runner, schema } from './command-kit.js';
import type { DiagnoseArgs } from './params-diagnose.js';
import { renderDiagnose } from './render/diagnose.js';

/**
 * The daemon's checks are bounded (about a second for the port, quick_check up to 256 MiB, a
 * 250 ms lock wait); this is a guard against a wedged daemon, not a wait for anything.
 */
const DIAGNOSE_MS = 30_000;

interface Diagnosis {
  result: DiagnoseResult;
  showErrors: boolean;
}

/** Asks mcp-starterd; with it down (or not answering), diagnoses from the data dir's files. */
function diagnosis(): Runner<DiagnoseArgs, Diagnosis> {
  const ask = daemon('diagnose', DIAGNOSE_MS, async (_params, ctx) =>
    (await import('../shared/diagnose/offline.js')).diagnoseOffline({ paths: ctx.paths, configFile: ctx.configFile, env: ctx.env }),
  );
  return {
    rpc: ask.rpc,
    offline: ask.offline,
    run: async (args, ctx) => ({ result: await ask.run(undefined, ctx), showErrors: args.errors }),
  };
}

/** `diagnose` (and, later, `recover`). */
export const DIAGNOSE_COMMANDS: readonly Command[] = [
  command({
    name: 'diagnose',
    usage: 'diagnose [--errors] [--json]',
    summary: 'Find what is wrong (connection errors, slowdowns, learning data) and the command that fixes each',
    details:
      'Checks the manual\u2019s 4.1 categories and the install: the daemon and the server (crash loop, backoff), the port,\n' +
      'the config, the data dir\u2019s and socket\u2019s permissions, the learning database (damage, locks, size, progress that\n' +
      'contradicts itself, stale sessions, clock skew), disk, CPU, memory, response times, limits, refused learners\n' +
      'and error bursts in the log. Each finding comes with its cause and the command that fixes it, most serious\n' +
      'first. With mcp-starterd down it checks the files itself (and says why the daemon is down).\n' +
      '--errors  also print the log\u2019s last 20 error lines\n' +
      'Exit code 0 when nothing is wrong, 1 when anything is. --json prints {ok, daemon, findings, checks, recentErrors}.',
    params: schema(async () => (await import('./params-diagnose.js')).DiagnoseArgs),
    run: diagnosis(),
    render: ({ result, showErrors }) => renderDiagnose(result, { showErrors }),
    json: ({ result }) => result,
    exit: ({ result }) => (result.ok ? EXIT.ok : EXIT.bad),
  }),
];
