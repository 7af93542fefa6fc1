/**
 * The ceiling the SDK sets: `createMcpHandler` (defaults, so 2025-era clients get the same
 * stateless legacy fallback as our server) behind `toNodeHandler` on a plain node:http server,
 * serving one `echo` tool. No Host/Origin guards, no auth, no logging, no store: whatever our
 * server costs beyond this is ours. Prints `{"event":"listening","url":...}` on stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';

const EchoInput = z.object({ msg: z.string() });

// Called once per HTTP request, like our factory: the per-request construction is part of the ceiling.
function buildServer(): McpServer {
  const server = new McpServer({ name: 'bare-echo', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes msg back.', inputSchema: EchoInput }, ({ msg }) => ({
    content: [{ type: 'text', text: msg }],
  }));
  return server;
}

const handler = createMcpHandler(() => buildServer());
const nodeHandler = toNodeHandler(handler, { onerror: (err) => process.stderr.write(`bare-server: ${err.message}\n`) });
const server = createServer((req, res) => {
  nodeHandler(req, res).catch((err: unknown) => {
    process.stderr.write(`bare-server: ${(err as Error).message}\n`);
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}/mcp`, pid: process.pid })}\n`);
});

const stop = (): void => {
  void handler.close().finally(() => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
