// The monitoring's own cost (issue 8): two compiled daemons side by side for the same time, one
// sampling every 10 s and one with sampling off (everything else equal: probes, stats, the hourly
// health job), their CPU and RSS; then the `health` RPC's round trip. 127.0.0.1 and temp dirs only.
// Env: BENCH_MONITOR_SECONDS (default 120), BENCH_HEALTH_CALLS (default 50).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env['BENCH_MONITOR_SECONDS'] ?? 120);
const HEALTH_CALLS = Number(process.env['BENCH_HEALTH_CALLS'] ?? 50);
const GUARD_MS = 30_000;
/** pm2's resident memory at rest, as the issue quotes it. */
const PM2_IDLE_RSS_MB = 59;

const started: ChildProcess[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mcp-starter-bench-monitor-'));
  dirs.push(d);
  return d;
}

/** One JSON-RPC call on the daemon's socket; resolves with the result, bounded by GUARD_MS. */
function call(socket: string, method: string): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const s = connect(socket);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${method}: no answer within ${GUARD_MS} ms`));
    }, GUARD_MS);
    let buf = '';
    s.setEncoding('utf8');
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('data', (chunk: string) => {
      buf += chunk;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      s.end();
      const msg = JSON.parse(buf.slice(0, i)) as { result?: unknown; error?: { message: string } };
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolvePromise(msg.result);
    });
    s.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method })}\n`);
  });
}

/** Starts a compiled daemon with `config`; resolves once its server runs. */
async function startDaemon(config: unknown): Promise<{ proc: ChildProcess; socket: string }> {
  const dataDir = tempDir();
  const configFile = join(dataDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const proc = spawn(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--data-dir', dataDir, '--port', '0', '--config', configFile], {
    stdio: 'ignore',
  });
  started.push(proc);
  const socket = join(dataDir, 'mcp-starterd.sock');
  const t0 = performance.now();
  while (performance.now() - t0 < GUARD_MS) {
    try {
      const status = (await call(socket, 'status')) as { child: { state: string } };
      if (status.child.state === 'running') return { proc, socket };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the daemon did not start within 30 s');
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

async function main(): Promise<void> {
  if (spawnSync(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--version']).status !== 0) {
    spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
  const [on, off] = await Promise.all([
    startDaemon({ metrics: { sampleIntervalMs: 10_000 } }),
    startDaemon({ metrics: { sampleIntervalMs: 0 } }),
  ]);
  const pids = { on: on.proc.pid ?? 0, off: off.proc.pid ?? 0 };
  // Let start-up work settle before measuring.
  await new Promise((r) => setTimeout(r, 5_000));
  const ticks0 = { on: cpuTicks(pids.on), off: cpuTicks(pids.off) };
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (which: 'on' | 'off'): number => ((cpuTicks(pids[which]) - ticks0[which]) / hz / seconds) * 100;
  const result = { on: cpu('on'), off: cpu('off'), rssOn: rssMb(pids.on), rssOff: rssMb(pids.off) };

  const times: number[] = [];
  for (let i = 0; i < HEALTH_CALLS; i++) {
    const t = performance.now();
    await call(on.socket, 'health');
    times.push(performance.now() - t);
  }
  const apart = result.on - result.off;
  const f = (n: number, d = 1): string => n.toFixed(d);
  console.log('\nmcp-starterd monitoring (compiled, one run, both daemons side by side)');
  console.log(
    `  daemon CPU over ${f(seconds, 0)} s, sampling every 10 s: ${f(result.on, 3)} % of one core; sampling off: ${f(result.off, 3)} %`,
  );
  console.log(`    apart: ${apart >= 0 ? '+' : ''}${f(apart, 3)} %  (aim < 0.3 %: ${apart < 0.3 ? 'met' : 'NOT met'})`);
  console.log(
    `  daemon idle RSS: ${f(result.rssOn)} MB sampling, ${f(result.rssOff)} MB not  (pm2 at rest: ${PM2_IDLE_RSS_MB} MB; aim below it: ${result.rssOn < PM2_IDLE_RSS_MB ? 'met' : 'NOT met'})`,
  );
  console.log(`  health RPC round trip over ${HEALTH_CALLS} calls: p50 ${f(percentile(times, 50))} ms, p99 ${f(percentile(times, 99))} ms`);
}

try {
  await main();
} finally {
  await Promise.all(
    started.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }),
  );
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
