import { z } from 'zod';
import { parseFlags, PortArg } from '../shared/cli.js';

export const USAGE = `Usage: mcp-starter-server [--transport stdio|http] [--host H] [--port N] [--data-dir DIR] [--config FILE]

  --transport stdio   (default) speak MCP on stdin/stdout, for a client that launches the server
  --transport http    serve Streamable HTTP at http://HOST:PORT/mcp and GET /health
  --host H            address to bind (default 127.0.0.1; others need server.requireAuth)
  --port N            port to bind (default 8000; 0 picks a free one)
  --data-dir DIR      where the learning database lives (default: see README)
  --config FILE       JSON config file (every key optional; see etc/mcp-starter.example.json)`;

const ServerArgs = z.strictObject({
  transport: z.enum(['stdio', 'http'], { error: '--transport must be "stdio" or "http"' }).default('stdio'),
  host: z.string().min(1, '--host needs an address such as 127.0.0.1').optional(),
  port: PortArg.optional(),
  'data-dir': z.string().min(1).optional(),
  config: z.string().min(1).optional(),
  /** Internal: set by mcp-starterd, which passes the listening socket over IPC. */
  'listen-handle': z.boolean().default(false),
  help: z.boolean().default(false),
  version: z.boolean().default(false),
});
export type ServerArgs = z.infer<typeof ServerArgs>;

export function parseServerArgs(argv: readonly string[]): ServerArgs {
  return parseFlags(
    argv,
    {
      transport: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      'listen-handle': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    ServerArgs,
    USAGE,
  );
}
