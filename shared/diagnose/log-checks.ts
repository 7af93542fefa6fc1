import { join } from 'node:path';
import type { DataPaths } from '../paths.js';
import type { DiagnoseLogLine } from '../schemas/diagnose.js';
import { fieldText, isErrorLevel, readLogTail, toLogLine, type LogEntry, type LogTail } from './log-tail.js';
import { ctlCommand, type CheckSpec, type NewFinding } from './run.js';

/** The daemon's log file (daemon/logs/writer.ts writes it; ctl reads it with the daemon down). */
export const logFileOf = (paths: DataPaths): string => join(paths.logsDir, 'mcp-starterd.log');

const MINUTE_MS = 60_000;
/** How far back the log is read at most, in time and in bytes (about 10,000 lines). */
const LOG_WINDOW_MS = 7 * 24 * 60 * MINUTE_MS;
const LOG_MAX_BYTES = 4 * 1024 * 1024;
/** An error burst: this many error lines within the window. */
export const ERROR_BURST_WINDOW_MS = 10 * MINUTE_MS;
export const ERROR_BURST_COUNT = 5;
/** Refused requests (a limit hit, a Host, Origin or token refused) count within this window. */
const LIMIT_WINDOW_MS = 15 * MINUTE_MS;
const REFUSAL_WINDOW_MS = 24 * 60 * MINUTE_MS;
/** `ctl diagnose --errors` prints this many. */
export const RECENT_ERROR_LINES = 20;
const MAX_MESSAGE_CHARS = 500;

/** The lines diagnose looks at: errors, the events it counts, and lock errors logged at any level. */
const WANTED =
  /"level":"(error|fatal)"|"level":(50|60)[,}]|"event":"(limit_hit|request_refused|child_exit|child_state|daemon_start|daemon_stop|daemon_exit)"|database is locked|SQLITE_BUSY/;

/** The log's tail, read once per diagnosis and shared by the checks that look at it. */
export class LogView {
  private tail: LogTail | undefined;
  readonly file: string;

  constructor(
    paths: DataPaths,
    private readonly nowMs: number,
  ) {
    this.file = logFileOf(paths);
  }

  get(): LogTail {
    this.tail ??= readLogTail(this.file, { sinceMs: this.nowMs - LOG_WINDOW_MS, maxBytes: LOG_MAX_BYTES, wanted: (l) => WANTED.test(l) });
    return this.tail;
  }

  /** Entries within the last `ms`, newest first. */
  within(ms: number): LogEntry[] {
    const since = this.nowMs - ms;
    return this.get().entries.filter((e) => e.timeMs >= since);
  }

  /** The newest entry with this event, if the tail holds one. */
  last(event: string, pred: (e: LogEntry) => boolean = () => true): LogEntry | undefined {
    return this.get().entries.find((e) => e.event === event && pred(e));
  }

  /** The last error lines, newest first; empty when the log cannot be read (the log check says why). */
  recentErrors(): DiagnoseLogLine[] {
    try {
      return this.get()
        .entries.filter((e) => isErrorLevel(e.level))
        .slice(0, RECENT_ERROR_LINES)
        .map((e) => ({ ...toLogLine(e), message: e.message.slice(0, MAX_MESSAGE_CHARS) }));
    } catch {
      return [];
    }
  }
}

/** The commonest messages, most frequent first: `3× database is locked`. */
function topMessages(entries: readonly LogEntry[], limit = 3): string[] {
  const counts = new Map<string, number>();
  for (const e of entries) {
    const key = e.message.slice(0, 200) || e.event || '(no message)';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([m, n]) => `${n}\u00d7 ${m}`);
}

function errorBurst(errors: readonly LogEntry[]): NewFinding | undefined {
  if (errors.length < ERROR_BURST_COUNT) return undefined;
  const minutes = ERROR_BURST_WINDOW_MS / MINUTE_MS;
  return {
    id: 'error_burst',
    severity: errors.length >= 10 * ERROR_BURST_COUNT ? 'error' : 'warning',
    title: `${errors.length} errors logged in the last ${minutes} minutes`,
    cause: `The log holds a burst of error lines (${ERROR_BURST_COUNT} or more within ${minutes} min); the commonest are below.`,
    fix: ctlCommand('diagnose --errors'),
    details: topMessages(errors),
  };
}

function limitHits(hits: readonly LogEntry[]): NewFinding | undefined {
  if (hits.length === 0) return undefined;
  const byLimit = new Map<string, number>();
  for (const h of hits) {
    const limit = typeof h.fields['limit'] === 'string' ? h.fields['limit'] : 'unknown';
    const repeated = typeof h.fields['repeated'] === 'number' ? h.fields['repeated'] : 0;
    byLimit.set(limit, (byLimit.get(limit) ?? 0) + 1 + repeated);
  }
  const names = [...byLimit.keys()];
  return {
    id: 'limits_hit',
    category: 'connection',
    severity: 'warning',
    title: `Requests were refused by ${names.length === 1 ? 'a limit' : 'limits'} in the last ${LIMIT_WINDOW_MS / MINUTE_MS} minutes`,
    cause:
      `Learners got 429, 503, 408 or 413 answers (the log's limit_hit events): ${names.map((n) => `server.${n}`).join(', ')}. ` +
      'A busy class needs higher limits; one client that misbehaves needs fixing instead.',
    fix: ctlCommand('reload'),
    details: [
      ...[...byLimit.entries()].map(([limit, n]) => `server.${limit}: ${n} refused`),
      'Raise the key in the config file, then reload (no downtime).',
    ],
  };
}

const REFUSAL_FIX: Record<string, { title: string; cause: string; fix: string }> = {
  host: {
    title: 'Learners were refused: their Host header is not allowed',
    cause:
      'Requests named this server by a host name it does not accept (DNS-rebinding protection); add the name to server.allowedHosts and reload.',
    fix: ctlCommand('reload'),
  },
  origin: {
    title: 'Learners were refused: their browser Origin is not allowed',
    cause: 'A web page on another origin called the server; add its origin to server.allowedOrigins and reload, if it may.',
    fix: ctlCommand('reload'),
  },
  token: {
    title: 'Learners were refused: their token is missing, unknown or revoked',
    cause: 'Clients sent no bearer token, or one that no learner holds (mistyped, or revoked); give the learner a token that works.',
    fix: ctlCommand('learners add NAME'),
  },
};

/**
 * Refusals of Host, Origin or token: the server logs them as `request_refused` events with a
 * `reason` (host, origin, token), once per offender per minute.
 */
function refusals(entries: readonly LogEntry[]): NewFinding[] {
  const byReason = new Map<string, LogEntry[]>();
  for (const e of entries) {
    const reason = fieldText(e.fields, 'reason');
    if (reason !== undefined) byReason.set(reason, [...(byReason.get(reason) ?? []), e]);
  }
  return [...byReason.entries()].flatMap(([reason, list]) => {
    const look = REFUSAL_FIX[reason];
    if (!look) return [];
    const offenders = [...new Set(list.map((e) => fieldText(e.fields, 'offender') ?? '?'))];
    return [
      {
        id: `refused_${reason}`,
        category: 'connection' as const,
        severity: 'error' as const,
        title: look.title,
        cause: `${look.cause} ${list.length} refusal line${list.length === 1 ? '' : 's'} in the last 24 h.`,
        fix: look.fix,
        details: [...offenders.slice(0, 5).map((o) => `from ${o}`), ...topMessages(list, 2)],
      },
    ];
  });
}

/** Error bursts, limits hit, and learners refused: what the log says about the last minutes. */
export function logChecks(log: LogView): CheckSpec[] {
  return [
    {
      id: 'log_errors',
      category: 'connection',
      what: `the error lines of ${log.file}`,
      run: () => {
        const tail = log.get();
        if (tail.files.length === 0) return { summary: `no log file yet at ${log.file}`, skipped: true };
        const errors = log.within(ERROR_BURST_WINDOW_MS).filter((e) => isErrorLevel(e.level));
        const burst = errorBurst(errors);
        return {
          summary: `${errors.length} error lines in the last ${ERROR_BURST_WINDOW_MS / MINUTE_MS} min`,
          findings: burst ? [burst] : [],
        };
      },
    },
    {
      id: 'refusals',
      category: 'connection',
      what: 'requests refused by limits, Host, Origin or token',
      run: () => {
        if (log.get().files.length === 0) return { summary: 'no log file yet', skipped: true };
        const hits = log.within(LIMIT_WINDOW_MS).filter((e) => e.event === 'limit_hit');
        const refused = log.within(REFUSAL_WINDOW_MS).filter((e) => e.event === 'request_refused');
        const findings = [limitHits(hits), ...refusals(refused)].filter((f): f is NewFinding => f !== undefined);
        return { summary: `${hits.length} limit hits in 15 min, ${refused.length} refused requests in 24 h`, findings };
      },
    },
  ];
}
