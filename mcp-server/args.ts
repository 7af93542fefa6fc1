import { z } from 'zod';
import { parseFlags, PortArg } from '../shared/cli.js';

export const USAGE = `Usage: mcp-starter-server [--transport stdio|http] [--host H] [--port N] [--data-dir DIR] [--config FILE]

  --transport stdio   (default) speak MCP on stdin/stdout, for a client that launches the server
  --transport http    serve Streamable HTTP at http://HOST:PORT/mcp and GET /health
  --transport sse     the same as http: Streamable HTTP streams its answers over SSE
  --host H            address to bind (default 127.0.0.1; others need server.requireAuth)
  --port N            port to bind (default 8000; 0 picks a free one)
  --data-dir DIR      where the learning database lives (default: see README)
  --config FILE       JSON config file (default: $MCP_STARTER_CONFIG; every key optional; see etc/mcp-starter.example.json)`;

/** The operations manual's word for HTTP: today's Streamable HTTP, which streams over SSE. */
export const SSE_NOTE =
  'mcp-starter-server: --transport sse is served as Streamable HTTP (which streams over SSE) at /mcp; the deprecated HTTP+SSE transport (/sse, /messages) is not offered.';

const ServerFlags = z.strictObject({
  transport: z
    .enum(['stdio', 'http', 'sse'], { error: '--transport must be "stdio" or "http" ("sse" is read as "http")' })
    .default('stdio'),
  host: z.string().min(1, '--host needs an address such as 127.0.0.1').optional(),
  port: PortArg.optional(),
  'data-dir': z.string().min(1).optional(),
  config: z.string().min(1).optional(),
  /** Internal: set by mcp-starterd, which passes the listening socket over IPC. */
  'listen-handle': z.boolean().default(false),
  help: z.boolean().default(false),
  version: z.boolean().default(false),
});
/** The flags with `sse` read as `http`. */
export type ServerArgs = Omit<z.output<typeof ServerFlags>, 'transport'> & { transport: 'stdio' | 'http' };

/** Parses the server's command line; `--transport sse` is served as `http`, with a note (stderr by default). */
export function parseServerArgs(
  argv: readonly string[],
  note: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): ServerArgs {
  const { transport, ...rest } = parseFlags(
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
    ServerFlags,
    USAGE,
  );
  if (transport !== 'sse') return { ...rest, transport };
  note(SSE_NOTE);
  return { ...rest, transport: 'http' };
}
