import { createConnection, type Socket } from 'node:net';
import { AppError, ERROR_CODES, type ErrorCode } from '../shared/errors.js';
import { LineSplitter } from '../shared/lines.js';
import type { RpcParams } from './client.js';
import { MAX_RESPONSE_CHARS } from './client.js';
import { checkJson } from './json-check.js';
import { RESULT_JSON_SCHEMAS } from './rpc-schemas.generated.js';

type Topics = NonNullable<RpcParams<'subscribe'>>['topics'];

export type NotificationHandler = (method: string, params: unknown) => void;

const SUBSCRIBE_ID = 1;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** The daemon's refusal (a bad topic, too many connections) as the AppError it names. */
function refusal(error: unknown): AppError {
  const e = isRecord(error) ? error : {};
  const data = isRecord(e['data']) ? e['data'] : {};
  const message = typeof e['message'] === 'string' ? e['message'] : 'mcp-starterd refused `subscribe`.';
  const hint = typeof data['hint'] === 'string' ? data['hint'] : 'Check mcp-starterd\u2019s log for the details.';
  return new AppError(isErrorCode(data['code']) ? data['code'] : 'E_INTERNAL', message, { hint });
}

function garbled(detail: string): AppError {
  return new AppError('E_INTERNAL', `mcp-starterd sent a line on the subscription this mcp-starterctl does not understand (${detail}).`, {
    hint: 'The daemon and ctl are probably from different releases: restart mcp-starterd after an upgrade (`systemctl restart mcp-starter`).',
  });
}

/**
 * A `subscribe` connection of its own: the notifications, and `ended`, which settles with why the
 * stream stopped (the daemon dropped this subscriber, closed the connection, or sent garbage).
 * ControlClient answers requests but says nothing when a connection with none in flight closes,
 * which is all a subscriber ever waits on.
 */
export class Subscription {
  /** Resolves with the reason the daemon ended the stream; never when `close()` ended it. */
  readonly ended: Promise<AppError>;
  private endWith: (err: AppError) => void = () => undefined;
  private isClosing = false;

  private constructor(private readonly socket: Socket) {
    this.ended = new Promise((resolve) => {
      this.endWith = (err) => {
        if (!this.isClosing) resolve(err);
        this.isClosing = true;
        socket.destroy();
      };
    });
  }

  /** Subscribes to `topics`; resolves once the daemon confirms, with `onNotification` already receiving. */
  static open(socketPath: string, topics: Topics, onNotification: NotificationHandler, timeoutMs: number): Promise<Subscription> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const sub = new Subscription(socket);
      const timer = setTimeout(
        () => sub.endWith(new AppError('E_NOT_RUNNING', `mcp-starterd did not confirm \`subscribe\` in time.`)),
        timeoutMs,
      );
      let isConfirmed = false;
      void sub.ended.then((err) => {
        clearTimeout(timer);
        if (!isConfirmed) reject(err);
      });
      sub.listen(
        (method, params) => onNotification(method, params),
        () => {
          isConfirmed = true;
          clearTimeout(timer);
          resolve(sub);
        },
      );
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: SUBSCRIBE_ID, method: 'subscribe', params: { topics } })}\n`);
    });
  }

  /** Ends the subscription from this side (`ended` stays pending). */
  close(): void {
    this.isClosing = true;
    this.socket.destroy();
  }

  private listen(onNotification: NotificationHandler, onConfirmed: () => void): void {
    const lines = new LineSplitter({
      maxLineLength: MAX_RESPONSE_CHARS,
      overflow: 'discard',
      onLine: (line) => this.onLine(line, onNotification, onConfirmed),
      onOverflow: () => this.endWith(garbled(`a line longer than ${MAX_RESPONSE_CHARS} characters`)),
    });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => lines.push(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.endWith(gone(`the connection failed (${err.code ?? err.message})`)));
    this.socket.on('close', () => this.endWith(gone('it closed the connection')));
  }

  private onLine(line: string, onNotification: NotificationHandler, onConfirmed: () => void): void {
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.endWith(garbled(`not JSON: ${JSON.stringify(line.slice(0, 80))}`));
      return;
    }
    if (!isRecord(message) || message['jsonrpc'] !== '2.0') return this.endWith(garbled('not a JSON-RPC 2.0 message'));
    if (message['error'] !== undefined) return this.endWith(refusal(message['error']));
    if (message['id'] === SUBSCRIBE_ID) {
      const checked = checkJson(RESULT_JSON_SCHEMAS.subscribe, message['result']);
      return checked.ok ? onConfirmed() : this.endWith(garbled('its answer to `subscribe` is not {topics}'));
    }
    if (typeof message['method'] !== 'string') return this.endWith(garbled('not a notification'));
    if (message['method'] === 'dropped') {
      const reason = isRecord(message['params']) && typeof message['params']['reason'] === 'string' ? message['params']['reason'] : '';
      return this.endWith(
        new AppError('E_NOT_RUNNING', `mcp-starterd ended the subscription: ${reason || 'it dropped this subscriber'}`, {
          hint: 'Run the command again; on a slow terminal or pipe, read its output faster (or use --count N).',
        }),
      );
    }
    onNotification(message['method'], message['params']);
  }
}

function gone(what: string): AppError {
  return new AppError('E_NOT_RUNNING', `mcp-starterd went away: ${what}.`, {
    hint: 'It may have stopped, crashed or been restarted: `mcp-starterctl status` shows whether it is back, and its log why it went away.',
  });
}
