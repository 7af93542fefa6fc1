// `mcp-starterctl status` wall time beside `node -e 0`, in the same run and interleaved so that a
// busy machine slows both alike (issue 7; aim ≤ 1.5×). Runs the compiled JS, as production does,
// against a real daemon from dist/ on 127.0.0.1, in a temp dir it removes. Beside the ratio it
// times what the status path no longer loads, so the figures show what each step bought:
//   - zod and the control API's schemas (ctl checks answers with generated JSON Schemas instead),
//   - json-rpc-2.0 imported as ESM (ctl require()s it: Node's CommonJS export detection is slow).
// BENCH_CTL_RUNS (default 20) sets the runs per command.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env['BENCH_CTL_RUNS'] ?? 20);
const WARMUP = 3;
const AIM = 1.5;
const GUARD_MS = 20_000;
const CTL = join(ROOT, 'dist/ctl/main.js');

interface Case {
  label: string;
  args: string[];
  /** Checked on every run: a timing of a failing command means nothing. */
  expectExit: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};

function timeOnce(c: Case, env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const run = spawnSync(process.execPath, c.args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (run.status !== c.expectExit) throw new Error(`${c.label} exited ${run.status} (expected ${c.expectExit}):\n${run.stderr}`);
  return ms;
}

/** Every case once per round, rounds interleaved, so load that comes and goes hits every case alike. */
function timeInterleaved(cases: readonly Case[], env: NodeJS.ProcessEnv): number[][] {
  for (let i = 0; i < WARMUP; i++) for (const c of cases) timeOnce(c, env);
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) cases.forEach((c, j) => times[j]!.push(timeOnce(c, env)));
  return times;
}

function ensureBuild(): void {
  // json-check.js is new with issue 7: its absence means a dist/ from before it.
  const fresh = ['dist/daemon/main.js', 'dist/ctl/main.js', 'dist/ctl/json-check.js'].every((f) => existsSync(join(ROOT, f)));
  if (fresh) return;
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (!['dist/daemon/main.js', 'dist/ctl/main.js'].every((f) => existsSync(join(ROOT, f)))) {
    throw new Error(`npm run build did not produce dist/ (exit ${build.status})`);
  }
}

/** tsc's main.js imports ./commands.js; the bundle has the command table inside and imports chunks. */
function isBundled(): boolean {
  return !readFileSync(CTL, 'utf8').includes("from './commands.js'");
}

async function untilStatusAnswers(dataDir: string, env: NodeJS.ProcessEnv, daemon: ChildProcess): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < GUARD_MS) {
    if (daemon.exitCode !== null) throw new Error(`mcp-starterd exited with ${daemon.exitCode}`);
    if (spawnSync(process.execPath, [CTL, '--data-dir', dataDir, 'status'], { env, stdio: 'ignore' }).status === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mcp-starterd's server was not running within ${GUARD_MS} ms`);
}

async function main(): Promise<void> {
  ensureBuild();
  const dataDir = mkdtempSync(join(tmpdir(), 'mcp-starter-bench-ctl-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCP_STARTER_')));
  const daemon = spawn(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--data-dir', dataDir, '--port', '0'], {
    env,
    stdio: 'ignore',
  });
  try {
    await untilStatusAnswers(dataDir, env, daemon);
    const rpcSchemas = pathToFileURL(join(ROOT, 'dist/shared/schemas/rpc.js')).href;
    const cases: Case[] = [
      { label: 'node -e 0', args: ['-e', '0'], expectExit: 0 },
      { label: 'mcp-starterctl status', args: [CTL, '--data-dir', dataDir, 'status'], expectExit: 0 },
      { label: 'mcp-starterctl --version (start-up, no socket)', args: [CTL, '--version'], expectExit: 0 },
      {
        label: 'import zod + control API schemas (no longer on the status path)',
        args: ['--input-type=module', '-e', `await import(${JSON.stringify(rpcSchemas)})`],
        expectExit: 0,
      },
      { label: 'import json-rpc-2.0 as ESM (avoided)', args: ['--input-type=module', '-e', "await import('json-rpc-2.0')"], expectExit: 0 },
      { label: 'require json-rpc-2.0 (what ctl does)', args: ['-e', "require('json-rpc-2.0')"], expectExit: 0 },
    ];
    const times = timeInterleaved(cases, env);
    const medians = times.map(median);
    const bare = medians[0]!;
    const f = (n: number): string => n.toFixed(1).padStart(6);
    console.log(`\nmcp-starterctl: wall time, median of ${RUNS} interleaved runs each (after ${WARMUP} warm-up rounds)`);
    const width = Math.max(...cases.map((c) => c.label.length));
    cases.forEach((c, i) => {
      const m = medians[i]!;
      const extra = i === 0 ? '' : `  ${(m / bare).toFixed(2)}× node -e 0  (+${(m - bare).toFixed(1)} ms)`;
      console.log(`  ${c.label.padEnd(width)}  ${f(m)} ms${extra}`);
    });
    const ratio = medians[1]! / bare;
    const how = isBundled() ? 'the esbuild bundle' : 'tsc output, not bundled: `npm run build:ctl` bundles it';
    console.log(`\n  dist/ctl/main.js is ${how}`);
    console.log(`  ctl status / node -e 0: ${ratio.toFixed(2)}×  (aim ≤ ${AIM}×: ${ratio <= AIM ? 'met' : 'NOT met'})`);
  } finally {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      const exited = once(daemon, 'exit');
      daemon.kill('SIGTERM');
      const timer = setTimeout(() => daemon.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
