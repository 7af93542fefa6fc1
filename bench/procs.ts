/**
 * The processes the bench starts (our server, the bare server, the private build) and what it
 * reads about them from /proc. Every child and temp dir is registered as soon as it exists, so
 * `cleanup()` (or, on a hard exit, `cleanupSync()`) leaves nothing behind.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** A temp dir that `cleanup()` removes. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Ends one child by its PID: SIGTERM, wait, SIGKILL, wait. */
export async function stopProcess(proc: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  children.delete(proc);
}

/** Stops every child the bench started and removes its temp dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all([...children].map((p) => stopProcess(p)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Last resort from an `exit` handler, where nothing can be awaited. */
export function cleanupSync(): void {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

/** How the servers are run: `build` (default) compiles the current sources into a private dir. */
export type ServerMode = 'build' | 'dist' | 'tsx';

export interface Launcher {
  mode: ServerMode;
  /** For the report: what exactly runs. */
  description: string;
  /** Type errors tsc reported while emitting anyway (a concurrent edit), if any. */
  buildWarnings: string;
  ours: string[];
  bare: string[];
}

function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    execFile(cmd, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolveRun({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

/**
 * Compiles the server and the bare server with tsc into a temp dir that looks like the package
 * (package.json, node_modules and the catalogue linked in), so the figures are for plain `node`
 * on JS without touching the shared `dist/` (others build it) and never for a stale build.
 */
async function privateBuild(): Promise<{ dir: string; warnings: string }> {
  const dir = makeTempDir('mcp-starter-bench-build-');
  const tsconfig = join(dir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: dir, rootDir: ROOT, sourceMap: false },
      include: ['shared', 'mcp-server', 'bench/bare-server.ts'].map((p) => join(ROOT, p)),
    }),
  );
  // Before tsc: it resolves `types: ["node"]` from the config's folder, and node needs both at run time.
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const { code, output } = await run(process.execPath, [tsc, '-p', tsconfig]);
  if (!existsSync(join(dir, 'mcp-server', 'main.js')) || !existsSync(join(dir, 'bench', 'bare-server.js'))) {
    throw new Error(`tsc emitted no server (exit ${code}):\n${output}`);
  }
  symlinkSync(join(ROOT, 'mcp-server', 'catalog'), join(dir, 'mcp-server', 'catalog'), 'dir');
  return { dir, warnings: code === 0 ? '' : output };
}

export async function prepareLauncher(mode: ServerMode): Promise<Launcher> {
  const tsxArgs = (file: string): string[] => ['--import', 'tsx', join(ROOT, file)];
  switch (mode) {
    case 'tsx':
      return {
        mode,
        description: 'sources under tsx (node --import tsx mcp-server/main.ts)',
        buildWarnings: '',
        ours: tsxArgs('mcp-server/main.ts'),
        bare: tsxArgs('bench/bare-server.ts'),
      };
    case 'dist': {
      const main = join(ROOT, 'dist', 'mcp-server', 'main.js');
      if (!existsSync(main)) {
        const { code, output } = await run('npm', ['run', '-s', 'build']);
        if (code !== 0 && !existsSync(main)) throw new Error(`npm run build failed:\n${output}`);
      }
      return {
        mode,
        description: 'node dist/mcp-server/main.js (npm run build; may be older than the sources); bare server under tsx',
        buildWarnings: '',
        ours: [main],
        bare: tsxArgs('bench/bare-server.ts'),
      };
    }
    case 'build': {
      const { dir, warnings } = await privateBuild();
      return {
        mode,
        description: 'node on tsc output of the current sources (private build in a temp dir; both servers)',
        buildWarnings: warnings,
        ours: [join(dir, 'mcp-server', 'main.js')],
        bare: [join(dir, 'bench', 'bare-server.js')],
      };
    }
  }
}

export interface RunningServer {
  proc: ChildProcess;
  pid: number;
  url: URL;
  /** Our server's stderr (its JSON log), when it goes to a file. */
  logFile?: string;
}

function listeningUrl(line: string): string | undefined {
  try {
    const obj = JSON.parse(line) as Record<string, unknown>;
    return obj['event'] === 'listening' && typeof obj['url'] === 'string' ? obj['url'] : undefined;
  } catch {
    return undefined; // not a JSON line
  }
}

function exitError(proc: ChildProcess, what: string, detail: () => string): Promise<never> {
  return once(proc, 'exit').then(([code, signal]) => {
    throw new Error(`${what} exited (${String(code ?? signal)}) before listening:\n${detail()}`);
  });
}

/** Environment without MCP_STARTER_* overrides, so the bench measures the defaults whatever the shell holds. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCP_STARTER_')));
}

/**
 * Starts our server on 127.0.0.1:0 with a fresh data dir. Its log goes to a file, not a pipe: a
 * pipe would make the bench process read (and pay for) every `tool_call` line, and a pipe that
 * is not drained blocks the server's synchronous logger. A file is what the daemon does too.
 */
export async function startOurs(launcher: Launcher, dataDir: string): Promise<RunningServer> {
  const logFile = join(dataDir, 'server.log');
  const fd = openSync(logFile, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(process.execPath, [...launcher.ours, '--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'ignore', fd],
    });
  } finally {
    closeSync(fd);
  }
  children.add(proc);
  const readLog = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const found = (async (): Promise<string> => {
    // The log is a file, so there is no event to await: poll it, bounded by the start timeout.
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (performance.now() < deadline) {
      for (const line of readLog().split('\n')) {
        const url = listeningUrl(line);
        if (url !== undefined) return url;
      }
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`our server did not log "listening" within ${START_TIMEOUT_MS} ms:\n${readLog().slice(-4000)}`);
  })();
  const url = await Promise.race([found, exitError(proc, 'our server', () => readLog().slice(-4000))]);
  return { proc, pid: pidOf(proc), url: new URL(url), logFile };
}

/** Starts the bare SDK server; it prints its URL on stdout. */
export async function startBare(launcher: Launcher): Promise<RunningServer> {
  const proc = spawn(process.execPath, launcher.bare, { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-4000)));
  const found = new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bare server printed no URL within ${START_TIMEOUT_MS} ms:\n${out}${err}`)),
      START_TIMEOUT_MS,
    );
    proc.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      for (const line of out.split('\n')) {
        const url = listeningUrl(line);
        if (url === undefined) continue;
        clearTimeout(timer);
        resolveUrl(url);
      }
    });
  });
  const url = await Promise.race([found, exitError(proc, 'bare server', () => `${out}${err}`)]);
  return { proc, pid: pidOf(proc), url: new URL(url) };
}

function pidOf(proc: ChildProcess): number {
  if (proc.pid === undefined) throw new Error('a child process has no PID (spawn failed)');
  return proc.pid;
}

export function isAlive(server: RunningServer): boolean {
  return server.proc.exitCode === null && server.proc.signalCode === null;
}

/** Whether the server is still running, after giving a pending `exit` event `graceMs` to arrive. */
export async function isStillAlive(server: RunningServer, graceMs = 500): Promise<boolean> {
  if (!isAlive(server)) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
  await Promise.race([once(server.proc, 'exit'), timeout]);
  clearTimeout(timer);
  return isAlive(server);
}

/** Why a server is gone: its exit and, for ours, the end of its log. */
export function describeExit(server: RunningServer): string {
  const { exitCode, signalCode } = server.proc;
  const how = signalCode !== null ? `was killed by ${signalCode}` : `exited with code ${String(exitCode)}`;
  const tail = server.logFile && existsSync(server.logFile) ? readFileSync(server.logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
  return `pid ${server.pid} ${how}${tail ? `; the end of its log:\n${tail}` : ''}`;
}

/** VmRSS and VmHWM (peak) of a process, in bytes. */
export function memoryOf(pid: number): { rssBytes: number; peakBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMsOf(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** CPU time the whole machine has been busy (all cores, not idle or iowait) and in iowait, in ms. */
export function machineCpuMs(): { busyMs: number; iowaitMs: number } {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu  user nice system idle iowait irq softirq steal ...
  const ticks = first.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busyMs: ((total - idle) * 1000) / clockTicks, iowaitMs: ((ticks[4] ?? 0) * 1000) / clockTicks };
}

/**
 * Waits (bounded) until the rest of the machine is quiet: between cells our two servers idle,
 * so busy CPU then is someone else's, and it would land in the next cell's figures.
 */
export async function waitForQuiet(maxMs: number, thresholdPct = 25, sampleMs = 250): Promise<{ waitedMs: number; busyPct: number }> {
  const start = performance.now();
  for (;;) {
    const before = machineCpuMs().busyMs;
    await new Promise((r) => setTimeout(r, sampleMs));
    const busyPct = ((machineCpuMs().busyMs - before) / sampleMs) * 100;
    const waitedMs = performance.now() - start;
    if (busyPct < thresholdPct || waitedMs >= maxMs) return { waitedMs, busyPct };
  }
}
