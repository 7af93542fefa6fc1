import { EventEmitter } from 'node:events';
import { Cron } from 'croner';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { JobInfo, JobName, JobRunResult, JobTrigger } from '../shared/schemas/rpc.js';
import type { JobRunsTable } from './ops/job-runs.js';

/** How long a run may take unless its job says otherwise: past it the run is aborted and recorded failed. */
export const DEFAULT_JOB_TIMEOUT_MS = 10 * 60_000;

/** One scheduled job: what runs, and when. `run` resolves to a one-line summary, or throws. */
export interface JobSpec {
  name: JobName;
  /** A cron pattern croner accepts (config `schedule.*`, validated there). */
  pattern: string;
  run: (signal: AbortSignal) => Promise<string>;
  timeoutMs?: number;
}

export interface SchedulerOptions {
  jobs: readonly JobSpec[];
  /** IANA timezone the patterns are read in; undefined: the machine's local time. */
  timezone: string | undefined;
  runs: JobRunsTable;
  log: Logger;
}

interface Running {
  since: string;
  done: Promise<JobRunResult>;
  abort: AbortController;
}

interface Entry {
  spec: JobSpec;
  cron: Cron;
  running: Running | undefined;
}

export interface SchedulerEvents {
  /** Every run, when it has been recorded. */
  run: [JobRunResult];
  /** A scheduled tick that found the job still running. */
  skipped: [{ name: JobName; runningSince: string }];
}

/**
 * The scheduled jobs (DESIGN.md, manual 5.2): one croner job per configured pattern. One run of a
 * job at a time (a tick that finds it running is skipped and logged; `run` refuses with E_BUSY),
 * a time limit per run, every run recorded in ops.db and emitted; a job that throws is a failed
 * run, never a dead daemon. At start, a job whose last scheduled time passed while the daemon was
 * down runs once (catch-up).
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly entries = new Map<JobName, Entry>();
  private started = false;
  private paused = false;
  /** Whether start() ran its catch-up (a daemon started paused catches up when resumed). */
  private caughtUp = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SchedulerOptions) {
    super();
    for (const spec of options.jobs) {
      // Paused until start(): the daemon's RPC can list next runs before the child is up.
      const cron = new Cron(spec.pattern, { name: spec.name, paused: true, unref: true, timezone: options.timezone }, () =>
        this.tick(spec.name),
      );
      this.entries.set(spec.name, { spec, cron, running: undefined });
    }
  }

  /**
   * Starts the schedules, then runs once each job that missed a run while the daemon was down.
   * Paused (minimal mode): the catch-up waits for resume().
   */
  start(nowMs = Date.now()): void {
    if (this.started || this.closing) return;
    this.started = true;
    if (this.paused) return;
    this.caughtUp = true;
    for (const entry of this.entries.values()) {
      entry.cron.resume();
      const missed = this.missedRun(entry, nowMs);
      if (missed === undefined) continue;
      this.options.log.info(
        { event: 'job_run', job: entry.spec.name, trigger: 'catch-up', missed: missed.scheduled, lastRun: missed.lastRun },
        `${entry.spec.name} missed its run at ${missed.scheduled} while the daemon was down; running it now (catch-up)`,
      );
      void this.runNow(entry, 'catch-up');
    }
  }

  /**
   * The scheduled time the job missed: its latest one before now, when that is after its last
   * recorded run. A job that never ran (a fresh install) has nothing to catch up.
   */
  private missedRun(entry: Entry, nowMs: number): { scheduled: string; lastRun: string } | undefined {
    const last = this.options.runs.last(entry.spec.name);
    if (!last) return undefined;
    const previous = entry.cron.previousRuns(1, new Date(nowMs))[0];
    if (!previous || previous.getTime() <= Date.parse(last.at)) return undefined;
    return { scheduled: previous.toISOString(), lastRun: last.at };
  }

  /**
   * Minimal mode (DESIGN: no scheduled jobs): the schedules stop ticking; a run in progress
   * finishes, and `jobs run NAME` still runs a job by hand. resume() picks the schedules up again,
   * with the catch-up of a first start if the daemon started paused.
   */
  pause(): void {
    this.paused = true;
    for (const entry of this.entries.values()) entry.cron.pause();
  }

  resume(nowMs = Date.now()): void {
    if (!this.paused || this.closing) return;
    this.paused = false;
    if (!this.started) return; // start() does it all when it comes
    if (!this.caughtUp) {
      // started while paused: this is its real start, catch-up included
      this.started = false;
      this.start(nowMs);
      return;
    }
    for (const entry of this.entries.values()) entry.cron.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private tick(name: JobName): void {
    const entry = this.entries.get(name);
    if (!entry || this.closing) return;
    if (entry.running) {
      const runningSince = entry.running.since;
      this.options.log.warn(
        { event: 'job_run', job: name, trigger: 'schedule', skipped: true, runningSince },
        `${name}: scheduled run skipped, the run started at ${runningSince} is still going`,
      );
      this.emit('skipped', { name, runningSince });
      return;
    }
    void this.runNow(entry, 'schedule');
  }

  /** Runs a job now and answers its result; E_BUSY while a run of it is in progress. */
  run(name: JobName, trigger: JobTrigger = 'manual'): Promise<JobRunResult> {
    const entry = this.entries.get(name);
    if (!entry) {
      return Promise.reject(
        new AppError('E_BAD_PARAMS', `There is no job "${name}".`, { hint: `Jobs: ${[...this.entries.keys()].join(', ')}.` }),
      );
    }
    if (this.closing) {
      return Promise.reject(
        new AppError('E_BUSY', `The daemon is shutting down; ${name} does not start now.`, { hint: 'Run it once the daemon is back.' }),
      );
    }
    if (entry.running) {
      return Promise.reject(
        new AppError('E_BUSY', `The job ${name} is already running (since ${entry.running.since}).`, {
          hint: `Wait for it to finish (\`mcp-starterctl jobs\` shows its last result), then run it again.`,
        }),
      );
    }
    return this.runNow(entry, trigger);
  }

  /** Starts a run (the caller checked none is in progress); never rejects: a failure is a failed run. */
  private runNow(entry: Entry, trigger: JobTrigger): Promise<JobRunResult> {
    const abort = new AbortController();
    const since = new Date().toISOString();
    const done = this.execute(entry.spec, trigger, since, abort).finally(() => {
      entry.running = undefined;
    });
    entry.running = { since, done, abort };
    return done;
  }

  private async execute(spec: JobSpec, trigger: JobTrigger, startedAt: string, abort: AbortController): Promise<JobRunResult> {
    const t0 = performance.now();
    const timeoutMs = spec.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    // Not unref()ed: a run in progress is work the process should see through (close() aborts it).
    const timer = setTimeout(() => abort.abort(new Error(`timed out after ${seconds(timeoutMs)}`)), timeoutMs);
    // Ends the run at its limit or at shutdown, whether or not the job heeds its signal.
    const aborted = new Promise<never>((_resolve, reject) => {
      abort.signal.addEventListener('abort', () => reject(reasonOf(abort.signal)), { once: true });
    });
    let outcome: { ok: true; summary: string } | { ok: false; error: string };
    try {
      // A job that ignores the signal past its limit is left to finish on its own; its run is over.
      const summary = await Promise.race([Promise.resolve().then(() => spec.run(abort.signal)), aborted]);
      outcome = { ok: true, summary };
    } catch (err) {
      outcome = { ok: false, error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
    const result: JobRunResult = {
      name: spec.name,
      trigger,
      startedAt,
      endedAt: new Date().toISOString(),
      ok: outcome.ok,
      ms: Math.round((performance.now() - t0) * 10) / 10,
      summary: outcome.ok ? outcome.summary : `failed: ${outcome.error}`,
      error: outcome.ok ? null : outcome.error,
    };
    this.record(result);
    return result;
  }

  private record(result: JobRunResult): void {
    this.options.runs.record(result);
    const { name, trigger, ok, ms, summary, error } = result;
    const fields = { event: 'job_run', job: name, trigger, ok, ms, summary, error };
    if (ok) this.options.log.info(fields, `${name} (${trigger}): ${summary}`);
    else this.options.log.error(fields, `${name} (${trigger}) failed: ${error ?? ''}; it runs again at its next time`);
    this.emit('run', result);
  }

  /** The jobs with their schedule, next run, run in progress and last result. */
  list(): JobInfo[] {
    return [...this.entries.values()].map(({ spec, cron, running }) => {
      const last = this.options.runs.last(spec.name);
      return {
        name: spec.name,
        schedule: spec.pattern,
        timezone: this.options.timezone ?? null,
        nextRun: this.paused ? null : (cron.nextRun()?.toISOString() ?? null),
        runningSince: running?.since ?? null,
        lastRun: last ?? null,
      };
    });
  }

  /** Stops the schedules and aborts the runs in progress, awaiting them (each is recorded). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const runs: Promise<JobRunResult>[] = [];
      for (const entry of this.entries.values()) {
        entry.cron.stop();
        if (!entry.running) continue;
        entry.running.abort.abort(new Error('the daemon is shutting down'));
        runs.push(entry.running.done);
      }
      await Promise.all(runs);
    })();
    return this.closing;
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason));
}
