// `ctl logs analyze` and `ctl logs -n 100` on a generated log (issue 9, Logs): analysis throughput
// in MB/s with the peak RSS of the process that does it, beside `grep -c` on the same file (the
// manual's way, and the whole of the manual's analyze_logs); the same log as a .gz; through the
// daemon (and how much its resident memory grows); and the tail's latency, daemon up and down.
// ctl runs as production does: bundled JS (esbuild, as `npm run build:ctl`), in a folder of its own
// under dist/ that is removed afterwards, so a stale or missing dist/ctl does not matter. The log
// is written to a temp dir, removed at the end. BENCH_LOGS_MB (default 200) sets its size,
// BENCH_LOGS_RUNS (default 3) the analysis runs, BENCH_LOGS_GZ=0 skips the .gz part.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const MB = 1024 * 1024;
const SIZE_MB = Number(process.env['BENCH_LOGS_MB'] ?? 200);
const RUNS = Number(process.env['BENCH_LOGS_RUNS'] ?? 3);
const TAIL_RUNS = 15;
const WITH_GZ = process.env['BENCH_LOGS_GZ'] !== '0';
const GUARD_MS = 60_000;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : ((s[Math.floor((s.length - 1) / 2)] ?? NaN) + (s[Math.ceil((s.length - 1) / 2)] ?? NaN)) / 2;
};

const TOOLS = ['list_tutorials', 'start_tutorial', 'get_step', 'submit_step', 'get_hint', 'get_progress', 'reset_progress'];

/** A log like a busy day's: mostly learners' tool calls, some reads and sessions, the daemon's events, a few warnings and errors. */
function generateLog(file: string, bytes: number): number {
  const fd = openSync(file, 'w', 0o600);
  const startMs = Date.now() - 20 * 3_600_000;
  const lines = Math.round(bytes / 190);
  const stepMs = (20 * 3_600_000) / lines;
  let written = 0;
  let buf = '';
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; written + buf.length < bytes; i++) {
    const time = new Date(startMs + i * stepMs).toISOString();
    const r = rand();
    const learner = `learner-${Math.floor(rand() * 500)}`;
    let line: Record<string, unknown>;
    if (r < 0.72) {
      const ms = Math.round(Math.exp(rand() * 5) * 100) / 100;
      line = {
        level: 'info',
        time,
        pid: 4242,
        name: 'mcp-starter-server',
        event: 'tool_call',
        tool: TOOLS[i % 7],
        ms,
        ok: rand() > 0.02,
        learner,
        msg: 'tool call',
      };
    } else if (r < 0.77) {
      line = {
        level: 'debug',
        time,
        pid: 4242,
        name: 'mcp-starter-server',
        event: 'tool_call',
        tool: 'list_tutorials',
        ms: 1.2,
        ok: true,
        probe: true,
        msg: 'probe tool call',
      };
    } else if (r < 0.85) {
      line = {
        level: 'info',
        time,
        pid: 4242,
        name: 'mcp-starter-server',
        event: 'resource_access',
        uri: 'tutorial://what-is-mcp',
        learner,
        msg: 'resource read',
      };
    } else if (r < 0.9) {
      line = {
        level: 'info',
        time,
        pid: 4242,
        name: 'mcp-starter-server',
        event: rand() < 0.5 ? 'session_start' : 'session_end',
        learner,
        msg: 'session',
      };
    } else if (r < 0.905) {
      line = {
        level: 'info',
        time,
        pid: 4242,
        name: 'mcp-starter-server',
        event: 'new_learner',
        userId: i,
        learner,
        transport: 'http',
        msg: 'new learner',
      };
    } else if (r < 0.97) {
      line = {
        level: 'info',
        time,
        pid: 4141,
        name: 'mcp-starterd',
        component: 'monitor',
        event: 'health',
        status: 'healthy',
        ms: 12,
        msg: 'health check passed',
      };
    } else if (r < 0.99) {
      line = {
        level: 'warn',
        time,
        pid: 4141,
        name: 'mcp-starterd',
        component: 'monitor',
        event: 'slow_response',
        ms: 2000 + Math.floor(rand() * 900),
        msg: `slow response from ${learner}`,
      };
    } else {
      line = {
        level: 'error',
        time,
        pid: 4242,
        name: 'mcp-starter-server',
        err: {
          type: 'SqliteError',
          message: 'database is locked',
          stack: 'SqliteError: database is locked\n    at Statement.run (store.js:1:1)',
        },
        msg: `write failed for ${learner} after ${Math.floor(rand() * 5000)} ms`,
      };
    }
    buf += `${JSON.stringify(line)}\n`;
    if (buf.length > MB) {
      written += writeSync(fd, buf);
      buf = '';
    }
  }
  written += writeSync(fd, buf);
  closeSync(fd);
  return written;
}

/** A node process's wall time and (through a preload) its peak RSS and CPU time (what a busy machine does not inflate). */
function timeNode(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  preload: string,
  expectExit = 0,
): { ms: number; cpuMs: number; maxRssMb: number; stdout: string } {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, ['--import', preload, ...args], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 * MB,
    timeout: 10 * 60_000,
  });
  const ms = performance.now() - t0;
  if (run.status !== expectExit) throw new Error(`node ${args.join(' ')} exited ${run.status}:\n${run.stderr}`);
  const kb = Number(/BENCH_MAXRSS_KB (\d+)/.exec(run.stderr)?.[1] ?? NaN);
  const cpuUs = Number(/BENCH_CPU_US (\d+)/.exec(run.stderr)?.[1] ?? NaN);
  return { ms, cpuMs: cpuUs / 1000, maxRssMb: kb / 1024, stdout: run.stdout };
}

function timeShell(script: string): { ms: number; stdout: string } {
  const t0 = performance.now();
  const run = spawnSync('bash', ['-c', script], { encoding: 'utf8', maxBuffer: 64 * MB });
  const ms = performance.now() - t0;
  if (run.status !== 0 && run.status !== 1) throw new Error(`${script} exited ${run.status}: ${run.stderr}`);
  return { ms, stdout: run.stdout };
}

/** The manual's analyze_logs (section 2.3), on our file. */
function manualScript(file: string): string {
  const f = JSON.stringify(file);
  return [
    `grep -c "ERROR" ${f}`,
    `grep -c "WARNING" ${f}`,
    `grep "ERROR" ${f} | cut -d']' -f3- | sort | uniq -c | sort -nr | head -5`,
    `grep -c "tool_call" ${f}`,
    `grep -c "resource_access" ${f}`,
    `grep -c "new_learner" ${f}`,
  ].join('; ');
}

function vm(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

async function untilStatus(ctl: string[], env: NodeJS.ProcessEnv, daemon: ChildProcess): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < GUARD_MS) {
    if (daemon.exitCode !== null) throw new Error(`mcp-starterd exited with ${daemon.exitCode}`);
    if (spawnSync(process.execPath, [...ctl, 'status'], { env, stdio: 'ignore' }).status === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`mcp-starterd was not running within ${GUARD_MS} ms`);
}

interface Analysis {
  ms: number;
  bytes_read: number;
  lines_read: number;
  errors: number;
  tool_calls: number;
}

const f1 = (n: number): string => n.toFixed(1);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'mcp-starter-bench-logs-'));
  const bundle = join(ROOT, 'dist', `.bench-logs-${process.pid}`);
  let daemon: ChildProcess | undefined;
  try {
    await build({
      entryPoints: [join(ROOT, 'ctl/main.ts')],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outdir: bundle,
      chunkNames: 'chunks/[name]-[hash]',
      logLevel: 'warning',
    });
    const preload = join(work, 'maxrss.mjs');
    writeFileSync(
      preload,
      "import { writeSync } from 'node:fs';\nprocess.on('exit', () => { const u = process.resourceUsage(); writeSync(2, `\\nBENCH_MAXRSS_KB ${u.maxRSS} BENCH_CPU_US ${u.userCPUTime + u.systemCPUTime}\\n`); });\n",
    );
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCP_STARTER_')));
    const dataDir = join(work, 'data');
    const logsDir = join(dataDir, 'logs');
    mkdirSync(logsDir, { recursive: true, mode: 0o700 });
    const logFile = join(logsDir, 'mcp-starterd.log');
    const t0 = performance.now();
    const bytes = generateLog(logFile, SIZE_MB * MB);
    console.log(`generated ${f1(bytes / MB)} MiB of log lines in ${f1((performance.now() - t0) / 1000)} s (${logFile})`);
    const ctl = [join(bundle, 'main.js'), '--data-dir', dataDir];

    // The manual's way first, then ours (the file is in the page cache for both after the first read).
    timeShell(`cat ${JSON.stringify(logFile)} > /dev/null`);
    const greps = Array.from({ length: RUNS }, () => timeShell(`grep -c "ERROR" ${JSON.stringify(logFile)}`));
    const grepMs = median(greps.map((g) => g.ms));
    const grepLevel = timeShell(`grep -c '"level":"error"' ${JSON.stringify(logFile)}`);
    const manual = median(Array.from({ length: RUNS }, () => timeShell(manualScript(logFile)).ms));

    const offline = Array.from({ length: RUNS }, () => timeNode([...ctl, 'logs', 'analyze', '--json'], env, preload));
    const result = JSON.parse(offline[0]?.stdout ?? '{}') as Analysis;
    const wallMs = median(offline.map((r) => r.ms));
    const innerMs = median(offline.map((r) => (JSON.parse(r.stdout) as Analysis).ms));
    const cpuMs = median(offline.map((r) => r.cpuMs));
    const rss = Math.max(...offline.map((r) => r.maxRssMb));
    const bare = timeNode(['-e', '0'], env, preload);

    let gzLine = '';
    if (WITH_GZ) {
      const gzData = join(work, 'gz');
      mkdirSync(join(gzData, 'logs'), { recursive: true });
      const gzFile = join(gzData, 'logs', 'mcp-starterd.log.2.gz');
      await pipeline(createReadStream(logFile), createGzip(), createWriteStream(gzFile));
      const gz = Array.from({ length: RUNS }, () =>
        timeNode([join(bundle, 'main.js'), '--data-dir', gzData, 'logs', 'analyze', '--json'], env, preload),
      );
      const gzMs = median(gz.map((r) => (JSON.parse(r.stdout) as Analysis).ms));
      gzLine = `  the same as a .gz (${f1(statSync(gzFile).size / MB)} MiB): ${f1(bytes / MB / (gzMs / 1000))} MB/s of log text, peak RSS ${f1(Math.max(...gz.map((r) => r.maxRssMb)))} MiB`;
    }

    const tailOffline = Array.from({ length: TAIL_RUNS }, () => timeNode([...ctl, 'logs', '-n', '100'], env, preload).ms);

    daemon = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/main.ts'), '--data-dir', dataDir, '--port', '0'], {
      cwd: ROOT,
      // Large limits: the generated file stays the current one (no rotation at the daemon's first line).
      env: { ...env, MCP_STARTER_LOGS_MAX_BYTES: String(4 * 1024 * MB), MCP_STARTER_LOGS_MAX_TOTAL_BYTES: String(8 * 1024 * MB) },
      stdio: 'ignore',
    });
    await untilStatus(ctl, env, daemon);
    const pid = daemon.pid ?? 0;
    const tailDaemon = Array.from({ length: TAIL_RUNS }, () => timeNode([...ctl, 'logs', '-n', '100'], env, preload).ms);
    const tailError = Array.from({ length: 5 }, () => timeNode([...ctl, 'logs', '-n', '100', '--level', 'error'], env, preload).ms);
    const rssBefore = vm(pid, 'VmRSS');
    const hwmBefore = vm(pid, 'VmHWM');
    const viaDaemon = timeNode([...ctl, 'logs', 'analyze', '--json'], env, preload);
    const daemonMs = (JSON.parse(viaDaemon.stdout) as Analysis).ms;
    const hwmAfter = vm(pid, 'VmHWM');

    const mbs = (ms: number): string => f1(bytes / MB / (ms / 1000));
    console.log(
      `\nlogs analyze on ${f1(bytes / MB)} MiB (${result.lines_read} lines, ${result.errors} errors, ${result.tool_calls} tool calls), median of ${RUNS}`,
    );
    console.log(
      `  ctl logs analyze, daemon down:  ${mbs(innerMs)} MB/s analysing (${f1(innerMs / 1000)} s); ${mbs(wallMs)} MB/s wall (${f1(wallMs / 1000)} s, ctl start-up included)`,
    );
    console.log(
      `  per CPU second of that process: ${mbs(cpuMs)} MB/s (${f1(cpuMs / 1000)} s of CPU, start-up included: a figure load does not lower)`,
    );
    console.log(`  peak RSS of that ctl process:   ${f1(rss)} MiB  (node -e 0: ${f1(bare.maxRssMb)} MiB)`);
    if (gzLine !== '') console.log(gzLine);
    console.log(
      `  through the daemon:             ${mbs(daemonMs)} MB/s; its peak RSS grew ${f1(Math.max(0, hwmAfter - Math.max(hwmBefore, rssBefore)))} MiB (RSS ${f1(rssBefore)} MiB before, peak ${f1(hwmAfter)} MiB)`,
    );
    console.log(
      `  grep -c "ERROR" (the manual):   ${f1(grepMs)} ms = ${mbs(grepMs)} MB/s (it counts ${greps[0]?.stdout.trim() ?? '?'}: our levels are lowercase JSON;` +
        ` grep -c '"level":"error"' counts ${grepLevel.stdout.trim()} in ${f1(grepLevel.ms)} ms)`,
    );
    console.log(
      `  the manual's analyze_logs:      ${f1(manual)} ms (6 passes of grep, one through sort; no window, no latency, no grouping)`,
    );
    console.log(`\nctl logs -n 100 (the last lines of the ${f1(bytes / MB)} MiB file), median of ${TAIL_RUNS}`);
    console.log(`  through the daemon:             ${f1(median(tailDaemon))} ms`);
    console.log(`  daemon down (ctl reads itself): ${f1(median(tailOffline))} ms`);
    console.log(`  --level error, through daemon:  ${f1(median(tailError))} ms (median of 5)`);
    console.log(`  node -e 0 for scale:            ${f1(bare.ms)} ms`);
  } finally {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      const exited = once(daemon, 'exit');
      daemon.kill('SIGTERM');
      const timer = setTimeout(() => daemon?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(work, { recursive: true, force: true });
    rmSync(bundle, { recursive: true, force: true });
  }
}

await main();
