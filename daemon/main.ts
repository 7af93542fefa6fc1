#!/usr/bin/env node
import { applyPortOverride, loadConfig } from '../shared/config.js';
import { AppError, describeError, toAppError } from '../shared/errors.js';
import { configFileFrom, ensureDataDir, resolveDataDir } from '../shared/paths.js';
import { version } from '../shared/version.js';
import { parseDaemonArgs, USAGE } from './args.js';
import { banner } from './banner.js';
import { Daemon } from './daemon.js';

async function main(): Promise<void> {
  // Everything the daemon creates (databases, logs, backups, reports, sockets) is private to its user.
  process.umask(0o077);
  const args = parseDaemonArgs(process.argv.slice(2));
  if (args.help) return void process.stdout.write(`${USAGE}\n`);
  if (args.version) return void process.stdout.write(`${version()}\n`);
  const configFile = configFileFrom(args.config);
  const config = applyPortOverride(loadConfig({ file: configFile }), args.port);
  const paths = ensureDataDir(resolveDataDir({ flag: args['data-dir'] }));
  const daemon = new Daemon({ paths, config, configFile, portOverride: args.port, minimal: args.minimal });
  const shutdown = (signal: string): void => {
    daemon.close(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`mcp-starterd: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP reloads the same way `mcp-starterctl reload` does; a refused reload is logged there.
  process.on('SIGHUP', () => void daemon.reload().catch(() => undefined));
  try {
    await daemon.start();
  } catch (err) {
    await daemon.close('start failed').catch(() => undefined);
    throw err;
  }
  if (process.stderr.isTTY) process.stderr.write(banner(daemon.status(), paths.dataDir, daemon.logs.file));
}

main().catch((err: unknown) => {
  const e = toAppError(err);
  process.stderr.write(`mcp-starterd: ${describeError(e)}\n`);
  if (!(err instanceof AppError)) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
  process.exit(e.exitCode);
});
