import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../shared/sqlite.js';
import type { MetricsSample } from '../../shared/schemas/rpc.js';
import { WeeklyReport, type ReportWeeklyResult, type WeeklyErrors, type WeeklyLearning } from '../../shared/schemas/weekly.js';
import { AVAILABILITY_GOAL } from '../ops/availability.js';
import { dayOf, daysEnding } from './calendar.js';
import { recommend, type Thresholds } from './recommend.js';
import { availabilityIn, restartCauses, sampleFigures, timeIn } from './weekly-server.js';
import { renderWeeklyHtml, renderWeeklyMarkdown } from './weekly-render.js';

const DAYS = 7;

/** What the weekly report reads; each part may fail on its own (said in the report's notes). */
export interface WeeklySources {
  /** ops.db: availability intervals, alerts, job runs. */
  ops: Db;
  /** Metric samples in a span (raw, or hourly when older than the retention). */
  samples: (fromIso: string, toIso: string) => MetricsSample[];
  /** The learning figures of the week, and completions per day (one entry per day given). */
  learning: (days: ReadonlyArray<{ day: string; fromMs: number; toMs: number }>) => Promise<{
    section: WeeklyLearning;
    completionsPerDay: number[];
  }>;
  /** The log analysis of the week: errors, warnings and the most frequent errors. */
  logs: (fromMs: number, toMs: number) => Promise<Pick<WeeklyErrors, 'errors' | 'warnings' | 'topErrors'>>;
  thresholds: Thresholds;
  /** IANA name; the days of the report are its calendar days. */
  timezone: string;
}

/**
 * The manual's weekly report over the 7 days ending with `lastDay` (yesterday by default, so a
 * run on Sunday 03:00 covers Sunday to Saturday): server operation, learning activity, errors
 * and warnings, recommended actions.
 */
export async function buildWeeklyReport(src: WeeklySources, lastDay?: string, nowMs = Date.now()): Promise<WeeklyReport> {
  const end = lastDay ?? dayOf(nowMs - 86_400_000, src.timezone);
  const days = daysEnding(end, DAYS, src.timezone);
  const week = { fromMs: days[0]?.fromMs ?? nowMs, toMs: days[days.length - 1]?.toMs ?? nowMs };
  const notes: string[] = [];
  const weekSamples = src.samples(new Date(week.fromMs).toISOString(), new Date(week.toMs).toISOString());

  let learning: Awaited<ReturnType<WeeklySources['learning']>> | null = null;
  try {
    learning = await src.learning(days);
  } catch (err) {
    notes.push(`Learning activity is missing: ${(err as Error).message}`);
  }
  let logs: Awaited<ReturnType<WeeklySources['logs']>> = { errors: 0, warnings: 0, topErrors: [] };
  try {
    logs = await src.logs(week.fromMs, Math.min(week.toMs, nowMs));
  } catch (err) {
    notes.push(`The log analysis is missing: ${(err as Error).message}`);
  }

  const perDay = days.map(({ day, fromMs, toMs }, i) => {
    const samples = weekSamples.filter((s) => {
      const at = Date.parse(s.at);
      return at >= fromMs && at < toMs;
    });
    const figures = sampleFigures(samples);
    return {
      date: day,
      availability: availabilityIn(src.ops, { fromMs, toMs }, nowMs),
      p95Ms: figures.p95Ms,
      cpuPercent: figures.cpuPercent,
      memoryPercent: figures.memoryPercent,
      completions: learning?.completionsPerDay[i] ?? null,
    };
  });
  const time = timeIn(src.ops, week, nowMs);
  const figures = sampleFigures(weekSamples);
  const restarts = restartCauses(src.ops, week);
  if (weekSamples.length === 0) notes.push('No metric samples in this week: was the daemon running, with metrics.sampleIntervalMs set?');
  const responseGoalMs = src.thresholds.responseTimeMs;
  const base = {
    date: end,
    from: days[0]?.day ?? end,
    to: end,
    timezone: src.timezone,
    generatedAt: new Date(nowMs).toISOString(),
    days: perDay,
    server: {
      availability: availabilityIn(src.ops, week, nowMs),
      availabilityGoal: AVAILABILITY_GOAL,
      downMs: time.downMs,
      plannedMs: time.plannedMs,
      ...figures,
      responseGoalMs,
      slowDays: perDay.filter((d) => d.p95Ms !== null && d.p95Ms > responseGoalMs).length,
      samples: weekSamples.length,
      daemonDownCount: restarts.find((r) => r.cause === 'daemon-down')?.count ?? 0,
      restarts,
    },
    learning: learning?.section ?? null,
    errors: { ...logs, alerts: alertsIn(src.ops, week), failedJobs: failedJobsIn(src.ops, week) },
    notes,
  };
  return WeeklyReport.parse({ ...base, recommendations: recommend(base, src.thresholds) });
}

function alertsIn(db: Db, span: { fromMs: number; toMs: number }): WeeklyErrors['alerts'] {
  return db
    .prepare(
      `SELECT rule, raised_at AS raisedAt, cleared_at AS clearedAt, message FROM alerts
       WHERE raised_at < ? AND (cleared_at IS NULL OR cleared_at >= ?) ORDER BY raised_at LIMIT 50`,
    )
    .all(new Date(span.toMs).toISOString(), new Date(span.fromMs).toISOString()) as WeeklyErrors['alerts'];
}

function failedJobsIn(db: Db, span: { fromMs: number; toMs: number }): WeeklyErrors['failedJobs'] {
  return db
    .prepare(
      `SELECT job, started_at AS at, COALESCE(error, summary) AS error FROM job_runs
       WHERE ok = 0 AND started_at >= ? AND started_at < ? ORDER BY started_at LIMIT 50`,
    )
    .all(new Date(span.fromMs).toISOString(), new Date(span.toMs).toISOString()) as WeeklyErrors['failedJobs'];
}

/** Writes a file whole or not at all (temp file, then rename), private to the daemon's user. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, file);
}

/** `reports/weekly_report_YYYY-MM-DD.md` and `.html` (DESIGN.md), named by the week's last day. */
export function writeWeeklyReport(report: WeeklyReport, reportsDir: string): ReportWeeklyResult {
  const base = join(reportsDir, `weekly_report_${report.date}`);
  const markdownFile = `${base}.md`;
  const htmlFile = `${base}.html`;
  writeAtomically(markdownFile, renderWeeklyMarkdown(report));
  writeAtomically(htmlFile, renderWeeklyHtml(report));
  return { report, markdownFile, htmlFile };
}
