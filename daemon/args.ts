import { z } from 'zod';
import { parseFlags, PortArg } from '../shared/cli.js';

export const USAGE = `Usage: mcp-starterd [--config FILE] [--data-dir DIR] [--port N] [--minimal] [--foreground]

Supervises mcp-starter-server: starts it, restarts it on a crash, drains it on stop, and answers
mcp-starterctl on <data-dir>/mcp-starterd.sock. Runs in the foreground (systemd's way).

  --config FILE    JSON config (default: $MCP_STARTER_CONFIG; every key optional; see etc/mcp-starter.example.json)
  --data-dir DIR   databases, socket, logs, backups (default: see README)
  --port N         HTTP port for MCP clients (default 8000)
  --minimal        minimal recovery mode: the server logs at debug level; no scheduled jobs, no alert
                   command, no Prometheus endpoint. \`mcp-starterctl start\` returns to normal.`;

const DaemonArgs = z.strictObject({
  config: z.string().min(1).optional(),
  'data-dir': z.string().min(1).optional(),
  port: PortArg.optional(),
  minimal: z.boolean().default(false),
  foreground: z.boolean().default(true),
  help: z.boolean().default(false),
  version: z.boolean().default(false),
});
export type DaemonArgs = z.infer<typeof DaemonArgs>;

export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  return parseFlags(
    argv,
    {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      minimal: { type: 'boolean' },
      foreground: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    DaemonArgs,
    USAGE,
  );
}
