import { chmodSync, existsSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import {
  createJSONRPCErrorResponse,
  JSONRPCServer,
  type JSONRPCErrorResponse,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import { z } from 'zod';
import { AppError, toAppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { CONTROL_MAX_LINE_BYTES, METHODS, type MethodName } from '../shared/schemas/rpc.js';

/** One control connection; handlers get it to push notifications (`subscribe`). */
export class ControlConnection {
  readonly topics = new Set<string>();

  constructor(readonly socket: Socket) {}

  get open(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  write(message: JSONRPCResponse | { jsonrpc: '2.0'; method: string; params: unknown }): void {
    if (this.open) this.socket.write(`${JSON.stringify(message)}\n`);
  }

  notify(method: string, params: unknown): void {
    this.write({ jsonrpc: '2.0', method, params });
  }
}

export type MethodHandler = (params: unknown, connection: ControlConnection) => unknown;

function errorResponse(id: JSONRPCRequest['id'] | null, err: AppError): JSONRPCErrorResponse {
  return createJSONRPCErrorResponse(
    id ?? null,
    err.rpcCode,
    err.message,
    err.hint === undefined ? { code: err.code } : { code: err.code, hint: err.hint },
  );
}

/**
 * The control API: JSON-RPC 2.0, one object per line, on a Unix socket created mode 0600 (under
 * a restrictive umask, never chmod after bind). Malformed input gets an error with a code and a
 * hint; the connection and the daemon stay up.
 */
export class ControlServer {
  private readonly rpc = new JSONRPCServer<ControlConnection>();
  private readonly server: Server;
  readonly connections = new Set<ControlConnection>();
  private listening = false;

  constructor(
    readonly socketPath: string,
    private readonly log: Logger,
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
  }

  /** Registers a method; its params are parsed with the shared schema before the handler runs. */
  method(name: MethodName, handler: MethodHandler): void {
    const [paramsSchema] = METHODS[name];
    this.rpc.addMethod(name, async (params, connection) => {
      const parsed = (paramsSchema as z.ZodType).safeParse(params ?? undefined);
      if (!parsed.success) {
        throw new AppError(
          'E_BAD_PARAMS',
          `Invalid params for ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ')}.`,
          {
            hint: 'Check the parameter names and types against DESIGN.md, or use mcp-starterctl.',
          },
        );
      }
      return (await handler(parsed.data, connection)) ?? null;
    });
  }

  async listen(): Promise<void> {
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath); // the lock is ours, so this socket is stale
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.socketPath, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previous);
    }
    this.listening = true;
    const mode = statSync(this.socketPath).mode & 0o777;
    if (mode !== 0o600) {
      // Not expected under the umask above; refuse to run with a socket others could use.
      chmodSync(this.socketPath, 0o600);
      this.log.warn({ mode: mode.toString(8) }, 'control socket had an unexpected mode');
    }
  }

  private onConnection(socket: Socket): void {
    const connection = new ControlConnection(socket);
    this.connections.add(connection);
    socket.on('close', () => this.connections.delete(connection));
    socket.on('error', (err) => this.log.debug({ err }, 'control connection error'));
    let buf = '';
    let discarding = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (discarding) discarding = false;
        else this.onLine(line, connection);
      }
      if (Buffer.byteLength(buf) > CONTROL_MAX_LINE_BYTES) {
        buf = '';
        if (!discarding) {
          discarding = true;
          connection.write(
            errorResponse(
              null,
              new AppError('E_RPC_TOO_LARGE', `A control message is larger than ${CONTROL_MAX_LINE_BYTES} bytes.`, {
                hint: 'Send one smaller JSON object per line.',
              }),
            ),
          );
        }
      }
    });
  }

  private onLine(line: string, connection: ControlConnection): void {
    if (line.trim() === '') return;
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      connection.write(
        errorResponse(
          null,
          new AppError('E_RPC_PARSE', 'The control message is not valid JSON.', { hint: 'Send one JSON-RPC 2.0 object per line.' }),
        ),
      );
      return;
    }
    void Promise.resolve(this.rpc.receive(request as JSONRPCRequest, connection)).then(
      (response) => {
        if (response) connection.write(response);
      },
      (err: unknown) => this.log.error({ err }, 'control request failed'),
    );
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
