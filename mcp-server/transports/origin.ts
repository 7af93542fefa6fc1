import { validateHostHeader } from '@modelcontextprotocol/server';
import { isLoopbackHost, isWildcardHost } from '../../shared/http-config.js';
import type { Config } from '../../shared/schemas/config.js';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

export type Check = { ok: true } | { ok: false; message: string; hint: string };

interface OriginParts {
  scheme: string;
  hostname: string;
  port: string;
}

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function parseOrigin(text: string): OriginParts | undefined {
  try {
    const url = new URL(text);
    const port = url.port || DEFAULT_PORTS[url.protocol];
    if (url.hostname === '' || port === undefined) return undefined;
    return { scheme: url.protocol, hostname: url.hostname.toLowerCase(), port };
  } catch {
    return undefined;
  }
}

/**
 * One `server.allowedOrigins` entry: a full origin (`https://app.example:3000`) or a host with an
 * optional port (`app.example:3000`; no port means the scheme's default, 80 or 443).
 */
function entryMatches(entry: string, origin: OriginParts): boolean {
  if (entry.includes('://')) {
    const e = parseOrigin(entry);
    return e !== undefined && e.scheme === origin.scheme && e.hostname === origin.hostname && e.port === origin.port;
  }
  const e = parseOrigin(`${origin.scheme}//${entry}`);
  return e !== undefined && e.hostname === origin.hostname && e.port === origin.port;
}

/**
 * DNS-rebinding and cross-site protection: the Host header must be a name this server is reached
 * by, and a browser's Origin must be this server's own origin (host AND port, so a page served
 * by another program on the same machine is refused) or one listed in `server.allowedOrigins`.
 */
export class OriginPolicy {
  readonly allowedHosts: string[];

  constructor(private readonly config: Config['server']) {
    const names = new Set<string>(config.allowedHosts.map((h) => h.toLowerCase()));
    if (isLoopbackHost(config.host)) for (const n of LOOPBACK_NAMES) names.add(n);
    if (!isWildcardHost(config.host)) names.add(bracketed(config.host).toLowerCase());
    this.allowedHosts = [...names];
  }

  checkHost(hostHeader: string | undefined): Check {
    const host = validateHostHeader(hostHeader, this.allowedHosts);
    if (host.ok) return { ok: true };
    return {
      ok: false,
      message: `${host.message}.`,
      hint: `If clients really reach this server by that name, add it to server.allowedHosts (allowed now: ${this.allowedHosts.join(', ')}).`,
    };
  }

  /** Call after `checkHost` passed. */
  checkOrigin(originHeader: string | undefined, hostHeader: string | undefined): Check {
    if (originHeader === undefined || originHeader === '') return { ok: true };
    const origin = parseOrigin(originHeader);
    if (origin && this.isSameOrigin(origin, hostHeader)) return { ok: true };
    if (origin && this.config.allowedOrigins.some((e) => entryMatches(e, origin))) return { ok: true };
    const listed = this.config.allowedOrigins.length > 0 ? `; listed: ${this.config.allowedOrigins.join(', ')}` : '';
    return {
      ok: false,
      message: `Invalid Origin: ${originHeader} (not this server's own origin).`,
      hint: `If this web page may use the server, add its origin (scheme://host:port) to server.allowedOrigins (allowed now: the origin of the Host header${listed}).`,
    };
  }

  /** The page comes from the address the request was sent to: same host name (any loopback name for another) and same port. */
  private isSameOrigin(origin: OriginParts, hostHeader: string | undefined): boolean {
    if (hostHeader === undefined) return false;
    const host = parseOrigin(`${origin.scheme}//${hostHeader}`);
    if (!host || host.port !== origin.port) return false;
    if (host.hostname === origin.hostname) return true;
    return isLoopbackHost(this.config.host) && isLoopbackHost(host.hostname) && isLoopbackHost(origin.hostname);
  }
}
