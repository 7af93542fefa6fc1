import { command, type Command, daemon, NONE } from './command-kit.js';
import { renderLogsRotate } from './render/logs.js';

/** A rotation is instant; its answer waits for the compression it starts (about a second per 100 MB). */
const LOGS_ROTATE_MS = 60_000;

/** `logs`, `logs analyze`, `logs rotate`. */
export const LOG_COMMANDS: readonly Command[] = [
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
