import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { AuthInfo, McpHttpHandler } from '@modelcontextprotocol/server';
import { AppError } from '../../shared/errors.js';
import { rawHttpError } from '../../shared/http-error.js';
import type { Logger } from '../../shared/logger.js';
import type { Config } from '../../shared/schemas/config.js';
import type { HealthBody } from '../../shared/schemas/http.js';
import { isProbe, tokenLearnerOf, type HttpAuthenticator } from '../auth.js';
import { OperationRecorder, type PendingOperation } from '../operations.js';
import type { RequestStats } from '../stats.js';
import { ErrorAnswers, remoteOf } from './answers.js';
import { parseJsonBody, readBody } from './body.js';
import { AdmissionGate, isStreamRequest, type Ticket } from './limits.js';
import { STOPPING_REFUSAL } from './refusal.js';
import { OffenderLog } from './offenders.js';
import { OriginPolicy } from './origin.js';
import { SocketTracker } from './sockets.js';
import { webRequest, writeWebResponse } from './web-response.js';

export interface HealthReport {
  /** 200 when true, 503 otherwise. */
  ok: boolean;
  /** The transport sets `status: 'draining'` itself while it stops. */
  body: HealthBody;
}

export interface HttpTransportOptions {
  config: Config['server'];
  handler: McpHttpHandler;
  auth: HttpAuthenticator;
  stats: RequestStats;
  health: () => HealthReport;
  log: Logger;
  /** The manual's response time (`thresholds.responseTimeMs`): how long a request may wait for a slot unless `server.maxQueueWaitMs` says otherwise. */
  responseTimeMs?: number;
  /** Where learners' MCP operations are timed; one of its own when not given. */
  operations?: OperationRecorder;
}

/** The manual's 2 s, when neither `server.maxQueueWaitMs` nor `responseTimeMs` is given. */
const DEFAULT_QUEUE_WAIT_MS = 2_000;

/** Why an exchange was ended from outside its own flow. */
const REVOKED = 'revoked';
const STOPPING = 'stopping';

/** A request's body once it may run. */
interface Admitted {
  text: string;
  /** The body as JSON; undefined when it is not JSON (the SDK answers that with its own -32700). */
  parsed: unknown;
}

/** One request from its headers to its end, as far as revocation and the drain need to see it. */
interface Exchange {
  controller: AbortController;
  /** A learner's bearer token, re-checked while the exchange is open. */
  token: string | undefined;
  ticket: Ticket;
  /** Timed for `mcp_server_operation_duration_seconds`; undefined for the probe and for requests that carry no message. */
  operation: PendingOperation | undefined;
}

/**
 * Streamable HTTP at `/mcp` and `GET|HEAD /health` on node:http, with what the SDK entry leaves
 * to us: Host/Origin checks, body, header and idle limits with timeouts, fair caps on requests
 * and streams (per connection, per learner, then global behind an ordered queue), bearer
 * authentication re-checked for open exchanges, and a drain that loses no request in flight.
 */
export class HttpTransport {
  readonly server: Server;
  /** Learners' MCP operations, by method, tool and outcome: sent with the stats. */
  readonly operations: OperationRecorder;
  private readonly tracker: SocketTracker;
  private readonly offenders: OffenderLog;
  /** Requests refused for their Host, Origin or token: logged once per client and reason a minute, for `ctl diagnose`. */
  private readonly refusals: OffenderLog;
  private readonly gate: AdmissionGate;
  private readonly origins: OriginPolicy;
  private readonly answers: ErrorAnswers;
  private readonly exchanges = new Set<Exchange>();
  private readonly recheckTimer: NodeJS.Timeout;
  private draining = false;
  /** During a handover requests on open connections are still served (with `Connection: close`). */
  private handover = false;
  private closePromise: Promise<void> | undefined;

  constructor(private readonly options: HttpTransportOptions) {
    const { config, log } = options;
    this.operations = options.operations ?? new OperationRecorder();
    this.origins = new OriginPolicy(config);
    this.gate = new AdmissionGate({
      ...config,
      maxQueueWaitMs: config.maxQueueWaitMs ?? options.responseTimeMs ?? DEFAULT_QUEUE_WAIT_MS,
    });
    this.offenders = new OffenderLog(log);
    this.refusals = new OffenderLog(log, 60_000, undefined, 'request_refused');
    this.answers = new ErrorAnswers(config, this.offenders, {
      closing: () => this.draining,
      stopping: () => this.draining && !this.handover,
      queued: () => this.gate.queued,
    });
    this.tracker = new SocketTracker(config, (socket, waitedMs) => this.answers.headerTimeout(socket, waitedMs));
    // Node's own header and request timers are armed only on a server that listens: ours do it
    // for every connection, handed over or accepted, so theirs are off to keep one behaviour.
    this.server = createServer({ requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: config.keepAliveTimeoutMs });
    this.server.on('connection', (socket: Socket) => this.tracker.add(socket));
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.onRequest(req, res).catch((err: unknown) => {
        log.error({ err, url: req.url }, 'request failed');
        if (!res.headersSent) this.answers.reply(res, 500, 'Internal error while handling the request.', 'See the server log.');
        else res.destroy();
      });
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // Malformed HTTP: answer if the socket still can, never crash.
      if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      socket.end(rawHttpError(status, 'The request is not valid HTTP/1.1.', 'Use an HTTP client library; headers are limited to 16 KiB.'));
    });
    this.recheckTimer = setInterval(() => this.recheckTokens(), config.authRecheckMs);
    this.recheckTimer.unref();
  }

  /** Connections open now. */
  /** `ctl optimize`: idle keep-alive connections closed, expired offender entries dropped. */
  optimize(minIdleMs: number): { idleConnectionsClosed: number; offendersForgotten: number } {
    return { idleConnectionsClosed: this.tracker.closeIdle(minIdleMs), offendersForgotten: this.offenders.forgetExpired() };
  }

  get openSockets(): number {
    return this.tracker.size;
  }

  /** Serves a connection accepted elsewhere (the daemon accepts and passes it over IPC). */
  accept(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.server.emit('connection', socket);
    socket.resume();
  }

  /** Binds host:port, or serves on a listening handle passed by the daemon. */
  async listen(target: { host: string; port: number } | NetServer): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        if (err.code === 'EADDRINUSE') {
          const where = target instanceof NetServer ? 'the passed socket' : `${target.host}:${target.port}`;
          reject(
            new AppError('E_PORT_IN_USE', `Port ${where} is already in use.`, {
              hint: 'Stop the other program (`ss -ltnp` shows it), or choose another port with --port or MCP_STARTER_SERVER_PORT.',
              cause: err,
            }),
          );
        } else reject(err);
      };
      this.server.once('error', onError);
      const done = (): void => {
        this.server.off('error', onError);
        resolve();
      };
      if (target instanceof NetServer) this.server.listen(target, done);
      else this.server.listen(target.port, target.host, done);
    });
    return this.server.address() as AddressInfo;
  }

  private health(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.answers.reply(res, 405, `${req.method ?? ''} is not allowed on /health.`, 'Use GET or HEAD.', { allow: 'GET, HEAD' });
      return;
    }
    const report = this.options.health();
    // In a handover the old child still serves its open connections, so it is healthy until it exits.
    const stopping = this.draining && !this.handover;
    const health: HealthBody = { ...report.body, status: stopping ? 'draining' : report.body.status };
    const body = JSON.stringify(health);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': String(Buffer.byteLength(body)),
    };
    if (this.draining) headers['connection'] = 'close';
    res.writeHead(report.ok && !stopping ? 200 : 503, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    this.tracker.requestStarted(socket);
    res.once('close', () => this.tracker.requestEnded(socket));
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const host = this.origins.checkHost(req.headers.host);
    if (!host.ok) {
      this.refused('host', socket, { host: req.headers.host ?? null }, host.message);
      return this.answers.reply(res, 403, host.message, host.hint);
    }
    const origin = this.origins.checkOrigin(req.headers.origin, req.headers.host);
    if (!origin.ok) {
      this.refused('origin', socket, { origin: req.headers.origin ?? null }, origin.message);
      return this.answers.reply(res, 403, origin.message, origin.hint);
    }
    // /health and the probe are answered whatever learners do (reserved room).
    if (path === '/health') return this.health(req, res);
    if (this.draining && !this.handover) return this.answers.stopping(res);
    if (path !== '/mcp') return this.answers.reply(res, 404, `Nothing at ${path}.`, 'The MCP endpoint is /mcp; /health reports status.');
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > this.options.config.maxBodyBytes) return this.answers.tooLarge(req, res, length);
    const auth = await this.options.auth.authenticate(req.headers.authorization);
    if (!auth.ok) {
      this.refused('token', socket, { status: auth.status }, auth.message);
      return this.answers.reply(res, auth.status, auth.message, auth.hint, { 'www-authenticate': 'Bearer realm="mcp-starter"' });
    }
    await this.serveMcp(req, res, auth.authInfo);
  }

  /** Logs a refusal once per client, reason and minute (never the token itself). */
  private refused(reason: 'host' | 'origin' | 'token', socket: Socket, fields: Record<string, unknown>, message: string): void {
    this.refusals.hit(reason, remoteOf(socket), { reason, ...fields }, `request refused: ${message}`);
  }

  /** An authenticated request to /mcp, from its claim on the caller's share to its answer. */
  private async serveMcp(req: IncomingMessage, res: ServerResponse, authInfo: AuthInfo): Promise<void> {
    const socket = req.socket;
    const learner = tokenLearnerOf(authInfo);
    const offender = learner === undefined ? remoteOf(socket) : authInfo.clientId;
    // A POST carries an MCP message: timed from here, refusals included (GET and DELETE carry none).
    const operation =
      isProbe(authInfo) || req.method !== 'POST' ? undefined : this.operations.begin(req.headers['mcp-method'], req.headers['mcp-name']);
    res.once('close', () => operation?.end(res.statusCode, res.writableFinished));
    const ticket = this.gate.claim({ connection: socket, learner, reserved: isProbe(authInfo) });
    if (!('caller' in ticket)) return this.answers.refuse(res, ticket, offender);
    const token = learner === undefined ? undefined : authInfo.token;
    const exchange: Exchange = { controller: new AbortController(), token, ticket, operation };
    this.exchanges.add(exchange);
    // In flight from its headers on (a body still arriving, a wait for a slot): what `status` shows and a stop waits for.
    // The daemon's probe is not a learner: its requests stay out of the figures (DESIGN.md, Metrics).
    const end = isProbe(authInfo) ? (): void => undefined : this.options.stats.begin();
    res.once('close', () => end(res.statusCode < 500 && res.writableFinished));
    res.once('close', () => {
      if (!res.writableFinished) exchange.controller.abort();
    });
    try {
      const body = await this.admit(req, res, exchange, offender);
      if (body) await this.run(req, res, exchange, authInfo, body);
    } finally {
      this.exchanges.delete(exchange);
      ticket.release();
    }
  }

  /** Reads the body and waits for a slot: the body when the request may run; undefined when it was answered instead, or its client left. */
  private async admit(req: IncomingMessage, res: ServerResponse, exchange: Exchange, offender: string): Promise<Admitted | undefined> {
    const { config } = this.options;
    const { signal } = exchange.controller;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const body = hasBody ? await readBody(req, { maxBytes: config.maxBodyBytes, timeoutMs: config.requestTimeoutMs, signal }) : undefined;
    if (signal.aborted) return this.ended(req, res, signal);
    if (body && !body.ok) {
      if (body.reason === 'too-large') this.answers.tooLarge(req, res, body.bytes);
      if (body.reason === 'timeout') this.answers.bodyTimeout(req, res, body.bytes, offender);
      return undefined;
    }
    const parsed = parseJsonBody(body?.text);
    exchange.operation?.request(parsed);
    const stream = isStreamRequest(parsed) || (req.method === 'GET' && (req.headers.accept ?? '').includes('text/event-stream'));
    const refusal = (stream ? exchange.ticket.asStream() : undefined) ?? (await exchange.ticket.start(signal));
    if (signal.aborted) return this.ended(req, res, signal);
    if (refusal) {
      this.answers.refuse(res, refusal, offender);
      return undefined;
    }
    return { text: body?.text ?? '', parsed };
  }

  /** Runs the MCP handler and writes its answer (a stream until it ends, or `signal` ends it). */
  private async run(req: IncomingMessage, res: ServerResponse, exchange: Exchange, authInfo: AuthInfo, body: Admitted): Promise<void> {
    const { stats, handler } = this.options;
    const { signal } = exchange.controller;
    const answer = await handler.fetch(webRequest(req, body.text, signal), {
      authInfo,
      ...(body.parsed === undefined ? {} : { parsedBody: body.parsed }),
    });
    const response = exchange.operation ? await exchange.operation.answer(answer) : answer;
    if (signal.aborted) {
      await response.body?.cancel().catch(() => undefined);
      this.ended(req, res, signal);
      return;
    }
    await writeWebResponse(res, response, {
      signal,
      extraHeaders: (): Record<string, string> => (this.draining ? { connection: 'close' } : {}),
      onStream: () => {
        stats.openStreams++;
        res.once('close', () => stats.openStreams--);
      },
    });
  }

  /** An exchange ended from outside (client gone, learner revoked, stop): answers if it still can. */
  private ended(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): undefined {
    if (signal.reason === REVOKED) this.answers.revoked(req, res);
    else if (signal.reason === STOPPING) this.answers.stopping(res);
    return undefined;
  }

  /** Learners revoked from another process (`mcp-starterctl learners revoke`) lose what they hold open. */
  private recheckTokens(): void {
    const checked = new Map<string, boolean>();
    for (const e of this.exchanges) {
      if (e.token === undefined || e.controller.signal.aborted) continue;
      let valid = checked.get(e.token);
      if (valid === undefined) {
        try {
          valid = this.options.auth.isStillValid(e.token);
        } catch (err) {
          // The database did not answer: keep serving; the next check decides.
          this.options.log.warn({ err }, 'could not re-check a learner token');
          valid = true;
        }
        checked.set(e.token, valid);
      }
      if (!valid) e.controller.abort(REVOKED);
    }
  }

  /**
   * Stops accepting, lets in-flight requests and streams finish (up to `timeoutMs`), then closes
   * what is left; resolves when no connection is open. A stop answers new requests on open
   * connections with 503; a handover (a new server takes the port's new connections) still
   * serves them, each with `Connection: close`, so no client sees a failure.
   */
  async drain(timeoutMs: number, { handover = false }: { handover?: boolean } = {}): Promise<{ forced: boolean }> {
    this.draining = true;
    this.handover = handover;
    // net.Server's close: stop accepting without http.Server's closeIdleConnections(), which
    // resets keep-alive sockets whose next request is already on the wire.
    if (this.server.listening) NetServer.prototype.close.call(this.server);
    const deadline = performance.now() + timeoutMs;
    const stats = this.options.stats;
    if (!handover) this.gate.refuseQueued(STOPPING_REFUSAL);
    this.tracker.startDraining(handover ? { stop: false, idleMs: this.options.config.drainIdleCloseMs } : { stop: true });
    // Plain requests first; streams (which may never end by themselves) are closed after them.
    await waitUntil(() => stats.inFlight - stats.openStreams <= 0 && this.gate.queued === 0, deadline);
    for (const e of this.exchanges) if (e.ticket.isStream) e.controller.abort(STOPPING);
    if (stats.openStreams > 0) await this.options.handler.close();
    const clean = await waitUntil(() => this.tracker.size === 0, Math.max(deadline, performance.now() + 200));
    if (!clean) this.tracker.destroyAll();
    clearInterval(this.recheckTimer);
    this.tracker.close();
    return { forced: !clean };
  }

  /** Closes at once (tests, errors); `drain` is the graceful way. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.draining = true;
      clearInterval(this.recheckTimer);
      this.gate.refuseQueued(STOPPING_REFUSAL);
      await this.options.handler.close();
      this.tracker.destroyAll();
      this.tracker.close();
      if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    })();
    return this.closePromise;
  }
}

/** Polls `done` every 20 ms until it holds or `untilMs` (performance.now) passes. */
async function waitUntil(done: () => boolean, untilMs: number): Promise<boolean> {
  while (!done()) {
    if (performance.now() >= untilMs) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
