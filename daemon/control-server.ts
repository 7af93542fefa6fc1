import { unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import {
  createJSONRPCErrorResponse,
  JSONRPCServer,
  type JSONRPCErrorResponse,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import type { z } from 'zod';
import { AppError, toAppError } from '../shared/errors.js';
import { LineSplitter } from '../shared/lines.js';
import type { Logger } from '../shared/logger.js';
import { listenPrivate } from './unix-socket.js';
import type { Config } from '../shared/schemas/config.js';
import { METHODS, PARAM_SCHEMAS, type MethodName, type RpcParams, type RpcResultInput } from '../shared/schemas/rpc.js';

export type ControlLimits = Config['control'];

/** Requests in one batch; a longer batch is refused whole. */
const MAX_BATCH = 64;

/** How long a dropped subscriber's connection stays open for it to read the `dropped` notice. */
const DROPPED_LINGER_MS = 10_000;

/** One control connection; handlers get it to push notifications (`subscribe`). */
export class ControlConnection {
  readonly topics = new Set<string>();
  private dropped = false;

  constructor(
    readonly socket: Socket,
    private readonly maxBufferBytes: number,
    private readonly log: Logger,
  ) {}

  get open(): boolean {
    return !this.socket.destroyed && this.socket.writable && !this.dropped;
  }

  write(message: JSONRPCResponse | JSONRPCResponse[] | { jsonrpc: '2.0'; method: string; params: unknown }): void {
    if (this.open) this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /**
   * Pushes a notification. A subscriber that does not read falls behind; past its buffer it is
   * told once and dropped, so it can never grow the daemon.
   */
  notify(method: string, params: unknown): void {
    if (!this.open) return;
    if (this.socket.writableLength > this.maxBufferBytes) {
      this.dropped = true;
      this.topics.clear();
      this.log.warn({ event: 'subscriber_dropped', buffered: this.socket.writableLength }, 'a subscriber stopped reading; dropped');
      this.socket.end(
        `${JSON.stringify({
          jsonrpc: '2.0',
          method: 'dropped',
          params: { reason: `You fell more than ${this.maxBufferBytes} bytes behind; subscribe again and read faster.` },
        })}\n`,
      );
      // What is buffered is bounded (the limit and this line): a slow reader gets a while to learn why.
      setTimeout(() => this.socket.destroy(), DROPPED_LINGER_MS).unref();
      return;
    }
    this.socket.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  }
}

/** A handler gets its params parsed with the shared schema and returns what the result schema accepts. */
export type MethodHandler<M extends MethodName> = (
  params: RpcParams<M>,
  connection: ControlConnection,
) => RpcResultInput<M> | Promise<RpcResultInput<M>>;

function errorResponse(id: JSONRPCRequest['id'] | null, err: AppError): JSONRPCErrorResponse {
  return createJSONRPCErrorResponse(
    id ?? null,
    err.rpcCode,
    err.message,
    err.hint === undefined ? { code: err.code } : { code: err.code, hint: err.hint },
  );
}

const invalidRequest = (): AppError =>
  new AppError('E_RPC_INVALID', 'Not a JSON-RPC 2.0 request.', {
    hint: 'Send {"jsonrpc":"2.0","id":1,"method":"status"}: an id that is a number or a short string, a method name, params as an object.',
  });

/** What json-rpc-2.0 may see: a request whose id we can echo safely (no deep object to serialise). */
function isRequest(value: unknown): value is JSONRPCRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const r = value as Record<string, unknown>;
  const id = r['id'];
  const idOk = id === undefined || id === null || typeof id === 'number' || (typeof id === 'string' && id.length <= 256);
  const params = r['params'];
  return r['jsonrpc'] === '2.0' && typeof r['method'] === 'string' && idOk && (params === undefined || typeof params === 'object');
}

/** The id to answer a malformed request with: its own when that is a plain one, else null. */
function safeId(value: unknown): JSONRPCRequest['id'] | null {
  if (typeof value !== 'object' || value === null) return null;
  const id = (value as Record<string, unknown>)['id'];
  return typeof id === 'number' || (typeof id === 'string' && id.length <= 256) ? id : null;
}

/**
 * The control API: JSON-RPC 2.0, one object per line, on a Unix socket created mode 0600 (under
 * a restrictive umask, never chmod after bind). Every surface limit is here: line size, batch
 * size, connections, idle time, a subscriber's buffer. A bad line costs that line, a bad
 * connection that connection, never the daemon.
 */
export class ControlServer {
  private readonly rpc = new JSONRPCServer<ControlConnection>();
  private readonly server: Server;
  readonly connections = new Set<ControlConnection>();
  private listening = false;
  private refusedLogged = false;

  constructor(
    readonly socketPath: string,
    private readonly log: Logger,
    private readonly limits: ControlLimits,
  ) {
    this.rpc.mapErrorToJSONRPCErrorResponse = (id, error) => {
      const appErr = toAppError(error);
      if (appErr.code === 'E_INTERNAL') log.error({ err: error }, 'control method failed');
      return errorResponse(id, appErr);
    };
    this.rpc.handleMethodNotFound = (request) =>
      Promise.resolve(
        errorResponse(
          request.id ?? null,
          new AppError('E_RPC_METHOD', `Unknown method "${request.method}".`, { hint: `Methods: ${Object.keys(METHODS).join(', ')}.` }),
        ),
      );
    this.server = createServer((socket) => this.onConnection(socket));
    this.server.on('error', (err) => log.error({ err }, 'control socket error'));
  }

  /** Registers a method; its params are parsed with the shared schema before the handler runs. */
  method<M extends MethodName>(name: M, handler: MethodHandler<M>): void {
    const schema: z.ZodType<RpcParams<M>> = PARAM_SCHEMAS[name];
    this.rpc.addMethod(name, async (params, connection) => {
      const parsed = schema.safeParse(params ?? undefined);
      if (!parsed.success) {
        throw new AppError(
          'E_BAD_PARAMS',
          `Invalid params for ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ')}.`,
          { hint: 'Check the parameter names and types against DESIGN.md, or use mcp-starterctl.' },
        );
      }
      return (await handler(parsed.data, connection)) ?? null;
    });
  }

  async listen(): Promise<void> {
    await listenPrivate(this.server, this.socketPath, this.log);
    this.listening = true;
  }

  private onConnection(socket: Socket): void {
    socket.on('error', (err) => this.log.debug({ err }, 'control connection error'));
    if (this.connections.size >= this.limits.maxConnections) {
      if (!this.refusedLogged) {
        this.refusedLogged = true;
        this.log.warn({ event: 'control_refused', max: this.limits.maxConnections }, 'control socket: too many connections; refusing more');
      }
      const err = new AppError('E_BUSY', `mcp-starterd already has ${this.limits.maxConnections} control connections open.`, {
        hint: 'Close idle `mcp-starterctl top`/`logs -f` sessions, or raise control.maxConnections.',
      });
      socket.end(`${JSON.stringify(errorResponse(null, err))}\n`);
      return;
    }
    this.refusedLogged = false;
    const connection = new ControlConnection(socket, this.limits.maxSubscriberBufferBytes, this.log);
    this.connections.add(connection);
    socket.on('close', () => this.connections.delete(connection));
    // Idle means neither a request nor a subscription: a subscriber waits for pushes by design.
    socket.setTimeout(this.limits.idleTimeoutMs, () => {
      if (connection.topics.size === 0) socket.destroy();
    });
    const lines = new LineSplitter({
      maxLineLength: this.limits.maxLineBytes,
      overflow: 'discard',
      onLine: (line) => this.onLine(line, connection),
      onOverflow: () =>
        connection.write(
          errorResponse(
            null,
            new AppError('E_RPC_TOO_LARGE', `A control message is larger than ${this.limits.maxLineBytes} bytes.`, {
              hint: 'Send one smaller JSON object per line.',
            }),
          ),
        ),
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      try {
        lines.push(chunk);
      } catch (err) {
        // Never expected; a connection that breaks the reader loses itself, not the daemon.
        this.log.error({ err }, 'control connection failed; closing it');
        socket.destroy();
      }
    });
  }

  private onLine(line: string, connection: ControlConnection): void {
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      connection.write(
        errorResponse(
          null,
          new AppError('E_RPC_PARSE', 'The control message is not valid JSON.', { hint: 'Send one JSON-RPC 2.0 object per line.' }),
        ),
      );
      return;
    }
    if (Array.isArray(message)) {
      if (message.length === 0 || message.length > MAX_BATCH) {
        connection.write(errorResponse(null, invalidRequest()));
        return;
      }
      void Promise.all(message.map((m) => this.answer(m, connection))).then((answers) => {
        const responses = answers.filter((a): a is JSONRPCResponse => a !== null);
        if (responses.length > 0) connection.write(responses);
      });
      return;
    }
    void this.answer(message, connection).then((response) => {
      if (response) connection.write(response);
    });
  }

  /** One request's answer (null for a notification); never rejects. */
  private async answer(message: unknown, connection: ControlConnection): Promise<JSONRPCResponse | null> {
    if (!isRequest(message)) return errorResponse(safeId(message), invalidRequest());
    try {
      return await this.rpc.receive(message, connection);
    } catch (err) {
      this.log.error({ err }, 'control request failed');
      return message.id === undefined ? null : errorResponse(message.id, toAppError(err));
    }
  }

  /** Pushes a notification to every connection subscribed to the topic. */
  publish(topic: string, params: unknown): void {
    for (const c of this.connections) if (c.topics.has(topic)) c.notify(topic, params);
  }

  /** Stops listening, ends open connections (subscribers included) and removes the socket file. */
  async close(): Promise<void> {
    // Never listened (the lock was refused): the socket file belongs to another daemon.
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.socket.end();
    const timer = setTimeout(() => {
      for (const c of this.connections) c.socket.destroy();
    }, 500);
    await closed;
    clearTimeout(timer);
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
  }
}
