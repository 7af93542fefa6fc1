import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  SdkHttpError,
  StreamableHTTPClientTransport,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
} from '@modelcontextprotocol/client';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { AppError, EXIT, type ExitCode } from '../shared/errors.js';

/** A supervised server comes back within about a second; give a restart this long (DESIGN, child lifecycle). */
const RETRY_BUDGET_MS = 5_000;

/** Backoff before retry `attempt` (0-based): 100, 200, 400, 800 ms, then 1 s. */
function retryDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** attempt, 1_000);
}

const CancelledParams = z.object({ requestId: z.union([z.string(), z.number()]) });
const InitializeResult = z.object({ protocolVersion: z.string() });

interface Pending {
  method: string;
  controller: AbortController;
}

interface Failure {
  error: AppError;
  /** The server did not process the request (503, or refused while restarting): sending it again is safe. */
  isRetryable: boolean;
}

interface BridgeOptions {
  url: URL;
  token?: string | undefined;
  input: Readable;
  output: Writable;
  diagnostics: Writable;
}

/**
 * A message-level proxy: JSON-RPC lines from a stdio client go out through the SDK's Streamable
 * HTTP client transport, and whatever the server sends back comes out on stdout. Both protocol
 * eras pass through unchanged: the HTTP transport derives `MCP-Protocol-Version`, `Mcp-Method`
 * and `Mcp-Name` from each 2026-07-28 request's `_meta` envelope, and a 2025 client's
 * `initialize` result tells us the version header its later requests need.
 */
class Bridge {
  private readonly stdio: StdioServerTransport;
  private readonly http: StreamableHTTPClientTransport;
  private readonly pending = new Map<RequestId, Pending>();
  /** Whether the server has answered at all: a refused connection after that means a restart. */
  private hasReached = false;
  private lastDiagnostic = '';
  private exitCode: ExitCode = EXIT.ok;
  private closing: Promise<void> | undefined;
  /** Aborted on close: ends notifications in flight and retry waits. */
  private readonly lifetime = new AbortController();
  readonly closed: Promise<ExitCode>;

  constructor(private readonly options: BridgeOptions) {
    this.stdio = new StdioServerTransport(options.input, options.output);
    const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    this.http = new StreamableHTTPClientTransport(options.url, { requestInit: { headers } });
    let resolveClosed: (code: ExitCode) => void = () => undefined;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    this.stdio.onmessage = (message) => this.fromClient(message);
    this.stdio.onerror = (err) => this.onStdioError(err);
    this.stdio.onclose = () => {
      void this.close()
        .catch((err: unknown) => this.onStdioError(err instanceof Error ? err : new Error(String(err))))
        .finally(() => resolveClosed(this.exitCode));
    };
    this.http.onmessage = (message) => this.fromServer(message);
    // Failures reach us per request (send's rejection, onRequestStreamEnd); the transport reports
    // them here too, and a second report would only repeat the first.
    this.http.onerror = () => undefined;
  }

  async start(): Promise<void> {
    await this.http.start();
    await this.stdio.start();
  }

  private fromClient(message: JSONRPCMessage): void {
    if (isJSONRPCRequest(message)) {
      void this.forwardRequest(message).catch((err: unknown) => this.diagnose(this.classify(err).error));
      return;
    }
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      // Cancelling is aborting the request's HTTP exchange: a stateless server has no session
      // in which a separate cancel notification could find the request.
      const parsed = CancelledParams.safeParse(message.params);
      if (!parsed.success) return;
      const id = parsed.data.requestId;
      this.pending.get(id)?.controller.abort();
      this.pending.delete(id);
      return;
    }
    // Notifications and answers to server requests: nobody waits for a reply, so a failure is
    // only reported on stderr.
    void this.sendWithRetry(message, this.lifetime.signal).catch((err: unknown) => {
      if (!this.lifetime.signal.aborted) this.diagnose(this.classify(err).error);
    });
  }

  private async forwardRequest(request: JSONRPCRequest): Promise<void> {
    const controller = new AbortController();
    this.pending.set(request.id, { method: request.method, controller });
    try {
      await this.sendWithRetry(request, controller.signal, () => this.onStreamEnd(request.id));
    } catch (err) {
      // Cancelled by the client, or the bridge is closing: no answer is owed.
      if (controller.signal.aborted) return;
      await this.answerError(request.id, this.classify(err).error);
    }
  }

  private async sendWithRetry(message: JSONRPCMessage, signal: AbortSignal, onRequestStreamEnd?: () => void): Promise<void> {
    const startedMs = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.http.send(message, { requestSignal: signal, onRequestStreamEnd });
        this.hasReached = true;
        this.lastDiagnostic = ''; // working again: the next problem is news
        return;
      } catch (err) {
        if (signal.aborted) throw err;
        const failure = this.classify(err);
        if (err instanceof SdkHttpError) this.hasReached = true;
        const delayMs = retryDelayMs(attempt);
        if (!failure.isRetryable || performance.now() - startedMs + delayMs > RETRY_BUDGET_MS) throw failure.error;
        await sleep(delayMs, undefined, { signal });
      }
    }
  }

  private onStreamEnd(id: RequestId): void {
    if (!this.pending.has(id)) return;
    const error = new AppError('E_NOT_RUNNING', `${this.options.url.href} closed the connection before answering`, {
      hint: 'the server may be restarting; send the request again. `mcp-starterctl status` shows its state.',
    });
    void this.answerError(id, error).catch((err: unknown) => this.diagnose(this.classify(err).error));
  }

  private fromServer(message: JSONRPCMessage): void {
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      const id = message.id;
      const pending = id === undefined ? undefined : this.pending.get(id);
      if (id !== undefined) this.pending.delete(id);
      if (pending?.method === 'initialize' && isJSONRPCResultResponse(message)) {
        // 2025 era: later POSTs carry the negotiated version header (2025-06-18 transport spec).
        const result = InitializeResult.safeParse(message.result);
        if (result.success) this.http.setProtocolVersion(result.data.protocolVersion);
      }
    }
    void this.toClient(message);
  }

  private async answerError(id: RequestId, error: AppError): Promise<void> {
    if (!this.pending.delete(id)) return;
    this.diagnose(error);
    await this.toClient({
      jsonrpc: '2.0',
      id,
      error: { code: error.rpcCode, message: oneLine(error), data: error.toJSON() },
    });
  }

  /** Writes to stdout; never rejects. */
  private async toClient(message: JSONRPCMessage): Promise<void> {
    try {
      await this.stdio.send(message);
    } catch {
      // stdout is gone (the client went away); onStdioError/onclose end the bridge.
    }
  }

  private onStdioError(err: Error): void {
    // A line that is JSON but not JSON-RPC. (Lines that are not JSON at all the SDK's stdio
    // transport skips without a word, as it does for any stdio server.)
    if (err.name === 'ZodError') {
      // JSON-RPC says `id: null` here; the SDK's schema (and so its clients) wants the id left out.
      const error = { code: -32600, message: 'Invalid request: a line on stdin is not a JSON-RPC 2.0 message.' };
      this.writeDiagnostic(`${error.message} → send one JSON-RPC message per line`);
      void this.toClient({ jsonrpc: '2.0', error });
      return;
    }
    this.exitCode = EXIT.bad;
    this.writeDiagnostic(`stdio failed: ${err.message}`);
  }

  private classify(err: unknown): Failure {
    if (err instanceof AppError) return { error: err, isRetryable: false };
    if (err instanceof SdkHttpError) return { error: this.httpError(err), isRetryable: err.status === 503 };
    const url = this.options.url.href;
    const code = networkCode(err);
    if (code !== undefined && CONNECT_CODES.has(code)) {
      const error = new AppError('E_NOT_RUNNING', `cannot reach ${url} (${code})`, {
        hint: 'is mcp-starterd running? `mcp-starterctl status`',
        cause: err,
      });
      // Refused after the server has answered: it is restarting, and comes back within a second.
      return { error, isRetryable: this.hasReached && code === 'ECONNREFUSED' };
    }
    if (code !== undefined) {
      // The request may have reached the server, so it is not sent again.
      const error = new AppError('E_NOT_RUNNING', `lost the connection to ${url} (${code}) before it answered`, {
        hint: 'the server may have restarted; send the request again. `mcp-starterctl status` shows its state.',
        cause: err,
      });
      return { error, isRetryable: false };
    }
    const message = err instanceof Error ? err.message : String(err);
    const error = new AppError('E_INTERNAL', `the bridge to ${url} failed: ${message}`, {
      hint: 'run it again; if it repeats, report it with this line.',
      cause: err,
    });
    return { error, isRetryable: false };
  }

  private httpError(err: SdkHttpError): AppError {
    const url = this.options.url.href;
    const said = serverMessage(err);
    if (err.status === 401 || err.status === 403) {
      const hint = this.options.token
        ? 'the learner token was not accepted; the operator can issue a new one with `mcp-starterctl learners add NAME`'
        : 'give a learner token: MCP_STARTER_TOKEN=TOKEN in the client\u2019s env, or --token-file FILE (`mcp-starterctl connect --token TOKEN` works too, but shows it in the process list); the operator issues one with `mcp-starterctl learners add NAME`';
      return new AppError('E_UNAUTHORIZED', `${url} refused the request (HTTP ${err.status}): ${said.message}`, { hint, cause: err });
    }
    if (err.status === 503) {
      return new AppError(
        'E_TIMEOUT',
        `${url} is restarting or busy (HTTP 503) and did not recover within ${RETRY_BUDGET_MS / 1000} s: ${said.message}`,
        {
          hint: '`mcp-starterctl status` shows the server state; try again in a moment.',
          cause: err,
        },
      );
    }
    return new AppError('E_INTERNAL', `${url} answered HTTP ${err.status}: ${said.message}`, {
      hint: said.hint ?? '`mcp-starterctl logs` shows what the server saw.',
      cause: err,
    });
  }

  private diagnose(error: AppError): void {
    this.writeDiagnostic(oneLine(error));
  }

  /** One line per new problem: a client retrying against a stopped server must not flood the log. */
  private writeDiagnostic(line: string): void {
    if (line === this.lastDiagnostic) return;
    this.lastDiagnostic = line;
    this.options.diagnostics.write(`mcp-starterctl connect: ${line}\n`);
  }

  /** Ends every exchange in flight and the HTTP side. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.lifetime.abort();
      for (const { controller } of this.pending.values()) controller.abort();
      this.pending.clear();
      await this.stdio.close();
      await this.http.close();
    })();
    return this.closing;
  }
}

function oneLine(error: AppError): string {
  return error.hint === undefined ? error.message : `${error.message} → ${error.hint}`;
}

/** An HTTP error body from our server: JSON-RPC with `data: {message, hint}` (mcp-server/transports/http.ts). */
const ServerErrorBody = z.object({
  error: z.object({
    message: z.string(),
    data: z.object({ message: z.string(), hint: z.string().optional() }).optional(),
  }),
});

/** The server's own words from an HTTP error body, else its text or status line. */
function serverMessage(err: SdkHttpError): { message: string; hint?: string | undefined } {
  const text = typeof err.data['text'] === 'string' ? err.data['text'] : '';
  const body = ServerErrorBody.safeParse(parseJson(text));
  if (body.success) return body.data.error.data ?? { message: body.data.error.message };
  return { message: text.replace(/\s+/g, ' ').trim().slice(0, 200) || err.statusText || `HTTP ${err.status}` };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not JSON (a proxy's HTML page, say): the caller falls back to the text
  }
}

/** Failures to open a connection: the request never reached the server. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The errno-style code (ECONNREFUSED, ENOTFOUND, …) somewhere in a fetch failure's cause chain. */
function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
  }
  return undefined;
}

/**
 * `mcp-starterctl connect`: bridges this process's stdin/stdout (a stdio MCP client such as
 * Claude Desktop) to the supervised Streamable HTTP server at `url`. stdout carries protocol
 * only; problems are one line each on stderr. Resolves with an exit code when stdin closes.
 */
export async function runConnect(options: { url: string; token?: string }): Promise<number> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    process.stderr.write(`mcp-starterctl connect: "${options.url}" is not a URL → pass --url http://127.0.0.1:8000/mcp\n`);
    return EXIT.usage;
  }
  if (process.stdin.isTTY) {
    process.stderr.write(
      `mcp-starterctl connect: bridging stdio to ${url.href}; waiting for JSON-RPC on stdin → this command is for MCP clients: put it in your client's config (see etc/clients/); Ctrl-D ends it\n`,
    );
  }
  const bridge = new Bridge({ url, token: options.token, input: process.stdin, output: process.stdout, diagnostics: process.stderr });
  await bridge.start();
  return bridge.closed;
}
