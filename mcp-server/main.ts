#!/usr/bin/env node
import { applyPortOverride, inheritedConfig, loadConfig } from '../shared/config.js';
import { AppError, describeError, toAppError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { configFileFrom, ensureDataDir, resolveDataDir } from '../shared/paths.js';
import { version } from '../shared/version.js';
import { openApp } from './app.js';
import { parseServerArgs, USAGE } from './args.js';
import { checkHttpConfig } from '../shared/http-config.js';
import { runHttp } from './http-main.js';
import { DaemonLink } from './ipc.js';
import { serverFactory } from './server.js';
import { runStdio } from './transports/stdio.js';

async function main(): Promise<number> {
  // The learning database and its WAL are private to the user that runs the server.
  process.umask(0o077);
  const args = parseServerArgs(process.argv.slice(2));
  if (args.help) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  if (args.version) {
    process.stderr.write(`${version()}\n`);
    return 0;
  }
  // Under the daemon the config comes parsed from it; run by hand, from the file and environment.
  const loaded = (args['listen-handle'] ? inheritedConfig() : undefined) ?? loadConfig({ file: configFileFrom(args.config) });
  const config = applyPortOverride(
    args.host === undefined ? loaded : { ...loaded, server: { ...loaded.server, host: args.host } },
    args.port,
  );
  if (args.transport === 'http') checkHttpConfig(config.server);
  const paths = ensureDataDir(resolveDataDir({ flag: args['data-dir'] }));
  // stdout belongs to the protocol in stdio mode, so logs always go to stderr (the daemon captures it).
  const log = createLogger({ name: 'mcp-starter-server', level: config.logs.level });
  const app = openApp({ config, paths, log });
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    app.close();
    log.info({ event: 'server_exit', code }, 'server stopped');
    process.exit(code);
  };
  const link = DaemonLink.attach(log, () => exit(0));

  if (args.transport === 'stdio') {
    process.once('SIGTERM', () => exit(0));
    process.once('SIGINT', () => exit(0));
    await runStdio(serverFactory(app.deps, app.localLearner), log);
    exit(0);
    return 0;
  }
  const http = await runHttp({ app, config, log, link, useHandle: args['listen-handle'], onStopped: exit });
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ event: 'signal', signal }, `received ${signal}; draining`);
    void http.stop(config.drain.timeoutMs);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    const e = toAppError(err);
    process.stderr.write(`mcp-starter-server: ${describeError(e)}\n`);
    if (!(err instanceof AppError)) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    process.exit(e.exitCode);
  },
);
