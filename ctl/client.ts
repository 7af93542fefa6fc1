import { createRequire } from 'node:module';
import { createConnection, type Socket } from 'node:net';
import type * as JsonRpc from 'json-rpc-2.0';
import { AppError, ERROR_CODES, type ErrorCode } from '../shared/errors.js';
import { LineSplitter } from '../shared/lines.js';
import type { MethodName, RpcParamsInput, RpcResult } from '../shared/schemas/rpc.js';
import { checkJson, type Issue } from './json-check.js';
import { ERROR_DATA_JSON_SCHEMA, RESULT_JSON_SCHEMAS } from './rpc-schemas.generated.js';

// json-rpc-2.0 is CommonJS. Importing it from ESM runs Node's CommonJS export detection over its
// files, which cost more than the rest of `ctl status` together (bench/ctl.ts); require() does not.
const { JSONRPCClient, JSONRPCErrorException, createJSONRPCErrorResponse, isJSONRPCResponse } = createRequire(import.meta.url)(
  'json-rpc-2.0',
) as typeof JsonRpc;

export type { RpcResult };
/** What a method takes, before the daemon applies its defaults. */
export type RpcParams<M extends MethodName> = RpcParamsInput<M>;

/** Connecting to a Unix socket is instant unless the daemon is wedged; never wait longer than this for it. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Answers are one line each; a line this long means the peer is not our daemon. */
export const MAX_RESPONSE_CHARS = 16 * 1024 * 1024;

const START_HINT = 'Start it: `npm start` in the mcp-starter checkout, or `systemctl start mcp-starter`.';
const OTHER_DIR_HINT = 'If it runs with another data dir, pass --data-dir DIR (or --socket PATH).';

/** Marks the error response our per-call timer makes (json-rpc-2.0 hands `data` through as is). */
const TIMED_OUT = Object.freeze({ timedOut: true });
/** json-rpc-2.0's code for requests it fails itself (send failed, rejectAllPendingRequests). */
const CLIENT_SIDE_CODE = 0;

export type NotificationHandler = (method: string, params: unknown) => void;

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function issuesOf(issues: readonly Issue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'result'}: ${i.message}`)
    .join('; ');
}

/** The daemon's error as an AppError: `data.code` names it; the JSON-RPC code is the fallback. */
function fromRpcError(method: string, error: JsonRpc.JSONRPCErrorException): AppError {
  const checked = checkJson(ERROR_DATA_JSON_SCHEMA, error.data);
  const data = checked.ok && isRecord(checked.value) ? checked.value : undefined;
  const code = typeof data?.['code'] === 'string' ? data['code'] : undefined;
  const hint = typeof data?.['hint'] === 'string' ? data['hint'] : undefined;
  if (code !== undefined && isErrorCode(code)) return new AppError(code, error.message, { hint });
  const byRpc = Object.entries(ERROR_CODES).find(([, info]) => info.rpc === error.code)?.[0];
  return new AppError(
    byRpc !== undefined && isErrorCode(byRpc) ? byRpc : 'E_INTERNAL',
    `mcp-starterd refused \`${method}\` (error ${error.code}): ${error.message}`,
    { hint: hint ?? 'Check mcp-starterd\u2019s log for the details.' },
  );
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
 * The method's result, checked against its schema from shared/schemas/rpc.ts (in the generated
 * JSON Schema form; test/ctl.test.ts proves the check agrees with zod's). The one place an
 * answer becomes a typed value.
 */
function validResult<M extends MethodName>(method: M, raw: unknown): RpcResult<M> {
  const checked = checkJson(RESULT_JSON_SCHEMAS[method], raw);
  if (!checked.ok) throw notUnderstood('a result', method, issuesOf(checked.issues));
  return checked.value as RpcResult<M>;
}

/**
 * A JSON-RPC 2.0 client for the control socket (json-rpc-2.0's JSONRPCClient): one request
 * object per line out, one response or notification per line in, split by the shared
 * LineSplitter. Every result is validated with the method's schema, so a daemon answering
 * garbage is an error that says so, not a crash.
 */
export class ControlClient {
  private readonly rpc: JsonRpc.JSONRPCClient;
  private readonly lines: LineSplitter;
  private closedError: AppError | undefined;
  /** The method of the request in flight, for the messages about a lost connection. */
  private current = 'a request';
  private onNotification: NotificationHandler = () => undefined;

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
  ) {
    this.rpc = new JSONRPCClient((payload: unknown) => {
      if (this.closedError) throw this.closedError;
      socket.write(`${JSON.stringify(payload)}\n`);
    });
    this.lines = new LineSplitter({
      maxLineLength: MAX_RESPONSE_CHARS,
      overflow: 'discard',
      onLine: (line) => this.onLine(line),
      onOverflow: () => this.fail(notUnderstood('a line', this.current, `longer than ${MAX_RESPONSE_CHARS} characters`)),
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.lines.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(this.lost(`the connection failed (${err.code ?? err.message})`)));
    socket.on('close', () => this.fail(this.lost('it closed the connection')));
  }

  /** Connects to the daemon's socket; E_NOT_RUNNING (exit 3) when nothing is there. */
  static connect(socketPath: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const limitMs = Math.min(timeoutMs, CONNECT_TIMEOUT_MS);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new AppError('E_NOT_RUNNING', `mcp-starterd did not accept a connection on ${socketPath} within ${formatSeconds(limitMs)}.`, {
            hint: 'It may be hung: look at its log (`journalctl -u mcp-starter`), or restart it (`systemctl restart mcp-starter`).',
          }),
        );
      }, limitMs);
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
    this.current = method;
    let raw: unknown;
    try {
      raw = await this.rpc
        .timeout(timeoutMs, (id) => createJSONRPCErrorResponse(id, CLIENT_SIDE_CODE, 'timed out', TIMED_OUT))
        .request(method, params);
    } catch (err) {
      throw this.callError(method, timeoutMs, err);
    }
    return validResult(method, raw);
  }

  close(): void {
    this.socket.destroy();
  }

  private callError(method: string, timeoutMs: number, err: unknown): AppError {
    if (err instanceof JSONRPCErrorException && err.data === TIMED_OUT) {
      return new AppError(
        'E_NOT_RUNNING',
        `mcp-starterd did not answer \`${method}\` within ${formatSeconds(timeoutMs)} (socket ${this.socketPath}).`,
        {
          hint:
            'It may be hung or still busy: the operation can still finish inside the daemon, so check `mcp-starterctl status`, and its log. ' +
            'Give a slow operation longer with MCP_STARTER_CTL_TIMEOUT_MS=<milliseconds>.',
        },
      );
    }
    if (err instanceof JSONRPCErrorException && err.code !== CLIENT_SIDE_CODE) return fromRpcError(method, err);
    return this.closedError ?? this.lost(err instanceof Error ? err.message : String(err));
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.fail(notUnderstood('a line', this.current, `not JSON: ${JSON.stringify(line.slice(0, 80))}`));
      return;
    }
    if (!isRecord(message) || message['jsonrpc'] !== '2.0') {
      this.fail(notUnderstood('a message', this.current, 'not a JSON-RPC 2.0 message'));
      return;
    }
    if (isJSONRPCResponse(message)) {
      const error: unknown = message.error;
      if (error !== undefined && !(isRecord(error) && typeof error['code'] === 'number' && typeof error['message'] === 'string')) {
        this.fail(notUnderstood('an error', this.current, 'its `error` is not {code, message}'));
        return;
      }
      // An answer to nothing we asked (or to a request that already timed out) changes nothing.
      this.rpc.receive(message);
      return;
    }
    if (typeof message['method'] === 'string' && message['id'] === undefined) {
      this.onNotification(message['method'], message['params']);
      return;
    }
    this.fail(notUnderstood('a message', this.current, 'not a JSON-RPC 2.0 response'));
  }

  private lost(what: string): AppError {
    return new AppError('E_NOT_RUNNING', `mcp-starterd stopped answering: ${what} before answering \`${this.current}\`.`, {
      hint: 'It may have crashed or been restarted: `mcp-starterctl status` shows whether it is back, and its log why it went away.',
    });
  }

  /** The connection is done: every request in flight (and any later one) fails with `err`. */
  private fail(err: AppError): void {
    this.closedError ??= err;
    this.rpc.rejectAllPendingRequests(err.message);
    this.socket.destroy();
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

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
