import { createConnection, type Socket } from 'node:net';
import { z } from 'zod';
import { AppError, ERROR_CODES, type ErrorCode } from '../shared/errors.js';
import { METHODS, RpcErrorData, type MethodName } from '../shared/schemas/rpc.js';

/** What a method takes (before the daemon applies defaults) and what it answers (after validation). */
export type RpcParams<M extends MethodName> = z.input<(typeof METHODS)[M][0]>;
export type RpcResult<M extends MethodName> = z.output<(typeof METHODS)[M][1]>;

/** Connecting to a Unix socket is instant unless the daemon is wedged; never wait longer than this for it. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Answers are one line each; a line this long means the peer is not our daemon. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

const Id = z.union([z.number(), z.string(), z.null()]);
const ErrorResponse = z.object({
  jsonrpc: z.literal('2.0'),
  id: Id,
  error: z.object({ code: z.number(), message: z.string(), data: z.unknown().optional() }),
});
const ResultResponse = z.object({ jsonrpc: z.literal('2.0'), id: Id, result: z.unknown() });
const Notification = z.object({ jsonrpc: z.literal('2.0'), method: z.string(), params: z.unknown().optional() });

const START_HINT = 'Start it: `npm start` in the mcp-starter checkout, or `systemctl start mcp-starter`.';
const OTHER_DIR_HINT = 'If it runs with another data dir, pass --data-dir DIR (or --socket PATH).';

interface Pending {
  method: MethodName;
  resolve: (raw: unknown) => void;
  reject: (err: AppError) => void;
  timer: NodeJS.Timeout;
}

export type NotificationHandler = (method: string, params: unknown) => void;

type ResultSchemas = { readonly [M in MethodName]: z.ZodType<RpcResult<M>> };

/** Each method's result schema, typed per method (TS cannot index METHODS with a generic key and keep the link). */
const RESULTS: ResultSchemas = {
  status: METHODS.status[1],
  start: METHODS.start[1],
  stop: METHODS.stop[1],
  restart: METHODS.restart[1],
  'config.reload': METHODS['config.reload'][1],
  emergencyStop: METHODS.emergencyStop[1],
  subscribe: METHODS.subscribe[1],
};

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The daemon's error as an AppError: `data.code` names it; the JSON-RPC code is the fallback. */
function fromRpcError(method: MethodName, error: z.infer<typeof ErrorResponse>['error']): AppError {
  const data = RpcErrorData.safeParse(error.data);
  if (data.success && isErrorCode(data.data.code)) return new AppError(data.data.code, error.message, { hint: data.data.hint });
  const byRpc = Object.entries(ERROR_CODES).find(([, info]) => info.rpc === error.code)?.[0];
  const code = byRpc !== undefined && isErrorCode(byRpc) ? byRpc : 'E_INTERNAL';
  return new AppError(code, `mcp-starterd refused \`${method}\` (error ${error.code}): ${error.message}`, {
    hint: data.success ? data.data.hint : 'Check mcp-starterd\u2019s log for the details.',
  });
}

function notUnderstood(what: string, method: string, detail: string): AppError {
  return new AppError(
    'E_INTERNAL',
    `mcp-starterd answered \`${method}\` with ${what} this mcp-starterctl does not understand (${detail}).`,
    {
      hint: 'The daemon and ctl are probably from different releases: restart mcp-starterd after an upgrade (`systemctl restart mcp-starter`).',
    },
  );
}

function issuesOf(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'result'}: ${i.message}`)
    .join('; ');
}

function connectError(socketPath: string, err: NodeJS.ErrnoException): AppError {
  switch (err.code ?? '') {
    case 'ENOENT':
      return new AppError('E_NOT_RUNNING', `mcp-starterd is not running (no socket at ${socketPath}).`, {
        hint: `${START_HINT} ${OTHER_DIR_HINT}`,
        cause: err,
      });
    case 'ECONNREFUSED':
      return new AppError('E_NOT_RUNNING', `mcp-starterd is not running (nothing listens on the socket at ${socketPath}).`, {
        hint: `${START_HINT} The socket file was left by a daemon that stopped; the next start removes it.`,
        cause: err,
      });
    case 'EACCES':
    case 'EPERM':
      return new AppError('E_DATA_DIR', `Permission denied on the control socket ${socketPath}.`, {
        hint: 'The socket is private to the user that runs mcp-starterd: run mcp-starterctl as that user (for example `sudo -u mcp-starter mcp-starterctl ...`).',
        cause: err,
      });
    default:
      return new AppError('E_NOT_RUNNING', `Cannot reach mcp-starterd at ${socketPath} (${err.code ?? err.message}).`, {
        hint: `${START_HINT} ${OTHER_DIR_HINT}`,
        cause: err,
      });
  }
}

/**
 * A JSON-RPC 2.0 client for the control socket: one request object per line out, one response
 * (or notification) per line in. Every result is validated with the method's schema from
 * shared/schemas/rpc.ts, so a daemon answering garbage is an error that says so, not a crash.
 */
export class ControlClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffer = '';
  private closedError: AppError | undefined;
  private onNotification: NotificationHandler = () => undefined;

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(this.lost(`the connection failed (${err.code ?? err.message})`)));
    socket.on('close', () => this.fail(this.lost('it closed the connection')));
  }

  /** Connects to the daemon's socket; E_NOT_RUNNING (exit 3) when nothing is there. */
  static connect(socketPath: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const timer = setTimeout(
        () => {
          socket.destroy();
          reject(
            new AppError('E_NOT_RUNNING', `mcp-starterd did not accept a connection on ${socketPath} within ${timeoutMs / 1000} s.`, {
              hint: 'It may be hung: look at its log (`journalctl -u mcp-starter`), or restart it (`systemctl restart mcp-starter`).',
            }),
          );
        },
        Math.min(timeoutMs, CONNECT_TIMEOUT_MS),
      );
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(socketPath, err));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient(socket, socketPath));
      });
    });
  }

  /** Receives the notifications the daemon pushes after `subscribe`. */
  setNotificationHandler(handler: NotificationHandler): void {
    this.onNotification = handler;
  }

  /** Sends one request and resolves with its validated result; rejects with an AppError. */
  async call<M extends MethodName>(method: M, params: RpcParams<M>, timeoutMs: number): Promise<RpcResult<M>> {
    const raw = await this.send(method, params, timeoutMs);
    const schema: z.ZodType<RpcResult<M>> = RESULTS[method];
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw notUnderstood('a result', method, issuesOf(parsed.error));
    return parsed.data;
  }

  close(): void {
    this.socket.destroy();
  }

  private send(method: MethodName, params: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new AppError(
            'E_NOT_RUNNING',
            `mcp-starterd did not answer \`${method}\` within ${formatSeconds(timeoutMs)} (socket ${this.socketPath}).`,
            {
              hint:
                'It may be hung or still busy: the operation can still finish inside the daemon, so check `mcp-starterctl status`, and its log. ' +
                'Give a slow operation longer with MCP_STARTER_CTL_TIMEOUT_MS=<milliseconds>.',
            },
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      const request = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      this.socket.write(`${JSON.stringify(request)}\n`);
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_RESPONSE_BYTES) {
      this.fail(notUnderstood('a line', this.firstPendingMethod(), `longer than ${MAX_RESPONSE_BYTES} bytes`));
      this.socket.destroy();
      return;
    }
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line !== '') this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.fail(notUnderstood('a line', this.firstPendingMethod(), `not JSON: ${JSON.stringify(line.slice(0, 80))}`));
      this.socket.destroy();
      return;
    }
    const error = ErrorResponse.safeParse(message);
    if (error.success) return this.settle(error.data.id, (p) => p.reject(fromRpcError(p.method, error.data.error)));
    const result = ResultResponse.safeParse(message);
    if (result.success) return this.settle(result.data.id, (p) => p.resolve(result.data.result));
    const notification = Notification.safeParse(message);
    if (notification.success) return this.onNotification(notification.data.method, notification.data.params);
    this.fail(notUnderstood('a message', this.firstPendingMethod(), 'not a JSON-RPC 2.0 response'));
    this.socket.destroy();
  }

  private settle(id: z.infer<typeof Id>, action: (pending: Pending) => void): void {
    // An answer to nothing we asked (or to a request that already timed out) changes nothing:
    // the timeout already told the caller.
    if (typeof id !== 'number') return;
    const pending = this.pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(id);
    action(pending);
  }

  private firstPendingMethod(): string {
    return this.pending.values().next().value?.method ?? 'a request';
  }

  private lost(what: string): AppError {
    return new AppError('E_NOT_RUNNING', `mcp-starterd stopped answering: ${what} before answering \`${this.firstPendingMethod()}\`.`, {
      hint: 'It may have crashed or been restarted: `mcp-starterctl status` shows whether it is back, and its log why it went away.',
    });
  }

  private fail(err: AppError): void {
    this.closedError ??= err;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(err);
    }
  }
}

/** Connects, sends one request, and closes: what every one-shot ctl command does. */
export async function callDaemon<M extends MethodName>(
  socketPath: string,
  method: M,
  params: RpcParams<M>,
  timeoutMs: number,
): Promise<RpcResult<M>> {
  const client = await ControlClient.connect(socketPath, timeoutMs);
  try {
    return await client.call(method, params, timeoutMs);
  } finally {
    client.close();
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
