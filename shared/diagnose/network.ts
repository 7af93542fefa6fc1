import { request } from 'node:http';
import { connect } from 'node:net';
import { isWildcardHost } from '../http-config.js';
import { HealthBody, HttpErrorBody } from '../schemas/http.js';
import { portHolders, type ProcessInfo } from './proc.js';
import { type NewFinding, type Outcome } from './run.js';

/**
 * The configured port with the daemon down: free (the daemon can bind it), or held, and by whom:
 * our own server left without its daemon, another mcp-starterd, or a program that is not ours
 * (named by pid when /proc shows it). Every network step is bounded by a timeout of about a second.
 */

export const PORT_TIMEOUT_MS = 1_000;
const MAX_BODY_BYTES = 64 * 1024;

type Reach = 'open' | 'refused' | 'silent';

/** Where to connect for a bind address: a wildcard bind is reached on loopback. */
function connectHost(host: string): string {
  if (!isWildcardHost(host)) return host.replace(/^\[|\]$/g, '');
  return host.includes(':') ? '::1' : '127.0.0.1';
}

function reach(host: string, port: number, timeoutMs: number): Promise<Reach> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (r: Reach): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('silent'), timeoutMs);
    socket.once('connect', () => done('open'));
    // ECONNREFUSED is the free port; any other error (no route, no such address) means nothing of ours is there either.
    socket.once('error', () => done('refused'));
  });
}

type HttpAnswer =
  { kind: 'ours'; what: string } | { kind: 'http'; status: number; server: string | undefined } | { kind: 'not_http'; why: string };

/** GET /health: our server answers with its health body (or, for a Host it does not accept, its error body). */
function askHealth(host: string, port: number, hostHeader: string, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/health', method: 'GET', agent: false, headers: { host: hostHeader }, timeout: timeoutMs });
    let settled = false;
    const done = (a: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(a);
    };
    req.once('timeout', () => done({ kind: 'not_http', why: `no HTTP answer within ${timeoutMs} ms` }));
    req.once('error', (err) => done({ kind: 'not_http', why: err.message }));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY_BYTES) chunks.push(c);
      });
      res.once('error', (err) => done({ kind: 'not_http', why: err.message }));
      res.once('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined; // not JSON: not our server
        }
        const health = HealthBody.safeParse(body);
        if (health.success) return done({ kind: 'ours', what: `mcp-starter-server ${health.data.version}, status ${health.data.status}` });
        if (HttpErrorBody.safeParse(body).success) return done({ kind: 'ours', what: `mcp-starter-server (HTTP ${res.statusCode ?? 0})` });
        const server = res.headers['server'];
        done({ kind: 'http', status: res.statusCode ?? 0, server: typeof server === 'string' ? server : undefined });
      });
    });
    req.end();
  });
}

const isDaemon = (p: ProcessInfo): boolean => /mcp-starterd|daemon\/main\.(ts|js)/.test(p.command);
const describe = (p: ProcessInfo): string => `pid ${p.pid}: ${p.command}`;

function heldFinding(where: string, port: number, answer: HttpAnswer, holders: ProcessInfo[], hidden: boolean): NewFinding {
  const first = holders[0];
  const who =
    holders.length > 0
      ? `pid ${holders.map((h) => h.pid).join(', ')}`
      : hidden
        ? 'a process of another user (its pid is not visible to this user: `sudo ss -ltnp` shows it)'
        : 'a process whose pid /proc does not show';
  const fix = first ? `kill ${first.pid}` : `sudo ss -ltnp 'sport = :${port}'`;
  const details = [...holders.map(describe), answer.kind === 'not_http' ? `GET /health: ${answer.why}` : ''].filter((d) => d !== '');
  const daemon = holders.find(isDaemon);
  if (daemon) {
    return {
      id: 'port_taken_by_other_daemon',
      severity: 'critical',
      title: `Another mcp-starterd holds ${where}`,
      cause: `mcp-starterd pid ${daemon.pid} serves this port, with another data dir or config; this one cannot start beside it. Use that daemon (pass its --data-dir), or stop it, or give this one another server.port.`,
      fix,
      details,
    };
  }
  if (answer.kind === 'ours') {
    return {
      id: 'port_held_by_server',
      severity: 'critical',
      title: `An MCP server without its daemon holds ${where}`,
      cause: `${answer.what} answers on the port (${who}), run by hand or left behind by a daemon that died; mcp-starterd cannot bind the port until it exits.`,
      fix,
      details,
    };
  }
  if (answer.kind === 'http') {
    return {
      id: 'port_foreign',
      severity: 'critical',
      title: `${where} answers, but not as mcp-starter`,
      cause: `Another program serves HTTP there (${who}; GET /health gave HTTP ${answer.status}${answer.server ? `, Server: ${answer.server}` : ''}). Learners' clients reach it instead of the MCP server, and mcp-starterd cannot bind the port. Stop it, or set server.port to a free port.`,
      fix,
      details,
    };
  }
  return {
    id: 'port_taken',
    severity: 'critical',
    title: `${where} is taken by another program`,
    cause: `Something listens there (${who}) that does not speak HTTP; mcp-starterd cannot bind the port while it does. Stop it, or set server.port (MCP_STARTER_SERVER_PORT) to a free port.`,
    fix,
    details,
  };
}

/** The port with the daemon down: free, or who holds it. */
export async function checkPortOffline(host: string, port: number, timeoutMs = PORT_TIMEOUT_MS): Promise<Outcome> {
  const target = connectHost(host);
  const where = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  if (port === 0) return { summary: 'server.port is 0 (a free port chosen at each start)', skipped: true };
  const state = await reach(target, port, timeoutMs);
  if (state === 'refused') return { summary: `${where} is free` };
  if (state === 'silent') return { summary: `nothing answered on ${where} within ${timeoutMs} ms (a firewall may drop it)` };
  const hostHeader = isWildcardHost(host) ? `localhost:${port}` : `${where}`;
  const answer = await askHealth(target, port, hostHeader, timeoutMs);
  const { holders, hidden } = portHolders(port);
  return { summary: `${where} is held`, findings: [heldFinding(where, port, answer, holders, hidden)] };
}
