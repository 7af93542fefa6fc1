import type { HealthCheck, HealthCheckName, HealthResult } from '../../shared/schemas/rpc.js';
import { localTime, paint, rows, type Color } from './format.js';
import { renderAvailability } from './status.js';

const LOOK: Record<HealthCheck['status'], { symbol: string; color: Color }> = {
  pass: { symbol: '\u2713', color: 'green' },
  fail: { symbol: '\u2717', color: 'red' },
  error: { symbol: '!', color: 'red' },
};

/** The manual's four checks, then ours (DESIGN.md, JSON: `health`). */
const ORDER: readonly HealthCheckName[] = ['server_response', 'database_connection', 'memory_usage', 'learning_system', 'mcp_probe'];

/** The manual gives seconds; short ones read better in milliseconds. */
function took(seconds: number): string {
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`;
}

function checkLines(name: HealthCheckName, check: HealthCheck, nameWidth: number): string[] {
  const look = LOOK[check.status];
  const head = `  ${paint(look.color, look.symbol)} ${name.padEnd(nameWidth)}  ${paint(look.color, check.status.padEnd(5))}  ${took(check.response_time).padStart(7)}  ${check.details}`;
  return check.status === 'pass' || check.hint === undefined ? [head] : [head, `      \u2192 ${check.hint}`];
}

/** `ctl health`: each check with its time and details, a failing one's hint, and availability against the goal. */
export function renderHealth(health: HealthResult): string {
  const isHealthy = health.status === 'healthy';
  const headline = isHealthy
    ? paint('green', '\u2713 healthy: every check passes')
    : paint('red', `\u2717 unhealthy: ${ORDER.filter((n) => health.checks[n].status !== 'pass').join(', ')} did not pass`);
  const width = Math.max(...ORDER.map((n) => n.length));
  return [
    `${headline}  (checked ${localTime(health.timestamp)})`,
    ...ORDER.flatMap((name) => checkLines(name, health.checks[name], width)),
    rows([['availability', renderAvailability(health.availability)]]),
  ].join('\n');
}
