import type { LogsTailResult } from '../shared/schemas/rpc.js';
import type { RpcParams } from './client.js';
import { argvSchemas, command, type Command, type Context, daemon, NONE, schema, streamCommand } from './command-kit.js';
import { LOGS_TAIL_MS, runLogsFollow } from './logs-follow.js';
import type { LogsArgs } from './params-logs.js';
import { renderLogsAnalyze, renderLogsRotate, renderLogsTail } from './render/logs.js';

/** A rotation is instant; its answer waits for the compression it starts (about a second per 100 MB). */
const LOGS_ROTATE_MS = 60_000;
/** An analysis reads every file in its window: ~1 GB of logs at tens of MB/s. */
const LOGS_ANALYZE_MS = 10 * 60_000;

const logArgv = (): Promise<typeof import('./params-logs.js')> => import('./params-logs.js');

/** With the daemon down: the same answer, from the files. */
async function tailOffline(params: RpcParams<'logs.tail'>, ctx: Context): Promise<LogsTailResult> {
  const [{ recentLines }, { LOG_LEVELS }, { DEFAULT_TAIL_LINES }] = await Promise.all([
    import('../shared/log-recent.js'),
    import('../shared/log-line.js'),
    logArgv(),
  ]);
  const level = params?.level;
  return recentLines(ctx.paths.logsDir, {
    count: params?.lines ?? DEFAULT_TAIL_LINES,
    minLevel: level === undefined ? undefined : LOG_LEVELS[level],
  });
}

const tailFromDaemon = daemon('logs.tail', LOGS_TAIL_MS, tailOffline);

const LOGS_SPEC = {
  name: 'logs',
  usage: 'logs [-n N] [--level L] [-f] [--json]',
  summary: 'Show the last log lines (the daemon\u2019s and the server\u2019s), or follow them',
  details:
    '-n N, --lines N   the last N lines (default 50, at most 10000)\n' +
    '--level L         only lines at level L or above: trace, debug, info, warn, error, fatal (warn shows warn,\n' +
    '                  error and fatal); lines that are not JSON (a crash dump) always show\n' +
    '-f, --follow      then print each new line as it is written, across rotations, until Ctrl-C (exit 0);\n' +
    '                  exit code 3 when mcp-starterd goes away. Needs the daemon.\n' +
    'Each line reads `HH:MM:SS.mmm LEVEL source/component message key=value\u2026` (local time, coloured on a\n' +
    'terminal). --json prints the `logs.tail` result {lines, cutLines, sizeLimited}, each line the JSON object in\n' +
    'the file ({raw} for text); with -f, one JSON object per line. Lines over 16 KiB are cut and say so; one\n' +
    'answer holds up to 1 MiB of lines. With mcp-starterd down it reads <data dir>/logs itself (not with -f).',
  params: schema(async () => (await logArgv()).LogsArgs),
};

const logsTail = command<LogsArgs, LogsTailResult>({
  ...LOGS_SPEC,
  run: {
    rpc: 'logs.tail',
    offline: 'fallback',
    async run(p, ctx) {
      const result = await tailFromDaemon.run({ lines: p.lines, level: p.level }, ctx);
      if (result.sizeLimited)
        ctx.warn(`only the last ${result.lines.length} lines fit in one answer (1 MiB); ask for fewer, or use --level.`);
      return result;
    },
  },
  render: renderLogsTail,
});

const logsFollow = streamCommand<LogsArgs>({ ...LOGS_SPEC, run: { rpc: 'subscribe', offline: 'never', run: runLogsFollow } });

/** `logs` is a plain command, or with -f one that owns stdout until it is stopped. */
const logs: Command = {
  ...logsTail,
  execute: (input, ctx) => (input['follow'] === true ? logsFollow : logsTail).execute(input, ctx),
};

/** `logs`, `logs analyze`, `logs rotate`. */
export const LOG_COMMANDS: readonly Command[] = [
  logs,
  command({
    name: 'logs analyze',
    usage: 'logs analyze [--hours H] [--json]',
    summary: 'Count errors, warnings, tool calls and new learners in the last H hours of logs',
    details:
      '--hours H  the window, in hours (default 24, as the manual; 0.5 is half an hour)\n' +
      'What the manual counts (errors and warnings, the top 5 errors, tool_call, resource_access, new_learner), and\n' +
      'per tool its calls, failures and latency p50/p95. Errors are grouped by their message with ids, numbers,\n' +
      'paths, quoted text and times replaced by placeholders. The daemon\u2019s probe calls are not counted. Reads the\n' +
      'rotated and compressed files in the window too, streaming (its memory does not grow with the logs).\n' +
      '--json prints {hours, errors, warnings, top_errors, tool_calls, resource_accesses, new_learners, \u2026}.\n' +
      'With mcp-starterd down it reads <data dir>/logs itself.',
    params: schema(async () => (await argvSchemas()).HoursArgs),
    run: daemon('logs.analyze', LOGS_ANALYZE_MS, async (p, ctx) =>
      (await import('../shared/log-analyze.js')).analyzeLogs(ctx.paths.logsDir, { hours: p?.hours ?? 24 }),
    ),
    render: renderLogsAnalyze,
  }),
  command({
    name: 'logs rotate',
    usage: 'logs rotate [--json]',
    summary: 'Rotate the daemon\u2019s log file now',
    details:
      'The current file becomes mcp-starterd.log.1 and a fresh one starts; older rotated files move up a slot and\n' +
      'are gzip-compressed (.2.gz \u2026), keeping logs.keep of them within logs.maxTotalBytes (the oldest go first).\n' +
      'Prints where the file went, what was compressed and deleted, and the room the logs take now.',
    params: NONE,
    run: daemon('logs.rotate', LOGS_ROTATE_MS),
    render: renderLogsRotate,
  }),
];
