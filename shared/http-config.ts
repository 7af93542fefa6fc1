import { AppError } from './errors.js';
import type { Config } from './schemas/config.js';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

export function isWildcardHost(host: string): boolean {
  return ['0.0.0.0', '::', '[::]'].includes(host);
}

/**
 * Refuses an HTTP config that would be unsafe or serve nobody: a non-loopback bind without
 * tokens, or a wildcard bind with no host names to accept (DNS-rebinding protection). The daemon
 * and the server both check it before touching anything.
 */
export function checkHttpConfig(server: Config['server']): void {
  if (!isLoopbackHost(server.host) && !server.requireAuth) {
    throw new AppError('E_UNSAFE_BIND', `Refusing to serve on ${server.host} without authentication.`, {
      hint: 'Set "server": {"requireAuth": true} (and give learners tokens with `mcp-starterctl learners add NAME`), or bind 127.0.0.1.',
    });
  }
  if (isWildcardHost(server.host) && server.allowedHosts.length === 0) {
    throw new AppError('E_CONFIG_INVALID', `Binding ${server.host} needs the names clients use to reach this server.`, {
      hint: 'List them in server.allowedHosts, e.g. ["mcp.example.lan", "192.168.1.10"]; requests with another Host header are refused.',
    });
  }
}
