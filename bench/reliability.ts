/**
 * `npx tsx bench/reliability.ts`: the HTTP figures issue 11 asks for, against a real daemon on
 * 127.0.0.1 (it owns the port and hands each connection to the server child):
 *
 * - calls failed during 10 `restart`s and 5 `config.reload`s under 8 busy clients (and 2 idle
 *   keep-alive clients), and how long each restart took;
 * - a SIGSTOPped server: the time until its replacement serves, the requests sent during the hang
 *   answered, and the daemon's open fds before and after;
 * - connections still open after 20 s of 300 slow-loris clients;
 * - p50/p99/max at 64 and 256 clients (each loops get_progress with a submit_step every 4th
 *   call), the calls refused (503), and the daemon's probe failures meanwhile.
 *
 * Runs the compiled daemon (dist/, built with `npm run build` only when it is missing, as
 * bench/daemon.ts does) or, with BENCH_SERVER=tsx, the sources under tsx. Every process it starts
 * is ended by PID and every temp dir removed. Env: BENCH_SERVER (dist | tsx), BENCH_LOAD_SECONDS
 * (per load cell, default 10), BENCH_LORIS_SECONDS (default 20), BENCH_PARTS (default
 * "storm,loris,load"), BENCH_LOAD_CLIENTS (default "64,256"), BENCH_DAEMON_ENV (config overrides for the daemons, "KEY=V,KEY=V").
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { closeClients, connectClients, percentile, type BenchClient, type ToolCallOutcome } from './load.js';
import { cleanup, cleanupSync, makeTempDir, ROOT, stopProcess } from './procs.js';
import { TARGETS } from './scenarios.js';

const Settings = z.object({
  BENCH_SERVER: z.enum(['dist', 'tsx']).default('dist'),
  BENCH_LOAD_SECONDS: z.coerce.number().positive().max(120).default(10),
  BENCH_LORIS_SECONDS: z.coerce.number().positive().max(120).default(20),
  BENCH_PARTS: z
    .string()
    .default('storm,hang,loris,load')
    .transform((s) => new Set(s.split(',').map((p) => p.trim()))),
  BENCH_LOAD_CLIENTS: z
    .string()
    .default('64,256')
    .transform((s) => s.split(',').map((x) => Number(x.trim())))
    .pipe(z.array(z.number().int().min(1).max(1024)).min(1)),
  /** Config overrides for the daemons, to measure another setting: "MCP_STARTER_SERVER_DRAIN_IDLE_CLOSE_MS=1000,…". */
  BENCH_DAEMON_ENV: z
    .string()
    .default('')
    .transform((s) =>
      Object.fromEntries(
        s
          .split(',')
          .filter((kv) => kv.includes('='))
          .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()]),
      ),
    )
    .pipe(z.record(z.string().regex(/^MCP_STARTER_[A-Z_]+$/), z.string())),
});
const settings = Settings.parse(process.env);

const GUARD_MS = 30_000;
const RESTARTS = 10;
const RELOADS = 5;
const BUSY_CLIENTS = 8;
const IDLE_CLIENTS = 2;
const LORIS_CLIENTS = 300;

const progress = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);
const daemons = new Set<ChildProcess>();

// ---------------------------------------------------------------------------------------------
// The daemon and its control socket.

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function daemonCommand(): string[] {
  if (settings.BENCH_SERVER === 'tsx') return ['--import', 'tsx', join(ROOT, 'daemon', 'main.ts')];
  const main = join(ROOT, 'dist', 'daemon', 'main.js');
  // As bench/daemon.ts: build only when the compiled daemon does not run at all.
  if (spawnSync(process.execPath, [main, '--version']).status !== 0)
    spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const stale = newestSource() > statSync(main).mtimeMs;
  if (stale) progress('dist/ is older than the sources: the figures are those of the last `npm run build` (or use BENCH_SERVER=tsx)');
  return [main];
}

/** The newest modification time of the server's and daemon's sources, ms. */
function newestSource(): number {
  let newest = 0;
  for (const dir of ['daemon', 'mcp-server', 'shared']) {
    for (const file of readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (file.endsWith('.ts')) newest = Math.max(newest, statSync(join(ROOT, dir, file)).mtimeMs);
    }
  }
  return newest;
}

interface Daemon {
  proc: ChildProcess;
  port: number;
  dataDir: string;
  socket: string;
  url: URL;
}

/** Environment without MCP_STARTER_* overrides (the bench measures the defaults), plus `extra`. */
function benchEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCP_STARTER_')));
  return { ...base, ...settings.BENCH_DAEMON_ENV, ...extra };
}

async function startDaemon(command: string[], env: Record<string, string> = {}): Promise<Daemon> {
  const dataDir = makeTempDir('mcp-starter-bench-rel-');
  const port = await freePort();
  const proc = spawn(process.execPath, [...command, '--data-dir', dataDir, '--port', String(port)], {
    cwd: ROOT,
    env: benchEnv(env),
    stdio: 'ignore',
  });
  daemons.add(proc);
  const daemon = { proc, port, dataDir, socket: join(dataDir, 'mcp-starterd.sock'), url: new URL(`http://127.0.0.1:${port}/mcp`) };
  const deadline = performance.now() + GUARD_MS;
  // No event to await from a detached daemon: poll its status until the server runs, bounded.
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`the daemon exited with ${proc.exitCode}`);
    const s = await rpc(daemon, 'status').catch(() => undefined);
    if (s !== undefined && ChildState.parse(s).child.state === 'running') return daemon;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the daemon's server was not running within ${GUARD_MS} ms`);
}

async function stopDaemon(d: Daemon): Promise<void> {
  await stopProcess(d.proc, 15_000);
  daemons.delete(d.proc);
}

const ChildState = z.object({ child: z.object({ state: z.string(), pid: z.number().nullable(), restarts: z.number() }) });

/** One JSON-RPC call on the control socket; rejects with the error's message. */
function rpc(d: Daemon, method: string, params?: unknown, timeoutMs = 60_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(d.socket);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      buf += chunk;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      s.end();
      const reply = z
        .object({ result: z.unknown().optional(), error: z.object({ message: z.string() }).optional() })
        .parse(JSON.parse(buf.slice(0, i)));
      if (reply.error) reject(new Error(`${method}: ${reply.error.message}`));
      else resolve(reply.result);
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) })}\n`);
  });
}

/**
 * Subscribes to state changes; `served` resolves at the first transition into `running` (the new
 * server takes the connections), and the subscription closes. Resolves once subscribed.
 */
async function whenServing(d: Daemon, timeoutMs = 60_000): Promise<{ served: Promise<number> }> {
  const s = connect(d.socket);
  let subscribed: () => void = () => undefined;
  const ready = new Promise<void>((r) => (subscribed = r));
  const served = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no transition to running within ${timeoutMs} ms`)), timeoutMs);
    let buf = '';
    s.setEncoding('utf8');
    s.on('error', reject);
    s.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, i)) as { id?: number; method?: string; params?: { state?: string } };
        buf = buf.slice(i + 1);
        if (msg.id === 1) subscribed();
        if (msg.method === 'state' && msg.params?.state === 'running') {
          clearTimeout(timer);
          resolve(performance.now());
        }
      }
    });
    s.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { topics: ['state'] } })}\n`);
  }).finally(() => s.destroy());
  served.catch(() => undefined);
  await ready;
  return { served };
}

// ---------------------------------------------------------------------------------------------
// The learners' workload: get_progress, with a submit_step every 4th call.

const submit = TARGETS['ours submit_step'];
const progressTarget = TARGETS['ours get_progress'];

async function prepareClients(url: URL, count: number): Promise<BenchClient[]> {
  const clients = await connectClients('v2', url, count);
  // Every client is the one local learner (no token), so one setup puts it on the step all answer.
  if (submit.setup && clients[0]) await submit.setup(clients[0], 0);
  return clients;
}

function mixedCall(): (client: BenchClient) => Promise<ToolCallOutcome> {
  const counts = new Map<BenchClient, number>();
  return (client) => {
    const n = (counts.get(client) ?? 0) + 1;
    counts.set(client, n);
    return n % 4 === 0 ? submit.call(client) : progressTarget.call(client);
  };
}

/** An error's message with its cause's (fetch's "fetch failed" says nothing by itself). */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 160);
  const cause = err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? ''} ${err.cause.message}` : '';
  return `${err.message}${cause}`.slice(0, 160);
}

interface Ledger {
  calls: number;
  failed: number;
  toolErrors: number;
  /** Latencies of every call, ms. */
  samples: number[];
  failures: Map<string, number>;
}

/** Each client loops its calls until `stop` is set; every outcome goes into the ledger. */
function runLoops(
  clients: readonly BenchClient[],
  call: (c: BenchClient) => Promise<ToolCallOutcome>,
  stop: { done: boolean },
): {
  ledger: Ledger;
  finished: Promise<void>;
} {
  const ledger: Ledger = { calls: 0, failed: 0, toolErrors: 0, samples: [], failures: new Map() };
  const loop = async (client: BenchClient): Promise<void> => {
    while (!stop.done) {
      const t0 = performance.now();
      try {
        if ((await call(client)).isError) ledger.toolErrors++;
      } catch (err) {
        ledger.failed++;
        const key = describeError(err);
        ledger.failures.set(key, (ledger.failures.get(key) ?? 0) + 1);
      }
      ledger.calls++;
      ledger.samples.push(performance.now() - t0);
    }
  };
  return { ledger, finished: Promise.all(clients.map(loop)).then(() => undefined) };
}

// ---------------------------------------------------------------------------------------------
// 1. Restarts and reloads under 8 busy clients.

/** A keep-alive client that makes one request and then stays idle, holding its connection open. */
function idleKeepAlive(port: number, agent: Agent): Promise<void> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/health', agent, timeout: GUARD_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve());
  });
}

interface StormResult {
  /** Each `restart` call, until its answer (the old server gone). */
  restartMs: number[];
  /** Each restart, until the new server took the connections. */
  servedMs: number[];
  restartFailed: number;
  reloadMs: number[];
  reloadFailed: number;
  calls: number;
  failures: Map<string, number>;
}

async function storm(command: string[]): Promise<StormResult> {
  const d = await startDaemon(command);
  const agents = Array.from({ length: IDLE_CLIENTS }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const clients = await prepareClients(d.url, BUSY_CLIENTS);
  const stop = { done: false };
  try {
    const { ledger, finished } = runLoops(clients, mixedCall(), stop);
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));
    const restartMs: number[] = [];
    const servedMs: number[] = [];
    await settle();
    for (let i = 0; i < RESTARTS; i++) {
      // The idle clients: one request each, then nothing until the restart.
      await Promise.all(agents.map((a) => idleKeepAlive(d.port, a)));
      await settle();
      const { served } = await whenServing(d);
      const t0 = performance.now();
      await rpc(d, 'restart');
      restartMs.push(performance.now() - t0);
      servedMs.push((await served) - t0);
      progress(
        `restart ${i + 1}/${RESTARTS}: new server serving after ${((await served) - t0).toFixed(0)} ms, answered after ${(performance.now() - t0).toFixed(0)} ms`,
      );
    }
    const restartFailed = ledger.failed;
    const reloadMs: number[] = [];
    for (let i = 0; i < RELOADS; i++) {
      await Promise.all(agents.map((a) => idleKeepAlive(d.port, a)));
      await settle();
      const t0 = performance.now();
      await rpc(d, 'config.reload');
      reloadMs.push(performance.now() - t0);
      progress(`reload ${i + 1}/${RELOADS}: ${(performance.now() - t0).toFixed(0)} ms`);
    }
    stop.done = true;
    await finished;
    return {
      restartMs,
      servedMs,
      restartFailed,
      reloadMs,
      reloadFailed: ledger.failed - restartFailed,
      calls: ledger.calls,
      failures: ledger.failures,
    };
  } finally {
    stop.done = true;
    for (const a of agents) a.destroy();
    await closeClients(clients);
    await stopDaemon(d);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Slow-loris: 300 connections that send a request's headers one short line per second.

async function loris(command: string[]): Promise<{ open: number; opened: number; seconds: number }> {
  const d = await startDaemon(command);
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  let drip: NodeJS.Timeout | undefined;
  try {
    for (let i = 0; i < LORIS_CLIENTS; i++) {
      const s = connect(d.port, '127.0.0.1');
      s.on('error', () => undefined); // a reset is the server cutting it: counted by 'close'
      s.on('close', () => closed.add(s));
      s.on('data', () => undefined);
      s.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\n`);
      sockets.push(s);
    }
    let n = 0;
    drip = setInterval(() => {
      n++;
      for (const s of sockets) if (!closed.has(s) && s.writable) s.write(`X-Slow-${n}: a\r\n`);
    }, 1_000);
    await new Promise((r) => setTimeout(r, settings.BENCH_LORIS_SECONDS * 1000));
    return { open: sockets.length - closed.size, opened: sockets.length, seconds: settings.BENCH_LORIS_SECONDS };
  } finally {
    clearInterval(drip);
    for (const s of sockets) s.destroy();
    await stopDaemon(d);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Latency under load, and the daemon's probe meanwhile.

interface LoadResult {
  clients: number;
  calls: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  over2s: number;
  failed: number;
  failures: Map<string, number>;
  probeFailures: number;
  /** Times the daemon replaced the server during the measured window. */
  restarts: number;
}

/** Failed probes in the daemon's log: the periodic ones, and the one it makes when connections wait for the server (a failure there replaces it). */
function probeFailuresIn(dataDir: string): number {
  const text = readFileSync(join(dataDir, 'logs', 'mcp-starterd.log'), 'utf8');
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.includes('"check":"mcp_probe"') && line.includes('"ok":false')) n++;
    else if (line.includes('"kind":"unresponsive"') && line.includes('"waitingConnections"')) n++;
  }
  return n;
}

async function load(command: string[], count: number): Promise<LoadResult> {
  // Probe every 2 s instead of 10 s, so that a short run holds several probes.
  const d = await startDaemon(command, { MCP_STARTER_PROBE_INTERVAL_MS: '2000' });
  const clients = await prepareClients(d.url, count);
  const stop = { done: false };
  try {
    const warm = runLoops(clients, mixedCall(), stop);
    await new Promise((r) => setTimeout(r, 2_000));
    stop.done = true;
    await warm.finished;
    const probesBefore = probeFailuresIn(d.dataDir);
    const restartsBefore = ChildState.parse(await rpc(d, 'status')).child.restarts;
    const measured = { done: false };
    const { ledger, finished } = runLoops(clients, mixedCall(), measured);
    await new Promise((r) => setTimeout(r, settings.BENCH_LOAD_SECONDS * 1000));
    measured.done = true;
    await finished;
    const sorted = Float64Array.from(ledger.samples).sort();
    return {
      clients: count,
      calls: ledger.calls,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1] ?? NaN,
      over2s: ledger.samples.filter((ms) => ms > 2_000).length,
      failed: ledger.failed,
      failures: ledger.failures,
      probeFailures: probeFailuresIn(d.dataDir) - probesBefore,
      restarts: ChildState.parse(await rpc(d, 'status')).child.restarts - restartsBefore,
    };
  } finally {
    stop.done = true;
    await closeClients(clients);
    await stopDaemon(d);
  }
}

// ---------------------------------------------------------------------------------------------
// A hung child: SIGSTOP, then requests; the time until the replacement answers them all.

const HANG_REQUESTS = 8;

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** One GET /health on its own connection: its status (0: failed), and when it was answered. */
function healthAt(port: number): Promise<{ status: number; atMs: number }> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 60_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, atMs: performance.now() }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, atMs: performance.now() }));
  });
}

async function hang(command: string[]): Promise<{ replacedMs: number; answered: number; fdsBefore: number; fdsAfter: number }> {
  const d = await startDaemon(command);
  try {
    const daemonPid = d.proc.pid ?? 0;
    const fdsBefore = openFds(daemonPid);
    const pid = ChildState.parse(await rpc(d, 'status')).child.pid;
    if (pid === null) throw new Error('no server to hang');
    const { served } = await whenServing(d);
    const t0 = performance.now();
    process.kill(pid, 'SIGSTOP');
    const answers = await Promise.all(Array.from({ length: HANG_REQUESTS }, () => healthAt(d.port)));
    const replacedMs = (await served) - t0;
    // The stopped process is killed by the daemon; let it go so nothing is left behind.
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone, as it should be
    }
    const fdsAfter = openFds(daemonPid);
    return { replacedMs, answered: answers.filter((a) => a.status === 200).length, fdsBefore, fdsAfter };
  } finally {
    await stopDaemon(d);
  }
}

// ---------------------------------------------------------------------------------------------

function topFailures(failures: Map<string, number>): string {
  const top = [...failures].sort((a, b) => b[1] - a[1]).slice(0, 3);
  return top.length === 0 ? '' : `\n      ${top.map(([m, n]) => `${n} × ${m}`).join('\n      ')}`;
}

async function main(): Promise<void> {
  const command = daemonCommand();
  const f = (n: number): string => n.toFixed(0);
  progress(`daemon: node ${command.join(' ')} ${JSON.stringify(settings.BENCH_DAEMON_ENV)}`);
  // Each part prints as soon as it ends, so a later failure keeps the earlier figures.
  const report = { push: (...l: string[]): void => console.log(l.join('\n')) };
  report.push(`\nreliability (daemon ${settings.BENCH_SERVER === 'tsx' ? 'under tsx' : 'from dist/'}, 127.0.0.1)`);
  if (settings.BENCH_PARTS.has('storm')) {
    progress(`${RESTARTS} restarts and ${RELOADS} reloads under ${BUSY_CLIENTS} busy clients`);
    const s = await storm(command);
    report.push(
      `  calls failed during ${RESTARTS} restarts under ${BUSY_CLIENTS} busy clients (+${IDLE_CLIENTS} idle keep-alive): ${s.restartFailed}  (aim 0)`,
      `  each restart, until the new server serves: ${s.servedMs.map(f).join(', ')} ms; max ${f(Math.max(...s.servedMs))} ms  (aim ≤ 1000 ms)`,
      `  each restart, until its answer (the old server drained and gone): ${s.restartMs.map(f).join(', ')} ms`,
      `  calls failed during ${RELOADS} reloads: ${s.reloadFailed}; each reload: ${s.reloadMs.map(f).join(', ')} ms`,
      `  calls made in all: ${s.calls}${topFailures(s.failures)}`,
    );
  }
  if (settings.BENCH_PARTS.has('hang')) {
    progress(`a SIGSTOPped server with ${HANG_REQUESTS} requests sent during the hang`);
    const h = await hang(command);
    report.push(
      `  hung server (SIGSTOP) replaced after ${f(h.replacedMs)} ms  (aim ≤ 15000 ms); requests sent during the hang answered 200: ${h.answered} of ${HANG_REQUESTS}; daemon fds ${h.fdsBefore} before, ${h.fdsAfter} after`,
    );
  }
  if (settings.BENCH_PARTS.has('loris')) {
    progress(`${LORIS_CLIENTS} slow-loris connections for ${settings.BENCH_LORIS_SECONDS} s`);
    const l = await loris(command);
    report.push(`  slow-loris: ${l.open} of ${l.opened} connections still open after ${l.seconds} s  (aim 0)`);
  }
  if (settings.BENCH_PARTS.has('load')) {
    for (const n of settings.BENCH_LOAD_CLIENTS) {
      progress(`${n} clients for ${settings.BENCH_LOAD_SECONDS} s`);
      const r = await load(command, n);
      report.push(
        `  ${String(n).padStart(3)} clients: p50 ${f(r.p50Ms)} ms, p99 ${f(r.p99Ms)} ms, max ${f(r.maxMs)} ms; ${r.calls} calls, ${r.over2s} over 2 s, ${r.failed} failed; probe failures ${r.probeFailures}, server replaced ${r.restarts}×  (aim p99 ≤ 2000 ms, max ≤ 5000 ms, probe failures 0)${topFailures(r.failures)}`,
      );
    }
  }
}

process.on('exit', () => {
  for (const p of daemons) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  cleanupSync();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const p of daemons) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
try {
  await main();
} finally {
  await Promise.all([...daemons].map((p) => stopProcess(p, 15_000)));
  await cleanup();
}
