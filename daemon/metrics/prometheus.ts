import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import { AppError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { OPERATION_BUCKETS_SECONDS } from '../../shared/schemas/ipc.js';
import { ChildState, MetricsRule } from '../../shared/schemas/rpc.js';
import type { OperationTotal, OperationTotals } from './operations.js';

/** What `/metrics` reads at each scrape. The daemon implements it over its components. */
export interface PrometheusSource {
  childState(): ChildState;
  /** Restarts of the child since the daemon started. */
  restarts(): number;
  /** The running child's CPU time, user and system, in seconds; null when no child runs (exported as 0). */
  childCpuSecondsTotal(): number | null;
  /** The running child's resident memory in bytes; null when no child runs (exported as 0). */
  childRssBytes(): number | null;
  /** Availability over 24 h and 7 d as a ratio (0…1); null while there is no history (that window is left out). */
  availability(): { h24: number | null; d7: number | null };
  activeLearners(): number;
  /** Rules of the alerts active now (`cpu`, `memory`, `response_time`, `disk`). */
  activeAlertRules(): readonly string[];
  /** The learners' MCP operations since the daemon started (from the child's stats). */
  operations(): OperationTotals;
}

/** Limits of the `/metrics` listener: every surface is hostile input (DESIGN.md, Limits). */
export interface PrometheusLimits {
  /** A client must send its request headers within this. */
  headersTimeoutMs: number;
  /** A client must send its whole request within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are closed at once (a scraper needs one). */
  maxConnections: number;
}

export const PROMETHEUS_LIMITS: PrometheusLimits = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 16,
};

/** Request headers, in bytes: a scrape sends a few hundred. */
const MAX_HEADER_BYTES = 8 * 1024;

/** Repeated client errors (malformed or slow requests) are logged at most this often. */
const CLIENT_ERROR_LOG_MS = 60_000;

const HISTOGRAM_NAME = 'mcp_server_operation_duration_seconds';

export interface PrometheusExporterOptions {
  host: string;
  port: number;
  log: Logger;
  source: PrometheusSource;
  limits?: Partial<PrometheusLimits>;
}

/** One sample of a metric as prom-client's Registry reads it from `get()`. */
interface Sample {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * `mcp_server_operation_duration_seconds`, a histogram of the totals the children report as
 * bucket counts. prom-client's Histogram can only observe single values, so this is a metric
 * object of our own that its Registry formats (and escapes) like its own: it reads `name`,
 * `help`, `type` and the samples `get()` returns, and `reset()` (lib/registry.js).
 */
class OperationDurationHistogram {
  readonly name = HISTOGRAM_NAME;
  readonly help = 'Duration of the learners MCP requests, as the server saw them (OpenTelemetry mcp.server.operation.duration).';
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(private readonly series: () => readonly OperationTotal[]) {}

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values = this.series().flatMap((s) => histogramSamples(s));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    // The totals belong to the daemon's OperationTotals; nothing is kept here.
  }
}

/** A label set's `_bucket` (cumulative, up to `+Inf`), `_sum` and `_count` samples. */
function histogramSamples(s: OperationTotal): Sample[] {
  const labels = { mcp_method_name: s.method, gen_ai_tool_name: s.tool, error_type: s.errorType };
  const samples: Sample[] = [];
  let cumulative = 0;
  OPERATION_BUCKETS_SECONDS.forEach((bound, i) => {
    cumulative += s.buckets[i] ?? 0;
    samples.push({ metricName: `${HISTOGRAM_NAME}_bucket`, labels: { ...labels, le: String(bound) }, value: cumulative });
  });
  samples.push(
    { metricName: `${HISTOGRAM_NAME}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.count },
    { metricName: `${HISTOGRAM_NAME}_sum`, labels, value: s.sumSeconds },
    { metricName: `${HISTOGRAM_NAME}_count`, labels, value: s.count },
  );
  return samples;
}

/** Registers DESIGN.md's metrics on `registry`; each reads `source` when scraped. */
function registerMetrics(registry: Registry, source: PrometheusSource): void {
  const registers = [registry];
  new Gauge({
    name: 'mcp_starter_child_state',
    help: 'The MCP server child process state: 1 for the current state, 0 for the others.',
    labelNames: ['state'],
    registers,
    collect() {
      const now = source.childState();
      for (const state of ChildState.options) this.set({ state }, state === now ? 1 : 0);
    },
  });
  new Counter({
    name: 'mcp_starter_child_restarts_total',
    help: 'Restarts of the MCP server child since the daemon started.',
    registers,
    collect() {
      this.reset();
      this.inc(source.restarts());
    },
  });
  new Counter({
    name: 'mcp_starter_child_cpu_seconds_total',
    help: 'CPU time of the running MCP server child, user and system, in seconds (0 when none runs).',
    registers,
    collect() {
      this.reset();
      this.inc(source.childCpuSecondsTotal() ?? 0);
    },
  });
  new Gauge({
    name: 'mcp_starter_child_resident_memory_bytes',
    help: 'Resident memory of the running MCP server child, in bytes (0 when none runs).',
    registers,
    collect() {
      this.set(source.childRssBytes() ?? 0);
    },
  });
  new Gauge({
    name: 'mcp_starter_availability_ratio',
    help: 'Share of the window in which the MCP server answered (downtime counted, planned stops apart); goal 0.99.',
    labelNames: ['window'],
    registers,
    collect() {
      this.reset();
      const { h24, d7 } = source.availability();
      if (h24 !== null) this.set({ window: '24h' }, h24);
      if (d7 !== null) this.set({ window: '7d' }, d7);
    },
  });
  new Gauge({
    name: 'mcp_starter_active_learners',
    help: 'Learners active in the last minutes, as the MCP server counts them.',
    registers,
    collect() {
      this.set(source.activeLearners());
    },
  });
  new Gauge({
    name: 'mcp_starter_alert_active',
    help: 'Whether an alert of the rule is active: 1 or 0.',
    labelNames: ['rule'],
    registers,
    collect() {
      this.reset();
      const active = new Set(source.activeAlertRules());
      for (const rule of new Set([...MetricsRule.options, ...active])) this.set({ rule }, active.has(rule) ? 1 : 0);
    },
  });
  const histogram = new OperationDurationHistogram(() => source.operations().series());
  // prom-client's typings accept only its own classes; its Registry needs no more than this object has (see the class).
  registry.registerMetric(histogram as unknown as Metric);
}

/**
 * The optional Prometheus endpoint (`prometheus.port`, off by default): `GET|HEAD /metrics` in
 * the text exposition format, with its own registry (the daemon's process_* and nodejs_*
 * figures, and DESIGN.md's mcp_* metrics read from `source` at each scrape).
 */
export class PrometheusExporter {
  private readonly registry = new Registry();
  private readonly server: Server;
  private readonly log: Logger;
  private scrapeFailing = false;
  private clientErrors = { lastLogMs: -Infinity, repeated: 0 };
  private closePromise: Promise<void> | undefined;

  constructor(private readonly options: PrometheusExporterOptions) {
    this.log = options.log;
    const limits = { ...PROMETHEUS_LIMITS, ...options.limits };
    collectDefaultMetrics({ register: this.registry });
    registerMetrics(this.registry, options.source);
    this.server = createServer({
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above every 30 s by default: far too late for a 5 s limit.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      maxHeaderSize: MAX_HEADER_BYTES,
    });
    this.server.maxConnections = limits.maxConnections;
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.onRequest(req, res).catch((err: unknown) => {
        this.log.error({ err, url: req.url }, 'Prometheus request failed');
        res.destroy();
      });
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
  }

  /** Binds host:port. Rejects with E_PORT_IN_USE when the port is taken. */
  async listen(): Promise<{ url: string }> {
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, host, port));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${shownHost}:${address.port}/metrics`;
    this.log.info({ event: 'prometheus_listening', url }, `Prometheus metrics at ${url}`);
    return { url };
  }

  /** Stops listening and closes every connection. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closePromise;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return reply(res, 404, 'Nothing here: the metrics are at /metrics.');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'Use GET or HEAD on /metrics.', { allow: 'GET, HEAD' });
    let text: string;
    try {
      text = await this.registry.metrics();
    } catch (err) {
      if (!this.scrapeFailing) this.log.error({ event: 'prometheus_scrape_failed', err }, 'a Prometheus scrape failed');
      this.scrapeFailing = true;
      return reply(res, 500, 'The metrics could not be collected; the daemon log has the error.');
    }
    if (this.scrapeFailing) this.log.info({ event: 'prometheus_scrape_recovered' }, 'Prometheus scrapes work again');
    this.scrapeFailing = false;
    res.writeHead(200, {
      'content-type': this.registry.contentType,
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  /** Malformed, oversized or too slow requests: answered if the socket still can, logged once a minute. */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code !== 'ECONNRESET') {
      const nowMs = performance.now();
      if (nowMs - this.clientErrors.lastLogMs >= CLIENT_ERROR_LOG_MS) {
        this.log.warn(
          { event: 'limit_hit', limit: 'prometheus_request', code: err.code, repeated: this.clientErrors.repeated },
          'a request to the Prometheus endpoint was malformed or too slow; closed',
        );
        this.clientErrors = { lastLogMs: nowMs, repeated: 0 };
      } else this.clientErrors.repeated++;
    }
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(
      `HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
  }
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  if (err.code === 'EADDRINUSE') {
    return new AppError('E_PORT_IN_USE', `The Prometheus port ${port} on ${host} is already in use.`, {
      hint: 'Stop the program that holds it (`ss -ltnp` shows it), or set another `prometheus.port` in the config file or MCP_STARTER_PROMETHEUS_PORT (0 turns /metrics off).',
      cause: err,
    });
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES') {
    return new AppError('E_CONFIG_INVALID', `The Prometheus endpoint cannot listen on ${host}:${port} (${err.code}).`, {
      hint: 'Set `prometheus.host` to an address of this machine (127.0.0.1 unless you mean to expose it) and `prometheus.port` to a free port above 1023.',
      cause: err,
    });
  }
  return err;
}
