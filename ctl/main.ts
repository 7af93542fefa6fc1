#!/usr/bin/env node
// mcp-starterctl lands with the supervisor issue; until then it says so.
process.stderr.write(
  'mcp-starterctl: the control client is not built yet.\n' +
    '  → The MCP server runs on its own for now: `npm start`, then check http://127.0.0.1:8000/health.\n',
);
process.exitCode = 2;
