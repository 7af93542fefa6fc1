import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { McpServerFactory } from '@modelcontextprotocol/server';
import type { Logger } from '../../shared/logger.js';

/**
 * MCP over stdin/stdout. stdout carries protocol only (logs go to stderr); the returned promise
 * resolves when the client closes stdin, which ends the server.
 */
export async function runStdio(factory: McpServerFactory, log: Logger): Promise<void> {
  const ended = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  const handle = serveStdio(factory, { onerror: (err) => log.warn({ err }, 'stdio transport error') });
  log.info({ event: 'listening', transport: 'stdio' }, 'serving MCP on stdio');
  await ended;
  await handle.close();
}
