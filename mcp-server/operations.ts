import { OPERATION_BUCKETS_SECONDS, type OperationWindow } from '../shared/schemas/ipc.js';
import { TOOL_OUTPUTS } from '../shared/schemas/tools.js';

/**
 * Label sets kept per stats window. Past it a new set is folded into `other` (one for successes,
 * one for failures), so no client can grow the stats message or the daemon's series.
 */
export const MAX_LABEL_SETS = 64;

/** How much of an answer is read to find its outcome; a longer one is a result (errors are short). */
const MAX_INSPECT_BYTES = 256 * 1024;

/** How long an operation whose response has closed still waits for the copy of its answer to be read. */
const OUTCOME_GRACE_MS = 1_000;

/**
 * The methods a client sends to a server (MCP 2025-11-25 and 2026-07-28), named as themselves;
 * any other value becomes `other`, so a client cannot mint label values.
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'subscriptions/listen',
  'tasks/get',
  'tasks/list',
  'tasks/result',
  'tasks/cancel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
]);

const KNOWN_TOOLS: ReadonlySet<string> = new Set(Object.keys(TOOL_OUTPUTS));

/** JSON-RPC's reserved error codes; a code outside them is reported as `_OTHER` (the convention's fallback). */
const RPC_CODE_MIN = -32768;
const RPC_CODE_MAX = -32000;

/** The labels of `mcp_server_operation_duration_seconds` (the OpenTelemetry MCP convention's attributes). */
export interface OperationLabels {
  /** `mcp.method.name`. */
  method: string;
  /** `gen_ai.tool.name`: the tool of a `tools/call`, else empty. */
  tool: string;
  /**
   * `error.type`, empty on success. As the convention asks: the JSON-RPC error code as a string
   * (`-32602`) when the answer is a JSON-RPC error; `tool_error` for a `tools/call` result with
   * `isError: true`. Ours besides: `http_<status>` when the request was refused or failed at the
   * HTTP level without a JSON-RPC answer (429, 503, 408, 413, …); `aborted` when the response
   * closed before it was complete (the client left, the stream was cut).
   */
  errorType: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function methodLabel(method: unknown): string {
  return typeof method === 'string' && KNOWN_METHODS.has(method) ? method : 'other';
}

function toolLabel(method: string, name: unknown): string {
  if (method !== 'tools/call') return '';
  return typeof name === 'string' && KNOWN_TOOLS.has(name) ? name : 'other';
}

/** The answer's error type if `msg` is the answer to a request (a result or an error), else undefined. */
function answerOutcome(msg: unknown): string | undefined {
  if (!isRecord(msg)) return undefined;
  if (isRecord(msg['error'])) {
    const code = msg['error']['code'];
    return typeof code === 'number' && Number.isInteger(code) && code >= RPC_CODE_MIN && code <= RPC_CODE_MAX ? String(code) : '_OTHER';
  }
  if ('result' in msg) return isRecord(msg['result']) && msg['result']['isError'] === true ? 'tool_error' : '';
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // not JSON: no JSON-RPC answer to read
  }
}

/** The outcome of the first answer among complete SSE events in `text`; `rest` is the unfinished tail. */
function scanEvents(text: string): { outcome: string | undefined; rest: string } {
  const events = text.split(/\r?\n\r?\n/);
  const rest = events.pop() ?? '';
  for (const event of events) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    const outcome = data === '' ? undefined : answerOutcome(parseJson(data));
    if (outcome !== undefined) return { outcome, rest: '' };
  }
  return { outcome: undefined, rest };
}

/** Reads a copy of an SSE answer up to the answer: its outcome, or undefined when none was found. */
async function readStreamOutcome(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string | undefined> {
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for (;;) {
    const next = await reader.read();
    if (next.done) break;
    bytes += next.value.byteLength;
    if (bytes > MAX_INSPECT_BYTES) return undefined;
    const scanned = scanEvents(text + decoder.decode(next.value, { stream: true }));
    if (scanned.outcome !== undefined) return scanned.outcome;
    text = scanned.rest;
  }
  return scanEvents(`${text}${decoder.decode()}\n\n`).outcome;
}

/** One MCP request from its headers to the close of its response; recorded once, when it ends. */
export class PendingOperation {
  private readonly startedMs = performance.now();
  private method: string;
  private tool: string;
  /** The answer's error type, once known ('' for a result that is not an error). */
  private found: string | undefined;
  /** An SSE answer is read from a copy while the transport writes it. */
  private copy: { reader: ReadableStreamDefaultReader<Uint8Array>; outcome: Promise<string | undefined> } | undefined;
  private ended = false;

  constructor(
    private readonly recorder: OperationRecorder,
    methodHeader: unknown,
    nameHeader: unknown,
  ) {
    // The 2026-07-28 protocol's Mcp-Method and Mcp-Name headers name it until the body is read.
    this.method = methodLabel(methodHeader);
    this.tool = toolLabel(this.method, nameHeader);
  }

  /** The request's body, parsed: its method (and tool) replace what the headers said. */
  request(parsed: unknown): void {
    if (!isRecord(parsed)) return;
    this.method = methodLabel(parsed['method']);
    const params = parsed['params'];
    this.tool = toolLabel(this.method, isRecord(params) ? params['name'] : undefined);
  }

  /**
   * The handler's answer, and what to write in its place. A JSON answer is whole already: it is
   * read here and written from the text (cheaper than a copy of its stream). An SSE answer is
   * copied and the copy read alongside the transport, up to the answer.
   */
  async answer(response: Response): Promise<Response> {
    const type = response.headers.get('content-type') ?? '';
    if (this.ended || response.body === null) return response;
    if (type.startsWith('application/json')) {
      const text = await response.text();
      this.found = text.length > MAX_INSPECT_BYTES ? '' : answerOutcome(parseJson(text));
      return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
    }
    if (!type.startsWith('text/event-stream')) return response;
    const copy = response.clone();
    const reader = copy.body?.getReader();
    if (reader) this.copy = { reader, outcome: readStreamOutcome(reader).catch(() => undefined) };
    return response;
  }

  /** The response closed with `status`; `finished` when it was sent whole. Only the first call counts. */
  end(status: number, finished: boolean): void {
    if (this.ended) return;
    this.ended = true;
    const seconds = (performance.now() - this.startedMs) / 1000;
    const fallback = status >= 400 ? `http_${status}` : finished ? '' : 'aborted';
    const record = (found: string | undefined): void =>
      this.recorder.record({ method: this.method, tool: this.tool, errorType: found ?? fallback }, seconds);
    const { copy } = this;
    if (!copy) return record(this.found);
    // The copy holds the handler's stream open until it is read or cancelled: never for long.
    const timer = setTimeout(() => void copy.reader.cancel().catch(() => undefined), OUTCOME_GRACE_MS);
    timer.unref();
    void copy.outcome.then((found) => {
      clearTimeout(timer);
      void copy.reader.cancel().catch(() => undefined);
      record(found);
    });
  }
}

/** The index in a window's `buckets` of an operation that took `seconds` (Prometheus' `le`: at most the bound). */
export function bucketIndex(seconds: number): number {
  const i = OPERATION_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
  return i === -1 ? OPERATION_BUCKETS_SECONDS.length : i;
}

/**
 * The learners' MCP operations over a stats window, one histogram per label set, sent to the
 * daemon with each `stats` message (the daemon keeps the totals it exposes to Prometheus).
 */
export class OperationRecorder {
  private windows = new Map<string, OperationWindow>();

  /** Starts timing one request (call `end` on the result when its response closes). */
  begin(methodHeader?: unknown, nameHeader?: unknown): PendingOperation {
    return new PendingOperation(this, methodHeader, nameHeader);
  }

  /** Counts one operation. */
  record(labels: OperationLabels, seconds: number): void {
    let key = `${labels.method}\u0000${labels.tool}\u0000${labels.errorType}`;
    let window = this.windows.get(key);
    if (!window && this.windows.size >= MAX_LABEL_SETS) {
      const errorType = labels.errorType === '' ? '' : 'other';
      key = `other\u0000other\u0000${errorType}`;
      window = this.windows.get(key);
      labels = { method: 'other', tool: 'other', errorType };
    }
    if (!window) {
      window = { ...labels, count: 0, sumSeconds: 0, buckets: new Array<number>(OPERATION_BUCKETS_SECONDS.length + 1).fill(0) };
      this.windows.set(key, window);
    }
    window.count++;
    window.sumSeconds += seconds;
    const i = bucketIndex(seconds);
    window.buckets[i] = (window.buckets[i] ?? 0) + 1;
  }

  /** The window's operations (per-bucket counts); starts a new window. */
  snapshot(): OperationWindow[] {
    const windows = [...this.windows.values()];
    this.windows = new Map();
    return windows;
  }
}
