import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { AuthInfo, McpHttpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { validateHostHeader, validateOriginHeader } from '@modelcontextprotocol/server';
import { AppError } from '../../shared/errors.js';
import { isLoopbackHost, isWildcardHost } from '../../shared/http-config.js';
import { httpErrorBody } from '../../shared/http-error.js';
import type { Logger } from '../../shared/logger.js';
import type { Config } from '../../shared/schemas/config.js';
import type { HealthBody } from '../../shared/schemas/http.js';
import type { HttpAuthenticator } from '../auth.js';
import type { RequestStats } from '../stats.js';

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
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function allowedNames(config: Config['server'], extra: readonly string[]): string[] {
  const names = new Set<string>(extra.map((h) => h.toLowerCase()));
  if (isLoopbackHost(config.host)) for (const n of LOOPBACK_NAMES) names.add(n);
  if (!isWildcardHost(config.host)) names.add(bracketed(config.host).toLowerCase());
  return [...names];
}

type RequestWithAuth = IncomingMessage & { auth?: AuthInfo };

/**
 * Streamable HTTP at `/mcp` and `GET|HEAD /health` on node:http, with what the SDK entry leaves
 * to us: Host/Origin checks, a body limit, timeouts, caps on concurrent requests and open
 * streams, bearer authentication, and a drain that loses no request in flight.
 */
export class HttpTransport {
  readonly server: Server;
  private readonly sockets = new Map<Socket, number>();
  private readonly nodeHandler;
  private readonly allowedHosts: string[];
  private readonly allowedOrigins: string[];
  private draining = false;
  /** During a handover requests on open connections are still served (with `Connection: close`). */
  private handover = false;
  private closePromise: Promise<void> | undefined;

  constructor(private readonly options: HttpTransportOptions) {
    const { config } = options;
    this.nodeHandler = toNodeHandler(options.handler, {
      maxRequestBodySize: config.maxBodyBytes,
      onerror: (err) => options.log.error({ err }, 'MCP handler failed'),
    });
    this.allowedHosts = allowedNames(config, config.allowedHosts);
    this.allowedOrigins = allowedNames(config, config.allowedOrigins);
    this.server = createServer({
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.set(socket, 0);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.onRequest(req, res).catch((err: unknown) => {
        options.log.error({ err, url: req.url }, 'request failed');
        if (!res.headersSent) this.reply(res, 500, 'Internal error while handling the request.', 'See the server log.');
        else res.destroy();
      });
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // Malformed HTTP or a header timeout: answer if the socket still can, never crash.
      if (socket.writable && err.code !== 'ECONNRESET')
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  get openSockets(): number {
    return this.sockets.size;
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

  private reply(res: ServerResponse, status: number, message: string, hint: string, headers: Record<string, string> = {}): void {
    const body = httpErrorBody(message, hint);
    if (this.draining) headers['connection'] = 'close';
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  private health(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.reply(res, 405, `${req.method ?? ''} is not allowed on /health.`, 'Use GET or HEAD.', { allow: 'GET, HEAD' });
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

  private async onRequest(req: RequestWithAuth, res: ServerResponse): Promise<void> {
    const { config, stats } = this.options;
    const socket = req.socket;
    this.sockets.set(socket, (this.sockets.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const n = (this.sockets.get(socket) ?? 1) - 1;
      if (this.sockets.has(socket)) this.sockets.set(socket, n);
      if (this.draining && !this.handover && n === 0) socket.end();
    });
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!this.checkHostAndOrigin(req, res)) return;
    if (path === '/health') return this.health(req, res);
    if (this.draining && !this.handover) {
      return this.reply(
        res,
        503,
        'The server is restarting or stopping and takes no new requests.',
        'Retry in a moment; your progress is saved.',
        { 'retry-after': '1' },
      );
    }
    if (path !== '/mcp') return this.reply(res, 404, `Nothing at ${path}.`, 'The MCP endpoint is /mcp; /health reports status.');
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > config.maxBodyBytes) {
      return this.reply(
        res,
        413,
        `The request body (${length} bytes) is larger than the ${config.maxBodyBytes}-byte limit.`,
        'Send shorter arguments; answers are a letter or a few words.',
        {
          connection: 'close',
        },
      );
    }
    if (stats.inFlight >= config.maxConcurrentRequests || stats.openStreams >= config.maxOpenStreams) {
      return this.reply(res, 503, 'The server is busy (too many requests or streams at once).', 'Retry in a second.', {
        'retry-after': '1',
      });
    }
    const auth = await this.options.auth.authenticate(req.headers.authorization);
    if (!auth.ok) return this.reply(res, auth.status, auth.message, auth.hint, { 'www-authenticate': 'Bearer realm="mcp-starter"' });
    req.auth = auth.authInfo;
    const end = stats.begin();
    this.countStream(res);
    res.once('close', () => end(res.statusCode < 500 && res.writableFinished));
    await this.nodeHandler(req, res);
  }

  /** DNS-rebinding protection: the Host (and a browser's Origin) must be a name this server is reached by. */
  private checkHostAndOrigin(req: IncomingMessage, res: ServerResponse): boolean {
    const host = validateHostHeader(req.headers.host, this.allowedHosts);
    if (!host.ok) {
      this.reply(
        res,
        403,
        `${host.message}.`,
        `If clients really reach this server by that name, add it to server.allowedHosts (allowed now: ${this.allowedHosts.join(', ')}).`,
      );
      return false;
    }
    const origin = validateOriginHeader(req.headers.origin, this.allowedOrigins);
    if (!origin.ok) {
      this.reply(
        res,
        403,
        `${origin.message}.`,
        `If this web page may use the server, add its host name to server.allowedOrigins (allowed now: ${this.allowedOrigins.join(', ')}).`,
      );
      return false;
    }
    return true;
  }

  /** Counts SSE responses while they are open (for the stream cap and the daemon's stats). */
  private countStream(res: ServerResponse): void {
    const stats = this.options.stats;
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    (res as { writeHead: (...args: unknown[]) => ServerResponse }).writeHead = (...args: unknown[]) => {
      if (this.draining) res.setHeader('connection', 'close');
      const out = writeHead(...args);
      if (String(res.getHeader('content-type') ?? findContentType(args)).startsWith('text/event-stream')) {
        stats.openStreams++;
        res.once('close', () => stats.openStreams--);
      }
      return out;
    };
  }

  /**
   * Stops accepting, lets in-flight requests and streams finish (up to `timeoutMs`), then closes
   * what is left; resolves when no connection is open. A stop answers new requests on open
   * connections with 503; a handover (a new child already serves the port) still serves them,
   * each with `Connection: close`, so no client sees a failure.
   */
  async drain(timeoutMs: number, { handover = false }: { handover?: boolean } = {}): Promise<{ forced: boolean }> {
    this.draining = true;
    this.handover = handover;
    // net.Server's close: stop accepting without http.Server's closeIdleConnections(), which
    // resets keep-alive sockets whose next request is already on the wire.
    NetServer.prototype.close.call(this.server);
    const deadline = performance.now() + timeoutMs;
    const waitUntil = async (done: () => boolean, untilMs: number): Promise<boolean> => {
      while (!done()) {
        if (performance.now() >= untilMs) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    };
    const stats = this.options.stats;
    // Plain requests first; streams (which may never end by themselves) are closed after them.
    await waitUntil(() => stats.inFlight - stats.openStreams <= 0, deadline);
    if (stats.openStreams > 0) await this.options.handler.close();
    // An idle connection's next request would only get a 503, so a stop may close it now; a
    // handover waits for the client or the keep-alive timeout instead (no request is cut).
    if (!handover) for (const [socket, active] of this.sockets) if (active === 0) socket.end();
    const clean = await waitUntil(() => this.sockets.size === 0, Math.max(deadline, performance.now() + 200));
    if (!clean) this.server.closeAllConnections();
    return { forced: !clean };
  }

  /** Closes at once (tests, errors); `drain` is the graceful way. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.draining = true;
      await this.options.handler.close();
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    })();
    return this.closePromise;
  }
}

function findContentType(args: unknown[]): string {
  const headers = args.find((a): a is Record<string, unknown> => typeof a === 'object' && a !== null && !Array.isArray(a));
  if (!headers) return '';
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === 'content-type') return String(v);
  return '';
}
