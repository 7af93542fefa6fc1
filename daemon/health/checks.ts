import si from 'systeminformation';
import { AppError } from '../../shared/errors.js';
import type { Config } from '../../shared/schemas/config.js';
import { HealthBody } from '../../shared/schemas/http.js';
import type { Availability, ChildState, HealthCheck, HealthResult } from '../../shared/schemas/rpc.js';
import { openDatabase } from '../../shared/sqlite.js';
import { fetchViaSocket, probeMcp } from '../prober.js';
import { processFigures } from '../metrics/system.js';

/** The manual's timeout for the server check (2.2), and ours for the MCP probe. */
export const CHECK_TIMEOUT_MS = 5_000;

export interface HealthDeps {
  /** The public MCP URL (`http://host:port/mcp`); `/health` is beside it. */
  url: string;
  probeSocket: string;
  probeToken: string;
  learningDb: string;
  config: () => Pick<Config, 'thresholds' | 'restart'>;
  child: () => { state: ChildState; pid: number | undefined };
  availability: () => Availability;
}

const seconds = (ms: number): number => Math.round(ms) / 1000;

async function timed(run: () => Promise<Omit<HealthCheck, 'response_time'>>): Promise<HealthCheck> {
  const t0 = performance.now();
  try {
    const result = await run();
    return { ...result, response_time: seconds(performance.now() - t0) };
  } catch (err) {
    return {
      status: 'error',
      response_time: seconds(performance.now() - t0),
      details: (err as Error).message,
      hint:
        err instanceof AppError && err.hint
          ? err.hint
          : 'See `mcp-starterctl logs --level error`; `mcp-starterctl diagnose` checks the usual causes.',
    };
  }
}

/** What to try when the server is not there to answer, by its state. */
function downHint(state: ChildState): string {
  switch (state) {
    case 'stopped':
      return 'The server is stopped: start it with `mcp-starterctl start`.';
    case 'fatal':
      return 'The server kept crashing and was stopped: `mcp-starterctl status` shows its last exit; fix the cause, then `mcp-starterctl start`.';
    case 'backoff':
      return 'The server crashed and is about to be restarted: `mcp-starterctl status` shows its last exit.';
    case 'starting':
    case 'reloading':
      return 'The server is starting: check again in a few seconds.';
    case 'draining':
      return 'The server is stopping: `mcp-starterctl start` once it has stopped.';
    case 'running':
      return 'The server does not answer: see `mcp-starterctl logs -n 50`, then `mcp-starterctl restart`.';
  }
}

/**
 * The manual's health check (2.2) — server_response, database_connection, memory_usage,
 * learning_system — plus mcp_probe, a real MCP request. All run at once; `healthy` only when
 * every one passes; each failing check says what it found and what to try.
 */
export class HealthChecker {
  constructor(private readonly deps: HealthDeps) {}

  async run(): Promise<HealthResult> {
    const child = this.deps.child();
    const [server_response, database_connection, memory_usage, learning_system, mcp_probe] = await Promise.all([
      timed(() => this.serverResponse(child.state)),
      timed(() => Promise.resolve(this.database())),
      timed(() => this.memory(child.pid)),
      timed(() => Promise.resolve(this.learningSystem())),
      timed(() => this.mcpProbe(child.state)),
    ]);
    const checks = { server_response, database_connection, memory_usage, learning_system, mcp_probe };
    const healthy = Object.values(checks).every((c) => c.status === 'pass');
    return {
      timestamp: new Date().toISOString(),
      status: healthy ? 'healthy' : 'unhealthy',
      checks,
      availability: this.deps.availability(),
    };
  }

  /** GET /health, as a client would, through the daemon's private socket to the serving child. */
  private async serverResponse(state: ChildState): Promise<Omit<HealthCheck, 'response_time'>> {
    const url = new URL('/health', this.deps.url);
    let res: Response;
    try {
      res = await fetchViaSocket(this.deps.probeSocket)(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    } catch (err) {
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s` : (err as Error).message;
      return { status: 'fail', details: `GET /health: ${why} (server ${state})`, hint: downHint(state) };
    }
    const body = HealthBody.safeParse(await res.json().catch(() => undefined));
    if (res.status !== 200 || !body.success) {
      return { status: 'fail', details: `GET /health answered HTTP ${res.status} (server ${state})`, hint: downHint(state) };
    }
    if (body.data.degraded) {
      return {
        status: 'fail',
        details: `HTTP 200, degraded: ${body.data.degraded.reason}`,
        hint: 'Learners can read but their changes are refused: `mcp-starterctl status` names the cause and the fix.',
      };
    }
    return { status: 'pass', details: `HTTP 200 (${body.data.status}, ${body.data.inFlight} in flight)` };
  }

  /** The manual's `SELECT COUNT(*) FROM users`, on a read-only connection of the daemon's own. */
  private database(): Omit<HealthCheck, 'response_time'> {
    const db = openDatabase(this.deps.learningDb, { synchronous: 'NORMAL', readonly: true, busyTimeoutMs: 2_000 });
    try {
      const { n } = db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number };
      return { status: 'pass', details: `Users: ${n}` };
    } finally {
      db.close();
    }
  }

  /** The server's RSS against `restart.maxMemoryMb` and the machine's memory against the manual's 75 %. */
  private async memory(pid: number | undefined): Promise<Omit<HealthCheck, 'response_time'>> {
    const { thresholds, restart } = this.deps.config();
    const [mem, proc] = await Promise.all([si.mem(), pid === undefined ? undefined : processFigures(pid)]);
    const percent = mem.total > 0 ? Math.round(((mem.total - mem.available) / mem.total) * 1000) / 10 : 0;
    const rssMb = proc ? Math.round(proc.rssBytes / 1_048_576) : undefined;
    const server =
      rssMb === undefined
        ? 'no server process'
        : `server ${rssMb} MB${restart.maxMemoryMb > 0 ? ` (limit ${restart.maxMemoryMb} MB)` : ''}`;
    const details = `${server}; machine ${percent} % used (threshold ${thresholds.memoryPercent} %)`;
    if (percent > thresholds.memoryPercent) {
      return { status: 'fail', details, hint: 'The machine is short of memory: `free -m` and `top -o %MEM` show what uses it.' };
    }
    if (rssMb !== undefined && restart.maxMemoryMb > 0 && rssMb > restart.maxMemoryMb) {
      return {
        status: 'fail',
        details,
        hint: 'The server is over restart.maxMemoryMb: it is restarted once it stays there; `mcp-starterctl restart` does it now.',
      };
    }
    return { status: 'pass', details };
  }

  /** The manual's tutorials and in-progress counts. */
  private learningSystem(): Omit<HealthCheck, 'response_time'> {
    const db = openDatabase(this.deps.learningDb, { synchronous: 'NORMAL', readonly: true, busyTimeoutMs: 2_000 });
    try {
      const { tutorials } = db.prepare('SELECT COUNT(*) AS tutorials FROM tutorials WHERE retired_at IS NULL').get() as {
        tutorials: number;
      };
      const { active } = db.prepare("SELECT COUNT(*) AS active FROM user_progress WHERE status = 'in_progress'").get() as {
        active: number;
      };
      const details = `Tutorials: ${tutorials}, Active learners: ${active}`;
      if (tutorials > 0) return { status: 'pass', details };
      return {
        status: 'fail',
        details,
        hint: 'No tutorials in the database: the catalogue did not load. See `mcp-starterctl logs --level error` for catalogue errors, then `mcp-starterctl restart`.',
      };
    } finally {
      db.close();
    }
  }

  /** A real MCP request on the current protocol (negotiation, tools/list, a list_tutorials call). */
  private async mcpProbe(state: ChildState): Promise<Omit<HealthCheck, 'response_time'>> {
    const result = await probeMcp(this.deps.url, CHECK_TIMEOUT_MS, this.deps.probeToken, this.deps.probeSocket);
    if (result.ok) return { status: 'pass', details: `list_tutorials answered (${result.tutorials ?? 0} tutorials)` };
    const hint =
      state === 'running'
        ? 'The server is up but fails a real MCP request: see `mcp-starterctl logs --level error`, then `mcp-starterctl restart`.'
        : downHint(state);
    return { status: 'fail', details: `${result.error ?? 'failed'} (server ${state})`, hint };
  }
}
