/** The usage text, built from the command table so that it cannot fall behind it. */

interface HelpRow {
  name: string;
  usage: string;
  summary: string;
  details: string | undefined;
  offline: 'never' | 'always' | 'fallback';
}

const GLOBAL_OPTIONS = `Global options (before or after the command):
  --data-dir DIR   the daemon's data directory (default: $MCP_STARTER_DATA_DIR, else ./data when run
                   in the mcp-starter checkout, else $XDG_STATE_HOME/mcp-starter)
  --socket PATH    the control socket (default: <data dir>/mcp-starterd.sock)
  --config FILE    the config file mcp-starterd is started with (default: $MCP_STARTER_CONFIG); used by
                   \`config validate\` and by \`connect\`'s address when the daemon is down
  --json           print exactly one JSON document on stdout: the result, or {"error":{code,message,hint}}
  -h, --help       this text; \`mcp-starterctl help COMMAND\` for one command
  --version        print the version`;

const EXIT_CODES = `Exit codes: 0 success \u00b7 1 the command ran and the answer is bad (e.g. status: the server is not running)
            2 usage or config error \u00b7 3 mcp-starterd is not running (no socket, or no answer)
Environment: MCP_STARTER_DATA_DIR, MCP_STARTER_CONFIG, MCP_STARTER_TOKEN (connect's learner token),
  MCP_STARTER_CTL_TIMEOUT_MS (replaces how long ctl waits for the daemon, in ms; by default a lifecycle
  command waits as long as the daemon's own drain, kill and ready timeouts imply)`;

function offlineNote(row: HelpRow): string {
  return row.offline === 'never' ? '' : ' *';
}

function offlineDetail(row: HelpRow): string {
  if (row.offline === 'always') return 'Works with mcp-starterd up or down: it does not ask the daemon.';
  if (row.offline === 'fallback') return 'With mcp-starterd down it still works, without it (see below).';
  return 'Needs mcp-starterd running (exit code 3 when it is not).';
}

export function renderHelp(commands: readonly HelpRow[]): string {
  const width = Math.max(...commands.map((c) => c.usage.replace(/ \[--json\]$/, '').length));
  const list = commands.map((c) => `  ${c.usage.replace(/ \[--json\]$/, '').padEnd(width)}  ${c.summary}${offlineNote(c)}`).join('\n');
  return [
    'mcp-starterctl: control the mcp-starter daemon (mcp-starterd) and its MCP learning server',
    '',
    'Usage: mcp-starterctl [--data-dir DIR | --socket PATH] [--config FILE] <command> [options] [--json]',
    '',
    'Commands:',
    list,
    '  * also works while mcp-starterd is down',
    '',
    GLOBAL_OPTIONS,
    '',
    EXIT_CODES,
  ].join('\n');
}

export function renderCommandHelp(command: HelpRow): string {
  return [
    `Usage: mcp-starterctl ${command.usage}`,
    '',
    `${command.summary}. ${offlineDetail(command)}`,
    ...(command.details === undefined ? [] : ['', command.details]),
    '',
    'Global options: --data-dir DIR | --socket PATH, --config FILE, --json (see `mcp-starterctl help`).',
  ].join('\n');
}
