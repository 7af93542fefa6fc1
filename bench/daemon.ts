// Daemon benchmarks (npm run bench runs them after the server's): crash-to-healthy beside the
// cold-start floor, and the daemon's idle RSS and CPU (`ctl status` beside `node -e 0`: bench/ctl.ts).
// Everything runs the compiled JS (as production does) on 127.0.0.1, in temp dirs it removes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env['BENCH_CRASH_RUNS'] ?? 10);
const IDLE_SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 60);
const GUARD_MS = 20_000;

const started: ChildProcess[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mcp-starter-bench-daemon-'));
  dirs.push(d);
  return d;
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};

/** Polls GET /health until it answers 200; resolves with the time it took. Bounded by GUARD_MS. */
async function untilHealthy(port: number, t0: number): Promise<number> {
  while (performance.now() - t0 < GUARD_MS) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      if (r.status === 200) return performance.now() - t0;
    } catch {
      // not up yet (refused, reset): try again
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`no 200 from /health within ${GUARD_MS} ms`);
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** The floor: a cold `node` start of the server to its first 200. */
async function coldStartFloor(): Promise<number[]> {
  const data = tempDir();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const proc = spawn(
      process.execPath,
      [join(ROOT, 'dist/mcp-server/main.js'), '--transport', 'http', '--port', String(port), '--data-dir', data],
      { stdio: 'ignore' },
    );
    started.push(proc);
    times.push(await untilHealthy(port, t0));
    await stop(proc);
  }
  return times;
}

function childPid(dataDir: string): number {
  return Number(readFileSync(join(dataDir, 'mcp-starter-server.pid'), 'utf8'));
}

async function withDaemon<T>(fn: (d: { proc: ChildProcess; port: number; dataDir: string }) => Promise<T>): Promise<T> {
  const dataDir = tempDir();
  const port = await freePort();
  // A short stable period: each measured crash is a first crash (no backoff), as a rare real crash is.
  const env = { ...process.env, MCP_STARTER_RESTART_STABLE_AFTER_MS: '300', MCP_STARTER_RESTART_MAX_RESTARTS: '1000' };
  const proc = spawn(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--data-dir', dataDir, '--port', String(port)], {
    stdio: 'ignore',
    env,
  });
  started.push(proc);
  try {
    await untilHealthy(port, performance.now());
    return await fn({ proc, port, dataDir });
  } finally {
    await stop(proc);
  }
}

/** One GET /health on a new connection; resolves with its status (0 when it failed), bounded by GUARD_MS. */
function healthOnce(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: GUARD_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/**
 * SIGKILL the child and, in the same tick, send one GET /health through the daemon's port: the
 * time until that very request is answered (no retry), and whether it was a 200. A request that
 * hung or failed here is what issue 7 found (14 of 48 hung for 8 s).
 */
async function crashToHealthy(): Promise<{ times: number[]; failed: number }> {
  return withDaemon(async ({ port, dataDir }) => {
    const times: number[] = [];
    let failed = 0;
    for (let i = 0; i < RUNS; i++) {
      const pid = childPid(dataDir);
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      const status = await healthOnce(port);
      times.push(performance.now() - t0);
      if (status !== 200) failed++;
      // Wait until the replacement is the one serving, then let the backoff reset (a real crash is rare).
      await untilHealthy(port, performance.now());
      await new Promise((r) => setTimeout(r, 400));
    }
    return { times, failed };
  });
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  if (spawnSync(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--version']).status !== 0) {
    spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const floor = await coldStartFloor();
  const { times: crash, failed: crashFailed } = await crashToHealthy();
  const { idle } = await withDaemon(async ({ proc, dataDir }) => {
    const pid = proc.pid!;
    const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
    const ticks0 = cpuTicks(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const cpuPercent = ((cpuTicks(pid) - ticks0) / hz / seconds) * 100;
    return { idle: { rss: rssMb(pid), cpuPercent, seconds, childRss: rssMb(childPid(dataDir)) } };
  });
  const f = (n: number): string => n.toFixed(1);
  const crashOverFloor = median(crash) - median(floor);
  console.log('\nmcp-starterd');
  console.log(`  cold start of the server to first 200 (floor), median of ${RUNS}:  ${f(median(floor))} ms`);
  console.log(
    `  crash-to-healthy (request sent at the SIGKILL → its 200), median of ${RUNS}: ${f(median(crash))} ms, max ${f(Math.max(...crash))} ms, ${crashFailed} of ${RUNS} not answered 200  (floor ${crashOverFloor >= 0 ? '+' : ''}${f(crashOverFloor)} ms; aim ≤ floor + 50 ms: ${crashOverFloor <= 50 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  daemon idle RSS:                                               ${f(idle.rss)} MB  (aim ≤ 50 MB: ${idle.rss <= 50 ? 'met' : 'NOT met'}; server child ${f(idle.childRss)} MB)`,
  );
  console.log(
    `  daemon idle CPU over ${f(idle.seconds)} s (probing every 10 s):            ${idle.cpuPercent.toFixed(3)} %  (aim ≤ 0.2 %: ${idle.cpuPercent <= 0.2 ? 'met' : 'NOT met'})`,
  );
}

try {
  await main();
} finally {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
