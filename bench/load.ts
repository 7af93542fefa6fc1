/**
 * Load generation: N SDK clients, each awaiting its call before making the next, for a warm-up
 * and then a measured window.
 *
 * The clients run in this process. Measured on the 2-core machine (quiet cells, 32 clients): our
 * server is the bottleneck, at 100-107 % of a core (above 100: GC and libuv threads) while this
 * process uses 55-80 %. Against the bare server both sides sit near one core each (server 87-92 %,
 * load 89-100 %): the machine is full, so a second load process could only take CPU from the
 * server under test. So the load stays here, and every cell reports both sides' CPU: a
 * client-bound cell ("load CPU" near 100 %, server below) is flagged in the report's notes.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cpuMsOf, machineCpuMs } from './procs.js';

export type ClientKind = 'v2' | 'v1';

export interface ToolCallOutcome {
  isError: boolean;
  structured: Record<string, unknown> | undefined;
  /** The first text block: what an error says (errors carry no structured content). */
  text: string;
}

/** One connected client, whichever SDK it comes from. */
export interface BenchClient {
  call(name: string, args: Record<string, unknown>): Promise<ToolCallOutcome>;
  close(): Promise<void>;
}

/** A stuck call fails the call, not the bench. */
const CALL_TIMEOUT_MS = 10_000;

function outcome(result: unknown): ToolCallOutcome {
  const r = result as { isError?: unknown; structuredContent?: unknown; content?: Array<{ type?: string; text?: string }> };
  const structured =
    typeof r.structuredContent === 'object' && r.structuredContent !== null ? (r.structuredContent as Record<string, unknown>) : undefined;
  const text = r.content?.find((c) => c.type === 'text')?.text ?? '';
  return { isError: r.isError === true, structured, text };
}

async function connectOne(kind: ClientKind, url: URL, index: number): Promise<BenchClient> {
  const info = { name: `bench-${kind}-${index}`, version: '1.0.0' };
  if (kind === 'v2') {
    // `auto` makes the v2 client speak 2026-07-28 (stateless); without it, it negotiates 2025.
    const client = new Client(info, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(url));
    return {
      call: async (name, args) => outcome(await client.callTool({ name, arguments: args }, { timeout: CALL_TIMEOUT_MS })),
      close: () => client.close(),
    };
  }
  // v1 speaks 2025 (`initialize`), which v2 serves through its stateless legacy fallback.
  const client = new V1Client(info);
  await client.connect(new V1HttpTransport(url));
  return {
    call: async (name, args) => outcome(await client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS })),
    close: () => client.close(),
  };
}

export async function connectClients(kind: ClientKind, url: URL, count: number): Promise<BenchClient[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => connectOne(kind, url, i)));
  const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await closeClients(clients);
    throw new Error(`a ${kind} client could not connect to ${url.href}: ${String(failed.reason)}`);
  }
  return clients;
}

export async function closeClients(clients: readonly BenchClient[]): Promise<void> {
  await Promise.allSettled(clients.map((c) => c.close()));
}

export interface CellOptions {
  clients: readonly BenchClient[];
  /** One unit of load: a tool call on the given client. */
  call: (client: BenchClient) => Promise<ToolCallOutcome>;
  warmupMs: number;
  measureMs: number;
  /** The server under load, for its CPU time. */
  serverPid: number;
}

export interface CellResult {
  /** Calls completed inside the measured window. */
  calls: number;
  seconds: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Calls that threw (transport or protocol errors, timeouts). */
  errors: number;
  /** Calls answered with `isError: true`. */
  toolErrors: number;
  /** CPU used during the window, as % of one core. */
  serverCpuPct: number;
  /** Server CPU time per completed call: the cost of a call, little disturbed by other load on the machine. */
  serverCpuUsPerCall: number;
  loadCpuPct: number;
  /** Busy CPU of everything else on the machine (other processes, the kernel), same unit. */
  otherCpuPct: number;
  /** Machine-wide iowait (all cores), same unit: fsyncs of submit_step show here. */
  iowaitPct: number;
  firstError?: string;
}

/** Per client; with the time bound this keeps every loop finite even against an instant server. */
const MAX_CALLS_PER_CLIENT = 2_000_000;
/** Latency samples kept per cell (memory bound); calls beyond it are still counted. */
const MAX_SAMPLES = 2_000_000;

/** Nearest-rank percentile of ascending-sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

/**
 * Runs every client's loop for `warmupMs + measureMs`. Throughput counts the calls that end
 * inside the measured window; latencies are those of the calls that start inside it.
 */
export async function runCell(options: CellOptions): Promise<CellResult> {
  const { clients, call, warmupMs, measureMs, serverPid } = options;
  const samples: number[] = [];
  let calls = 0;
  let errors = 0;
  let toolErrors = 0;
  let firstError: string | undefined;
  const startMs = performance.now();
  const windowStartMs = startMs + warmupMs;
  const windowEndMs = windowStartMs + measureMs;

  let cpuAtStart = { server: 0, load: process.cpuUsage(), machine: machineCpuMs() };
  let cpuTimer: NodeJS.Timeout | undefined;
  const windowOpened = new Promise<void>((resolveOpened) => {
    cpuTimer = setTimeout(() => {
      cpuAtStart = { server: cpuMsOf(serverPid), load: process.cpuUsage(), machine: machineCpuMs() };
      resolveOpened();
    }, warmupMs);
  });

  const loop = async (client: BenchClient): Promise<void> => {
    for (let n = 0; n < MAX_CALLS_PER_CLIENT; n++) {
      const t0 = performance.now();
      if (t0 >= windowEndMs) return;
      try {
        const r = await call(client);
        if (r.isError) toolErrors++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      const t1 = performance.now();
      if (t1 >= windowStartMs && t1 <= windowEndMs) calls++;
      if (t0 >= windowStartMs && samples.length < MAX_SAMPLES) samples.push(t1 - t0);
    }
  };

  try {
    await Promise.all(clients.map(loop));
    await windowOpened;
  } finally {
    clearTimeout(cpuTimer);
  }
  // The loops end with the window (plus at most one in-flight call each), so CPU is read now.
  const endMs = performance.now();
  const serverCpuMs = cpuMsOf(serverPid) - cpuAtStart.server;
  const load = process.cpuUsage(cpuAtStart.load);
  const loadCpuMs = (load.user + load.system) / 1000;
  const machine = machineCpuMs();
  const wallMs = endMs - windowStartMs;
  const sorted = Float64Array.from(samples).sort();
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    calls,
    seconds: measureMs / 1000,
    callsPerSec: calls / (measureMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.length > 0 ? sum / sorted.length : NaN,
    maxMs: sorted[sorted.length - 1] ?? NaN,
    errors,
    toolErrors,
    serverCpuPct: (serverCpuMs / wallMs) * 100,
    serverCpuUsPerCall: calls > 0 ? (serverCpuMs * 1000) / calls : NaN,
    loadCpuPct: (loadCpuMs / wallMs) * 100,
    otherCpuPct: (Math.max(0, machine.busyMs - cpuAtStart.machine.busyMs - serverCpuMs - loadCpuMs) / wallMs) * 100,
    iowaitPct: ((machine.iowaitMs - cpuAtStart.machine.iowaitMs) / wallMs) * 100,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
