import type { HealthResult } from '../../shared/schemas/rpc.js';

/**
 * `health-report` (manual 5.2, hourly): the full health check, recorded and logged by the
 * monitor. An unhealthy answer is a report that ran, not a job that failed: the summary says so.
 */
export async function healthReport(health: () => Promise<HealthResult>): Promise<string> {
  const result = await health();
  const failing = Object.entries(result.checks).flatMap(([name, check]) => (check.status === 'pass' ? [] : [name]));
  return failing.length === 0 ? 'healthy: every check passes' : `unhealthy: ${failing.join(', ')} did not pass`;
}
