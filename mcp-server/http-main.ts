import { createMcpHandler } from '@modelcontextprotocol/server';
import { checkHttpConfig } from '../shared/http-config.js';
import type { Logger } from '../shared/logger.js';
import type { Config } from '../shared/schemas/config.js';
import type { HealthBody } from '../shared/schemas/http.js';
import { version } from '../shared/version.js';
import type { LearningApp } from './app.js';
import { HttpAuthenticator } from './auth.js';
import type { DaemonLink } from './ipc.js';
import { optimizeServer } from './optimize.js';
import { serverFactory } from './server.js';
import { RequestStats } from './stats.js';
import { HttpTransport, type HealthReport } from './transports/http.js';

export interface RunHttpOptions {
  app: LearningApp;
  config: Config;
  log: Logger;
  link: DaemonLink | undefined;
  /** Wait for the daemon's listening socket instead of binding host:port. */
  useHandle: boolean;
  /** Called once the server has stopped (drained or closed): exit code. */
  onStopped: (code: number) => void;
}

async function listen(transport: HttpTransport, link: DaemonLink | undefined, config: Config): Promise<string> {
  const target = link ? await link.waitForListen(config.restart.readyTimeoutMs) : undefined;
  if (target?.kind === 'connections') {
    link?.onConnection((socket) => transport.accept(socket));
    return target.url;
  }
  const address = await transport.listen(target?.server ?? { host: config.server.host, port: config.server.port });
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shownHost}:${address.port}/mcp`;
}

/** Serves HTTP: binds (or takes the daemon's socket), reports to the daemon, drains on request. */
export async function runHttp({
  app,
  config,
  log,
  link,
  useHandle,
  onStopped,
}: RunHttpOptions): Promise<{ stop: (timeoutMs: number) => Promise<void> }> {
  const { requireAuth } = config.server;
  checkHttpConfig(config.server);
  const startedAt = performance.now();
  const stats = new RequestStats();
  const handler = createMcpHandler(serverFactory(app.deps, app.localLearner), {
    legacy: 'stateless',
    maxRequestBodySize: config.server.maxBodyBytes,
    onerror: (err) => log.debug({ err }, 'MCP request rejected'),
  });
  const transport = new HttpTransport({
    config: config.server,
    responseTimeMs: config.thresholds.responseTimeMs,
    handler,
    auth: new HttpAuthenticator(app.users, app.localLearner, requireAuth),
    stats,
    log,
    health: (): HealthReport => {
      const db = app.databaseOk();
      const degraded = app.disk.degraded;
      const body: HealthBody = {
        status: db.ok && !degraded ? 'ok' : 'degraded',
        version: version(),
        uptimeMs: Math.round(performance.now() - startedAt),
        inFlight: stats.inFlight,
        openStreams: stats.openStreams,
        activeLearners: app.deps.activity.activeLearners,
        database: db.ok ? { ok: true } : { ok: false, error: db.error },
        tutorials: db.ok ? db.tutorials : null,
        ...(degraded ? { degraded } : {}),
      };
      // A disk that refuses writes still serves reads: degraded, but 200 (see HealthBody).
      return { ok: db.ok, body };
    },
  });
  const url = await listen(transport, useHandle ? link : undefined, config);
  log.info({ event: 'listening', transport: 'http', url, viaDaemon: useHandle }, `serving MCP at ${url}`);

  let stopping: Promise<void> | undefined;
  const stop = (timeoutMs: number, handover = false): Promise<void> => {
    stopping ??= (async () => {
      log.info(
        { event: 'drain_start', timeoutMs, handover, inFlight: stats.inFlight, activeLearners: app.deps.activity.activeLearners },
        'draining',
      );
      link?.send({
        type: 'draining',
        inFlight: stats.inFlight,
        openStreams: stats.openStreams,
        activeLearners: app.deps.activity.activeLearners,
      });
      const { forced } = await transport.drain(timeoutMs, { handover });
      log.info({ event: 'drain_end', forced }, forced ? 'drain timed out; closed the remaining connections' : 'drained');
      // The daemon reports a stop as drained only if nothing was cut: tell it before exiting.
      await link?.sendAndWait({ type: 'drained', forced });
      link?.close();
      onStopped(0);
    })();
    return stopping;
  };
  if (link) {
    link.onDrain((msg) => void stop(msg.timeoutMs, msg.handover));
    link.startStats(config.stats.intervalMs, () => ({
      type: 'stats',
      at: new Date().toISOString(),
      activeLearners: app.deps.activity.activeLearners,
      connections: transport.openSockets,
      ...stats.snapshot(),
      operations: transport.operations.snapshot(),
      ...(app.disk.degraded ? { degraded: app.disk.degraded } : {}),
    }));
    link.onOptimize((msg) => {
      const done = optimizeServer({ db: app.db, endIdleSessions: () => app.deps.activity.sweep(), transport }, msg.id, msg.minIdleMs);
      log.info({ event: 'optimize', ...done }, 'optimised on the daemon’s request');
      link.send(done);
    });
    link.send({ type: 'ready', pid: process.pid, version: version(), url, tutorials: app.catalog.tutorials.length });
  }
  return { stop: (timeoutMs) => stop(timeoutMs) };
}
