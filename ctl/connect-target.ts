import { readFileSync, statSync } from 'node:fs';
import { AppError } from '../shared/errors.js';
import { callDaemon } from './client.js';
import type { Context } from './commands.js';
import type { ConnectArgs } from './params.js';
import { STATUS_MS } from './waits.js';

/** The learner token's environment variable: unlike --token, it does not show in the process list. */
export const TOKEN_ENV = 'MCP_STARTER_TOKEN';

/** host:port as a URL host: a wildcard bind is reached on loopback, an IPv6 literal in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The supervised server's URL from the daemon. With the daemon down, the address in the config
 * the daemon would load (--config / MCP_STARTER_CONFIG, with the environment's overrides): the
 * bridge then answers each request with "cannot reach … is mcp-starterd running?", which the
 * client shows, instead of a process that exits before it said anything.
 */
async function supervisedUrl(ctx: Context): Promise<string> {
  try {
    return (await callDaemon(ctx.socket, 'status', undefined, ctx.timeoutOverrideMs ?? STATUS_MS)).url;
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'E_NOT_RUNNING') throw err;
    const { loadConfig } = await import('../shared/config.js');
    const { server } = loadConfig({ file: ctx.configFile, env: ctx.env });
    const url = `http://${urlHost(server.host)}:${server.port}/mcp`;
    const from = ctx.configFile === undefined ? 'the default address' : `the address in ${ctx.configFile}`;
    ctx.warn(`${err.message} Bridging to ${from}, ${url}; requests fail until the daemon is started.`);
    return url;
  }
}

function readTokenFile(file: string, ctx: Context): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('E_USAGE', `Cannot read the token file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`, {
      hint: 'Give --token-file the file that holds the token `mcp-starterctl learners add NAME` printed (one line).',
      cause: err,
    });
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token)) {
    throw new AppError('E_USAGE', `The token file ${file} does not hold one token.`, {
      hint: 'Put only the token `mcp-starterctl learners add NAME` printed in it, on one line.',
    });
  }
  // Like ssh with a private key: a token others can read is as good as theirs.
  if ((statSync(file).mode & 0o077) !== 0) ctx.warn(`The token file ${file} can be read by other users: \`chmod 600 ${file}\`.`);
  return token;
}

/**
 * The learner token: --token, else --token-file, else MCP_STARTER_TOKEN. A token on the command
 * line shows in the process list (`ps`) to every user on the machine, so that way gets a warning.
 */
function learnerToken(params: ConnectArgs, ctx: Context): string | undefined {
  if (params.token !== undefined) {
    ctx.warn(
      `--token shows the token in the process list to every user on this machine; use ${TOKEN_ENV}=TOKEN or --token-file FILE instead.`,
    );
    return params.token;
  }
  if (params['token-file'] !== undefined) return readTokenFile(params['token-file'], ctx);
  const fromEnv = ctx.env[TOKEN_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv.trim();
}

/** Where `connect` bridges to, and with which token. */
export async function connectTarget(params: ConnectArgs, ctx: Context): Promise<{ url: string; token?: string }> {
  const token = learnerToken(params, ctx);
  const url = params.url ?? (await supervisedUrl(ctx));
  return token === undefined ? { url } : { url, token };
}
