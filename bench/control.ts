// The control socket under subscribers that never read (issue 11, item 7): the daemon's RSS while 20
// of them are subscribed to `logs` and `stats` and learners make thousands of tool calls, and after
// they leave. Before the fix the daemon grew from 83 to 180 MB over 7,456 calls and kept it.
// Runs the compiled daemon on 127.0.0.1 in a temp dir it removes; bounded in calls and time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const ROOT = resolve(import.meta.dirname, '..');
const SUBSCRIBERS = Number(process.env['BENCH_CONTROL_SUBSCRIBERS'] ?? 20);
const CALLS = Number(process.env['BENCH_CONTROL_CALLS'] ?? 7_456);
const CLIENTS = 8;
const GUARD_MS = 300_000;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function untilUp(port: number): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < 30_000) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the daemon did not come up within 30 s');
}

async function main(): Promise<void> {
  if (spawnSync(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--version']).status !== 0) {
    spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-starter-bench-control-'));
  const port = await freePort();
  let daemon: ChildProcess | undefined;
  const subscribers: Socket[] = [];
  const clients: Client[] = [];
  try {
    daemon = spawn(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--data-dir', dataDir, '--port', String(port)], {
      stdio: 'ignore',
    });
    await untilUp(port);
    const pid = daemon.pid ?? 0;
    const before = rssMb(pid);
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const s = connect(join(dataDir, 'mcp-starterd.sock'));
      await once(s, 'connect');
      s.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { topics: ['logs', 'stats'] } })}\n`);
      s.pause(); // never reads
      s.on('error', () => undefined);
      subscribers.push(s);
    }
    const url = new URL(`http://127.0.0.1:${port}/mcp`);
    for (let i = 0; i < CLIENTS; i++) {
      const c = new Client({ name: 'bench-control', version: '1' }, { versionNegotiation: { mode: 'auto' } });
      await c.connect(new StreamableHTTPClientTransport(url));
      clients.push(c);
    }
    const t0 = performance.now();
    let done = 0;
    let peak = before;
    await Promise.all(
      clients.map(async (c) => {
        while (done < CALLS && performance.now() - t0 < GUARD_MS) {
          done++;
          await c.callTool({ name: 'list_tutorials', arguments: {} });
          if (done % 500 === 0) peak = Math.max(peak, rssMb(pid));
        }
      }),
    );
    const during = Math.max(peak, rssMb(pid));
    const dropped = readFileSync(join(dataDir, 'logs', 'mcp-starterd.log'), 'utf8').split('"subscriber_dropped"').length - 1;
    for (const s of subscribers) s.destroy();
    // As many calls again with nobody subscribed: a daemon that kept what it buffered would stay up or grow.
    const t1 = performance.now();
    let again = 0;
    await Promise.all(
      clients.map(async (c) => {
        while (again < CALLS && performance.now() - t1 < GUARD_MS) {
          again++;
          await c.callTool({ name: 'list_tutorials', arguments: {} });
        }
      }),
    );
    const after = rssMb(pid);
    const f = (n: number): string => n.toFixed(1);
    console.log('\ncontrol socket: 20 subscribers that never read');
    console.log(`  tool calls made:                    ${done} in ${f((performance.now() - t0) / 1000)} s (${CLIENTS} clients)`);
    console.log(
      `  daemon RSS before / peak / after as many calls again unsubscribed: ${f(before)} / ${f(during)} / ${f(after)} MB  (before the fix: 83 → 180 MB, kept)`,
    );
    console.log(`  subscribers told and dropped:       ${dropped} of ${SUBSCRIBERS}`);
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const s of subscribers) s.destroy();
    if (daemon && daemon.exitCode === null) {
      const exited = once(daemon, 'exit');
      daemon.kill('SIGTERM');
      const t = setTimeout(() => daemon?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
