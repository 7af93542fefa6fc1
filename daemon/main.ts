#!/usr/bin/env node
// mcp-starterd lands with the supervisor issue; until then it says so and how to run the server.
process.stderr.write(
  'mcp-starterd: the supervisor daemon is not built yet.\n' +
    '  → Run the MCP server directly: `npm start` (HTTP on 127.0.0.1:8000) or `mcp-starter-server --transport http`.\n',
);
process.exitCode = 2;
