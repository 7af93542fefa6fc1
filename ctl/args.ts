import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { AppError } from '../shared/errors.js';
import { editDistance } from '../shared/edit-distance.js';

/**
 * Every flag any command takes, with its type. Which command takes which is decided by that
 * command's params schema (a strict object) in commands.ts, so `status --force` is a usage error
 * that names the flag. Global flags may come before or after the command.
 */
const FLAGS = {
  json: { type: 'boolean' },
  'data-dir': { type: 'string' },
  socket: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  timeout: { type: 'string' },
  force: { type: 'boolean' },
  reason: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  hours: { type: 'string' },
  once: { type: 'boolean' },
  count: { type: 'string' },
  lines: { type: 'string', short: 'n' },
  level: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  date: { type: 'string' },
  errors: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'recompute-progress': { type: 'boolean' },
} as const;

/**
 * The global flags, checked here without zod: this runs on every call, and `status` must not
 * pay for loading zod (issue 7). Each needs a non-empty value; the message says what to give.
 */
const GLOBAL_STRINGS = ['data-dir', 'socket', 'config'] as const;
const GLOBAL_BOOLEANS = ['json', 'help', 'version'] as const;
const EMPTY_MESSAGE: Record<(typeof GLOBAL_STRINGS)[number], string> = {
  'data-dir': '--data-dir needs a folder, e.g. --data-dir /var/lib/mcp-starter',
  socket: '--socket needs a path, e.g. --socket /var/lib/mcp-starter/mcp-starterd.sock',
  config: '--config needs a file, e.g. --config /etc/mcp-starter.json',
};
const GLOBAL_NAMES: ReadonlySet<string> = new Set([...GLOBAL_STRINGS, ...GLOBAL_BOOLEANS]);

export interface Globals {
  json: boolean;
  help: boolean;
  version: boolean;
  'data-dir'?: string | undefined;
  socket?: string | undefined;
  config?: string | undefined;
}

/** A command-line mistake: exit 2, and the usage text of `command` (or of ctl) is shown with it. */
export class UsageError extends AppError {
  constructor(
    message: string,
    readonly command: string | undefined,
    hint = 'Run `mcp-starterctl help` to see every command and option.',
  ) {
    super('E_USAGE', message, { hint });
    this.name = 'UsageError';
  }
}

export interface Argv {
  globals: Globals;
  /** Words that are not flags: the command name, then its arguments. */
  words: string[];
  /** Flags that belong to the command (not the global ones). */
  flags: Record<string, string | boolean>;
}

function parseArgsMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // A flag with a short form is named by both ("Option '-n, --lines <value>' argument missing"): the first will do.
  const flag = /'(-{1,2}[^', ]+)/.exec(message)?.[1];
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) return `Unknown option ${flag}.`;
  if (/argument missing/.test(message) && flag !== undefined) return `${flag} needs a value.`;
  if (/ambiguous/.test(message) && flag !== undefined) {
    return flag.startsWith('--') ? `${flag} needs a value; write ${flag}=VALUE when the value starts with "-".` : `${flag} needs a value.`;
  }
  return message;
}

/** Splits argv into global flags, command flags and words; unknown flags are usage errors. */
export function parseArgv(argv: readonly string[]): Argv {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err), undefined);
  }
  const { values } = parsed;
  const globals: Globals = { json: false, help: false, version: false };
  for (const name of GLOBAL_BOOLEANS) globals[name] = values[name] === true;
  const problems: string[] = [];
  for (const name of GLOBAL_STRINGS) {
    const value = values[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') problems.push(EMPTY_MESSAGE[name]);
    else globals[name] = value;
  }
  if (problems.length > 0) throw new UsageError(problems.join(' '), undefined);
  const flags: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && !GLOBAL_NAMES.has(name)) flags[name] = value;
  }
  return { globals, words: parsed.positionals, flags };
}

/** The command whose name is the longest prefix of `words` ("learners add" before "learners"). */
export function resolveCommand<C extends { name: string }>(
  commands: readonly C[],
  words: readonly string[],
): { command: C; rest: string[] } {
  let best: C | undefined;
  for (const command of commands) {
    const parts = command.name.split(' ');
    if (parts.every((p, i) => words[i] === p) && parts.length > (best?.name.split(' ').length ?? 0)) best = command;
  }
  if (best) return { command: best, rest: words.slice(best.name.split(' ').length) };
  const said = words.join(' ');
  const group = commands.filter((c) => c.name.startsWith(`${words[0] ?? ''} `));
  if (group.length > 0) {
    const subcommands = group.map((c) => c.name.split(' ')[1] ?? '').join(', ');
    throw new UsageError(
      words.length > 1 ? `Unknown command "${said}".` : `"${said}" needs a subcommand: ${subcommands}.`,
      undefined,
      `Try \`mcp-starterctl ${words[0] ?? ''} ${group[0]?.name.split(' ')[1] ?? ''}\`; \`mcp-starterctl help\` lists every command.`,
    );
  }
  const tried = words.slice(0, 2).join(' ');
  const nearest = commands
    .map((c) => ({ name: c.name, d: Math.min(editDistance(words[0] ?? '', c.name), editDistance(tried, c.name)) }))
    .sort((a, b) => a.d - b.d)[0];
  const suggestion = nearest !== undefined && nearest.d <= 2 ? `Did you mean \`mcp-starterctl ${nearest.name}\`? ` : '';
  throw new UsageError(`Unknown command "${words[0] ?? ''}".`, undefined, `${suggestion}\`mcp-starterctl help\` lists every command.`);
}

/** The object a command's params schema parses: its flags, and its positionals by name. */
export function commandInput(
  command: { name: string; usage: string; positionals: readonly string[] },
  flags: Record<string, string | boolean>,
  rest: readonly string[],
): Record<string, unknown> {
  if (rest.length > command.positionals.length) {
    throw new UsageError(
      `Unexpected argument "${rest[command.positionals.length] ?? ''}" for \`${command.name}\`.`,
      command.name,
      usageHint(command),
    );
  }
  const input: Record<string, unknown> = { ...flags };
  command.positionals.forEach((name, i) => {
    if (rest[i] !== undefined) input[name] = rest[i];
  });
  return input;
}

export function usageHint(command: { name: string; usage: string }): string {
  return `Usage: mcp-starterctl ${command.usage} (\`mcp-starterctl help ${command.name}\` explains it).`;
}

/** A params schema's complaint as one sentence a person can act on. */
export function usageMessage(command: { name: string }, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') return `\`${command.name}\` does not take ${issue.keys.map((k) => `--${k}`).join(', ')}.`;
      return issue.message;
    })
    .join(' ');
}
