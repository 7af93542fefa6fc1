#!/usr/bin/env node
import { AppError, EXIT, toAppError } from '../shared/errors.js';
import { dataPaths, resolveDataDir } from '../shared/paths.js';
import { version } from '../shared/version.js';
import { commandInput, parseArgv, resolveCommand, UsageError, type Argv } from './args.js';
import { COMMANDS, type Context } from './commands.js';
import { renderCommandHelp, renderHelp } from './render/help.js';
import { printError, printJson, printNote, printStack, printText } from './render/output.js';
import { showWaiting } from './render/waiting.js';

/** MCP_STARTER_CTL_TIMEOUT_MS: whole milliseconds, more than 0 (checked without zod: it is on every call's path). */
function timeoutOverrideMs(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env['MCP_STARTER_CTL_TIMEOUT_MS'];
  if (raw === undefined || raw === '') return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (ms > 0) return ms;
  throw new AppError('E_CONFIG_INVALID', `MCP_STARTER_CTL_TIMEOUT_MS="${raw}" is not a number of milliseconds.`, {
    hint: 'Set it to a whole number such as 120000 (two minutes), or unset it to use each command\u2019s own wait.',
  });
}

function contextFor(argv: Argv, env: NodeJS.ProcessEnv): Context {
  const paths = dataPaths(resolveDataDir({ flag: argv.globals['data-dir'], env }));
  const configFromEnv = env['MCP_STARTER_CONFIG'];
  return {
    paths,
    socket: argv.globals.socket ?? paths.socket,
    configFile: argv.globals.config ?? (configFromEnv === '' ? undefined : configFromEnv),
    env,
    timeoutOverrideMs: timeoutOverrideMs(env),
    warn: printNote,
    waiting: (text) => showWaiting(text),
    json: argv.globals.json,
  };
}

/** help, help COMMAND, COMMAND --help. */
function helpText(words: readonly string[]): string {
  if (words.length === 0) return renderHelp(COMMANDS);
  try {
    return renderCommandHelp(resolveCommand(COMMANDS, words).command);
  } catch {
    return renderHelp(COMMANDS); // not a command: the full list is the useful answer
  }
}

async function main(argv: readonly string[]): Promise<number> {
  // What ctl creates offline (a learning database, a backup, an active-learners file) is private, as the daemon's files are.
  process.umask(0o077);
  let json = argv.includes('--json');
  try {
    const parsed = parseArgv(argv);
    json = parsed.globals.json;
    const { words } = parsed;
    if (parsed.globals.version) {
      if (json) printJson({ version: version() });
      else printText(version());
      return EXIT.ok;
    }
    if (parsed.globals.help || words[0] === 'help') {
      printText(helpText(words[0] === 'help' ? words.slice(1) : words));
      return EXIT.ok;
    }
    if (words.length === 0) throw new UsageError('Say which command to run.', undefined);
    const { command, rest } = resolveCommand(COMMANDS, words);
    const outcome = await command.execute(commandInput(command, parsed.flags, rest), contextFor(parsed, process.env));
    if (outcome.kind === 'exit') return outcome.exit;
    if (json) {
      printJson(outcome.result);
      if (outcome.jsonWarning !== undefined) printNote(outcome.jsonWarning);
    } else {
      printText(outcome.human);
    }
    return outcome.exit;
  } catch (err) {
    const e = toAppError(err);
    // A mistake in the command itself gets the command list; one in its options, the usage line (in the hint).
    printError(e, json, err instanceof UsageError && err.command === undefined ? renderHelp(COMMANDS) : undefined);
    if (!(err instanceof AppError) && !json) printStack(err);
    return e.exitCode;
  }
}

// A reader that stops early (`| head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    printStack(err);
    process.exitCode = EXIT.bad;
  },
);
