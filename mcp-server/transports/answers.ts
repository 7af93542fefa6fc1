import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { httpErrorBody, rawHttpError } from '../../shared/http-error.js';
import type { Config } from '../../shared/schemas/config.js';
import { dropRest } from './body.js';
import type { OffenderLog } from './offenders.js';
import type { Refusal } from './refusal.js';

/** After an error answer, this many times `maxBodyBytes` of a body still arriving are read and dropped so the client can read the answer. */
const DROP_FACTOR = 8;
/** How long a client has to read the answer that ends a slow connection before it is closed. */
const LINGER_MS = 1_000;

/** What the transport's state adds to an answer. */
export interface AnswerContext {
  /** Answers end their connection (`Connection: close`): the server is draining. */
  closing: () => boolean;
  /** Refusals are the stop's doing, not the client's: not logged as a limit hit. */
  stopping: () => boolean;
  queued: () => number;
}

/**
 * The transport's error answers: each a JSON-RPC error body with a message and what to do, the
 * status the limit calls for, and one log line per offender (OffenderLog), never one per request.
 */
export class ErrorAnswers {
  constructor(
    private readonly config: Config['server'],
    private readonly offenders: OffenderLog,
    private readonly context: AnswerContext,
  ) {}

  reply(res: ServerResponse, status: number, message: string, hint: string, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return;
    const body = httpErrorBody(message, hint);
    if (this.context.closing()) headers['connection'] = 'close';
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  refuse(res: ServerResponse, refusal: Refusal, offender: string): void {
    if (!this.context.stopping()) {
      this.offenders.hit(
        refusal.limit,
        offender,
        { status: refusal.status, queued: this.context.queued() },
        `limit ${refusal.limit} hit: ${refusal.message}`,
      );
    }
    this.reply(res, refusal.status, refusal.message, refusal.hint, { 'retry-after': String(refusal.retryAfterS) });
  }

  tooLarge(req: IncomingMessage, res: ServerResponse, bytes: number): void {
    const { maxBodyBytes } = this.config;
    const declared = req.headers['content-length'] !== undefined;
    this.offenders.hit('maxBodyBytes', remoteOf(req.socket), { status: 413, bytes }, 'limit maxBodyBytes hit: request body too large');
    this.replyAndClose(
      req,
      res,
      413,
      declared
        ? `The request body (${bytes} bytes) is larger than the ${maxBodyBytes}-byte limit.`
        : `The request body (over ${maxBodyBytes} bytes, sent in chunks) is larger than the ${maxBodyBytes}-byte limit.`,
      'Send shorter arguments; answers are a letter or a few words.',
      this.config.requestTimeoutMs,
    );
  }

  bodyTimeout(req: IncomingMessage, res: ServerResponse, bytes: number, offender: string): void {
    const { requestTimeoutMs } = this.config;
    this.offenders.hit('requestTimeoutMs', offender, { status: 408, bytes }, 'limit requestTimeoutMs hit: request body unfinished');
    this.replyAndClose(
      req,
      res,
      408,
      `The request body did not arrive within ${requestTimeoutMs} ms (${bytes} bytes came).`,
      'Send the whole request at once; the server closes requests whose body stops.',
      LINGER_MS,
    );
  }

  /** A connection whose request headers did not complete in time: it has no request object yet, so the answer is raw. */
  headerTimeout(socket: Socket, waitedMs: number): void {
    const { headersTimeoutMs } = this.config;
    this.offenders.hit(
      'headersTimeoutMs',
      remoteOf(socket),
      { status: 408, waitedMs: Math.round(waitedMs) },
      'limit headersTimeoutMs hit: request headers unfinished',
    );
    if (!socket.writable) return void socket.destroy();
    socket.end(
      rawHttpError(
        408,
        `The request headers did not arrive within ${headersTimeoutMs} ms.`,
        'Send the whole request at once; the server closes slow connections.',
      ),
    );
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  revoked(req: IncomingMessage, res: ServerResponse): void {
    this.replyAndClose(
      req,
      res,
      401,
      'Your learner token was revoked while this request was open.',
      'Ask the operator for a new token (`mcp-starterctl learners add NAME`).',
      LINGER_MS,
    );
  }

  /** A request that arrived, or had not started, when a stop began. */
  stopping(res: ServerResponse): void {
    this.reply(res, 503, 'The server is restarting or stopping and takes no new requests.', 'Retry in a moment; your progress is saved.', {
      'retry-after': '1',
    });
  }

  /** An error answer that ends the connection while its request body may still be arriving (the client still reads it). */
  private replyAndClose(req: IncomingMessage, res: ServerResponse, status: number, message: string, hint: string, lingerMs: number): void {
    dropRest(req, req.socket, { maxBytes: DROP_FACTOR * this.config.maxBodyBytes, timeoutMs: lingerMs });
    this.reply(res, status, message, hint, { connection: 'close' });
  }
}

/** Who to name in the log for a connection without a token learner. */
export function remoteOf(socket: Socket): string {
  return socket.remoteAddress ?? 'local socket';
}
