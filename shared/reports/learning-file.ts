import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { openLearningDb } from '../learning-db.js';
import type { DataPaths } from '../paths.js';
import { LearningReport, type ReportLearningResult } from '../schemas/reports.js';
import { computeLearningReport, localDate } from './learning.js';

const FILE_PATTERN = /^learning_report_(\d{4}-\d{2}-\d{2})\.json$/;

/** `<reportsDir>/learning_report_YYYY-MM-DD.json`, the manual's name. */
export function learningReportFile(reportsDir: string, date: string): string {
  return join(reportsDir, `learning_report_${date}.json`);
}

/**
 * Writes a report file whole or not at all: a temp file renamed over the old one, so a reader never
 * sees half a report and a rerun the same day replaces it. Files under the data dir are 0600.
 */
export function writeLearningReportFile(reportsDir: string, report: LearningReport): string {
  mkdirSync(reportsDir, { recursive: true, mode: 0o700 });
  const file = learningReportFile(reportsDir, report.date);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return file;
}

/** The dates that have a report file, newest first. */
export function learningReportDates(reportsDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(reportsDir);
  } catch {
    return []; // no reports folder yet
  }
  return names
    .map((n) => FILE_PATTERN.exec(n)?.[1])
    .filter((d): d is string => d !== undefined)
    .sort()
    .reverse();
}

/** Reads and checks a report file. */
export function readLearningReportFile(file: string): LearningReport {
  let parsed: ReturnType<typeof LearningReport.safeParse>;
  try {
    parsed = LearningReport.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new AppError('E_INTERNAL', `Cannot read the learning report ${file}: ${(err as Error).message}.`, {
      hint: 'Check the file (it should be the JSON daily maintenance wrote); move it aside to have today\u2019s computed again.',
      cause: err,
    });
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError(
      'E_INTERNAL',
      `The learning report ${file} is not a report this release reads (${issue ? `${issue.path.join('.') || 'the file'}: ${issue.message}` : 'invalid'}).`,
      { hint: 'Move it aside; for today, `mcp-starterctl jobs run daily-maintenance` writes it again.' },
    );
  }
  return parsed.data;
}

export interface ReportRequest {
  /** YYYY-MM-DD; today by default. */
  date?: string | undefined;
  /** The timezone "today" is taken in: the schedule's (the daily job names its report by it), else local time. */
  timeZone?: string | undefined;
  now?: Date;
  locale?: string;
}

function noReport(paths: DataPaths, date: string, today: string): AppError {
  const dates = learningReportDates(paths.reportsDir);
  const live = `today (${today}), which is computed from the database until its file is written`;
  if (dates.length === 0) {
    return new AppError('E_BAD_PARAMS', `There is no learning report for ${date} in ${paths.reportsDir}; there are no report files yet.`, {
      hint: `The daily-maintenance job writes one each day (\`mcp-starterctl jobs\` shows when); ask for ${live}.`,
    });
  }
  const known = `${dates.slice(0, 7).join(', ')}${dates.length > 7 ? ', …' : ''}`;
  return new AppError('E_BAD_PARAMS', `There is no learning report for ${date} in ${paths.reportsDir}; reports exist for ${known}.`, {
    hint: `Ask for one of those dates, or for ${live}.`,
  });
}

/**
 * `report.learning`, daemon or not: the day's report file, or for today before daily maintenance
 * has written it, the report computed from the learning database now (nothing is written).
 */
export function learningReportFor(paths: DataPaths, request: ReportRequest = {}): ReportLearningResult {
  const now = request.now ?? new Date();
  const today = localDate(now.getTime(), request.timeZone);
  const date = request.date ?? today;
  if (date > today) {
    throw new AppError('E_BAD_PARAMS', `${date} is after today (${today}): there is no learning report for it yet.`, {
      hint: `Leave --date out for today's report, or give a past date.`,
    });
  }
  const file = learningReportFile(paths.reportsDir, date);
  if (existsSync(file)) return { ...readLearningReportFile(file), source: 'file', file };
  if (date !== today) throw noReport(paths, date, today);
  if (!existsSync(paths.learningDb)) {
    throw new AppError('E_DB', `There is no learning database at ${paths.learningDb} yet, so there is nothing to report.`, {
      hint: 'The MCP server creates it when it first starts (`mcp-starterctl start`); check --data-dir points at the daemon\u2019s data directory.',
    });
  }
  const db = openLearningDb(paths.learningDb);
  try {
    return {
      ...computeLearningReport(db, { date, now, ...(request.locale ? { locale: request.locale } : {}) }),
      source: 'live',
      file: null,
    };
  } finally {
    db.close();
  }
}
