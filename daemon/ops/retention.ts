import type { Config } from '../../shared/schemas/config.js';
import { AlertsTable } from './alerts.js';
import { pruneAvailability } from './availability.js';
import type { OpsDatabase } from './database.js';
import { HealthChecksTable } from './health-checks.js';
import { JobRunsTable } from './job-runs.js';
import { ProbesTable } from './probes.js';
import { SamplesTable } from './samples.js';

const DAY_MS = 24 * 3_600_000;

/**
 * ops.db's retention (DESIGN.md, Data: operations data may be pruned), through each table's
 * owner: raw samples older than `metrics.retentionDays` become hourly averages; hourly samples,
 * probe results, health checks, resolved alerts, job runs (each job keeps its latest) and closed
 * availability intervals (the 7-day window is always kept) older than
 * `metrics.hourlyRetentionDays` are deleted. The monitor does the samples, probes, checks and
 * alerts hourly as well; `db optimize` does it all and reports the rows per table.
 */
export function pruneOps(ops: OpsDatabase, metrics: Config['metrics'], now = Date.now()): Record<string, number> {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const cutoff = iso(now - metrics.hourlyRetentionDays * DAY_MS);
  const samples = new SamplesTable(ops);
  return {
    samples_folded: samples.downsample(iso(now - metrics.retentionDays * DAY_MS)),
    samples: samples.prune(cutoff),
    probes: new ProbesTable(ops).prune(cutoff),
    health_checks: new HealthChecksTable(ops).prune(cutoff),
    alerts: new AlertsTable(ops).prune(cutoff),
    job_runs: new JobRunsTable(ops).prune(cutoff),
    availability: pruneAvailability(ops, cutoff, now),
  };
}
