import type { StatusResult } from '../shared/schemas/rpc.js';

/** The one screen a newcomer sees on a terminal: where the server is, how to connect, what to try. */
export function banner(status: StatusResult, dataDir: string, logFile: string): string {
  const ok = status.child.state === 'running';
  return [
    '',
    `  mcp-starter ${status.daemon.version} — ${ok ? 'the MCP learning server is running' : `the MCP server is ${status.child.state}`}`,
    '',
    `  MCP endpoint   ${status.url}`,
    `  Data           ${dataDir}`,
    `  Log            ${logFile}`,
    '',
    '  Connect a client:',
    `    MCP Inspector   npx @modelcontextprotocol/inspector@2 --cli ${status.url} --protocol-era auto --method tools/list`,
    `    VS Code         .vscode/mcp.json → { "servers": { "mcp-starter": { "type": "http", "url": "${status.url}" } } }`,
    '    Claude Desktop  command "mcp-starterctl" with args ["connect"] (a stdio bridge to this server)',
    '  Then ask the assistant to call list_tutorials.',
    '',
    '  Try:',
    `    npx mcp-starterctl --data-dir ${dataDir} status`,
    `    npx mcp-starterctl --data-dir ${dataDir} restart`,
    `    npx mcp-starterctl --data-dir ${dataDir} learners add alice`,
    '',
    '  Ctrl-C stops the daemon (the server drains first).',
    '',
  ].join('\n');
}
