import type { Recommendation, WeeklyReport } from '../../shared/schemas/weekly.js';

const CTL = 'mcp-starterctl';
const pct = (share: number): string => `${(Math.floor(share * 10_000) / 100).toFixed(2)} %`;
const secs = (ms: number): string => `${Number((ms / 1000).toFixed(2))} s`;

/** Thresholds the rules read (the config's, so the report judges what the alerts judge). */
export interface Thresholds {
  cpuPercent: number;
  memoryPercent: number;
  responseTimeMs: number;
}

/** A tutorial whose completion rate is this far under the others' median is worth a look. */
const LOW_COMPLETION_FACTOR = 0.5;
/** A step with this many wrong answers in a week is where learners get stuck. */
const STUCK_WRONG_ANSWERS = 5;

/**
 * The manual's "recommended actions", derived from the week's figures: each names what was
 * seen and the command that acts on it, most pressing first; a quiet week says so.
 */
export function recommend(report: Omit<WeeklyReport, 'recommendations'>, t: Thresholds): Recommendation[] {
  const out: Recommendation[] = [];
  const { server, errors, learning } = report;
  if (server.availability !== null && server.availability < server.availabilityGoal) {
    const crashes = server.restarts.filter((r) => !r.planned);
    const causes = crashes.map((r) => `${r.cause} ×${r.count}`).join(', ');
    out.push({
      severity: 'action',
      text: `Availability was ${pct(server.availability)}, under the ${pct(server.availabilityGoal)} goal${causes ? ` (${causes})` : ''}: find out why the server went down.`,
      command: `${CTL} diagnose`,
    });
  }
  const crashes = server.restarts.filter((r) => !r.planned && r.cause !== 'daemon-down').reduce((n, r) => n + r.count, 0);
  if (crashes > 0) {
    out.push({
      severity: crashes >= 3 ? 'action' : 'watch',
      text: `The server went down ${crashes} time${crashes === 1 ? '' : 's'} without being asked to: read the errors around those times.`,
      command: `${CTL} logs --level error -n 200`,
    });
  }
  if (server.daemonDownCount > 0) {
    out.push({
      severity: 'watch',
      text: `mcp-starterd itself was not running ${server.daemonDownCount} time${server.daemonDownCount === 1 ? '' : 's'} without a deliberate stop: check that systemd restarts it.`,
      command: 'systemctl status mcp-starter',
    });
  }
  if (server.p95Ms !== null && server.p95Ms > server.responseGoalMs) {
    out.push({
      severity: 'action',
      text: `Responses were slow: p95 ${secs(server.p95Ms)} over the ${secs(server.responseGoalMs)} goal (${server.slowDays} day${server.slowDays === 1 ? '' : 's'} over it). Optimise the database and free memory, then watch the figures.`,
      command: `${CTL} optimize`,
    });
  } else if (server.slowDays > 0) {
    out.push({
      severity: 'watch',
      text: `Responses were over ${secs(server.responseGoalMs)} on ${server.slowDays} day${server.slowDays === 1 ? '' : 's'}: look at the metrics of those days.`,
      command: `${CTL} metrics --hours 168`,
    });
  }
  if (server.cpuPercent !== null && server.cpuPercent > t.cpuPercent) {
    out.push({
      severity: 'action',
      text: `CPU averaged ${server.cpuPercent.toFixed(1)} % (threshold ${t.cpuPercent} %): find what keeps the machine busy.`,
      command: `${CTL} top`,
    });
  }
  if (server.memoryPercent !== null && server.memoryPercent > t.memoryPercent) {
    out.push({
      severity: 'action',
      text: `Memory averaged ${server.memoryPercent.toFixed(1)} % (threshold ${t.memoryPercent} %): free memory, or set restart.maxMemoryMb so a growing server is restarted in time.`,
      command: `${CTL} optimize`,
    });
  }
  const open = errors.alerts.filter((a) => a.clearedAt === null);
  if (open.length > 0) {
    out.push({
      severity: 'action',
      text: `${open.length} alert${open.length === 1 ? ' is' : 's are'} still active (${[...new Set(open.map((a) => a.rule))].join(', ')}): each says what to do.`,
      command: `${CTL} status`,
    });
  }
  if (errors.failedJobs.length > 0) {
    const jobs = [...new Set(errors.failedJobs.map((j) => j.job))];
    out.push({
      severity: jobs.includes('daily-maintenance') ? 'action' : 'watch',
      text: `Scheduled jobs failed: ${jobs.join(', ')}${jobs.includes('daily-maintenance') ? ' (backups may be missing)' : ''}. Run one by hand to see why.`,
      command: `${CTL} jobs run ${jobs[0] ?? 'daily-maintenance'}`,
    });
  }
  const top = errors.topErrors[0];
  if (top !== undefined) {
    out.push({
      severity: errors.errors >= 50 ? 'action' : 'watch',
      text: `${errors.errors} error line${errors.errors === 1 ? '' : 's'} in the logs; the most frequent: "${top.message}" (×${top.count}).`,
      command: `${CTL} logs analyze --hours 168`,
    });
  }
  for (const step of (learning?.stuck ?? []).filter((s) => s.wrongAnswers >= STUCK_WRONG_ANSWERS).slice(0, 2)) {
    out.push({
      severity: 'watch',
      text: `Learners get stuck on ${step.tutorial} step ${step.step} (${step.wrongAnswers} wrong answers): its hint or wording may need work.`,
      command: `${CTL} report learning`,
    });
  }
  out.push(...lowCompletion(learning));
  if (out.length === 0) {
    out.push({ severity: 'ok', text: 'A quiet week: every figure is within its goal. Nothing to do.', command: null });
  }
  return out;
}

function lowCompletion(learning: WeeklyReport['learning']): Recommendation[] {
  const rates = (learning?.tutorials ?? []).filter((t) => t.starts > 0 && t.completionRate !== null);
  if (rates.length < 3) return [];
  const sorted = rates.map((t) => t.completionRate ?? 0).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return rates
    .filter((t) => (t.completionRate ?? 0) < median * LOW_COMPLETION_FACTOR)
    .slice(0, 2)
    .map((t) => ({
      severity: 'watch' as const,
      text: `"${t.title}" is completed far less than the others (${(t.completionRate ?? 0).toFixed(1)} % against a median of ${median.toFixed(1)} %).`,
      command: `${CTL} report learning`,
    }));
}
