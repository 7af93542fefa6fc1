import type { JobInfo, JobRunResult } from '../../shared/schemas/rpc.js';
import { duration, localTime, paint, relative, table } from './format.js';

function lastResult(last: JobInfo['lastRun']): string {
  if (!last) return paint('dim', 'never ran');
  const mark = last.ok ? paint('green', '\u2713') : paint('red', '\u2717');
  return `${mark} ${relative(last.at)} (${duration(last.ms)}): ${last.summary}`;
}

/** `ctl jobs`: each job's schedule, next run and last result. */
export function renderJobs(jobs: readonly JobInfo[]): string {
  const zone = jobs[0]?.timezone ?? null;
  const body = jobs.map((j) => [
    j.name,
    j.schedule,
    j.runningSince ? paint('yellow', `running since ${localTime(j.runningSince)}`) : j.nextRun ? localTime(j.nextRun) : '-',
    lastResult(j.lastRun),
  ]);
  const note = zone ? `schedules in ${zone}; times shown in local time` : 'schedules in local time';
  return [table(['job', 'schedule', 'next run', 'last result'], body), paint('dim', note)].join('\n');
}

/** `ctl jobs run NAME`: the run's outcome. */
export function renderJobRun(r: JobRunResult): string {
  const head = r.ok
    ? paint('green', `\u2713 ${r.name} ran in ${duration(r.ms)}`)
    : paint('red', `\u2717 ${r.name} failed after ${duration(r.ms)}`);
  return `${head}\n  ${r.ok ? r.summary : (r.error ?? r.summary)}`;
}
