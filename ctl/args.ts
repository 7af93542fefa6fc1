import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AppError } from '../shared/errors.js';

/**
 * Every flag any command takes, with its type. Which command takes which is decided by that
 * command's params schema (a strict object) in commands.ts, so `status --force` is a usage error
 * that names the flag. Global flags may come before or after the command.
 */
const FLAGS = {
  json: { type: 'boolean' },
  'data-dir': { type: 'string' },
  socket: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  timeout: { type: 'string' },
  force: { type: 'boolean' },
  reason: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

const GLOBAL_FLAGS = ['json', 'data-dir', 'socket', 'help', 'version'] as const;

const Globals = z.strictObject({
  json: z.boolean().default(false),
  'data-dir': z.string().min(1, '--data-dir needs a folder, e.g. --data-dir /var/lib/mcp-starter').optional(),
  socket: z.string().min(1, '--socket needs a path, e.g. --socket /var/lib/mcp-starter/mcp-starterd.sock').optional(),
  help: z.boolean().default(false),
  version: z.boolean().default(false),
});
export type Globals = z.infer<typeof Globals>;

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
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) return `Unknown option ${flag}.`;
  if (/argument missing/.test(message) && flag !== undefined) return `${flag} needs a value.`;
  if (/ambiguous/.test(message) && flag !== undefined) return `${flag} needs a value; write ${flag}=VALUE when the value starts with "-".`;
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
  const globalValues: Record<string, unknown> = {};
  const flags: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined) continue;
    if ((GLOBAL_FLAGS as readonly string[]).includes(name)) globalValues[name] = value;
    else flags[name] = value;
  }
  const globals = Globals.safeParse(globalValues);
  if (!globals.success) throw new UsageError(globals.error.issues.map((i) => i.message).join(' '), undefined);
  return { globals: globals.data, words: parsed.positionals, flags };
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
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
    .map((c) => ({ name: c.name, d: Math.min(distance(words[0] ?? '', c.name), distance(tried, c.name)) }))
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
