import { AppError, EXIT } from '../shared/errors.js';
import type { LogLevelName, LogsTailResult } from '../shared/schemas/rpc.js';
import { ControlClient } from './client.js';
import type { Context } from './command-kit.js';
import { renderLogEntry } from './render/logs.js';
import { Subscription } from './subscription.js';

/**
 * `ctl logs -f`: the last lines, then every line the daemon writes, until Ctrl-C (exit 0) or the
 * daemon goes away (exit 3). It subscribes to the `logs` topic first and asks for the tail
 * second, so no line falls between the two; the lines both carry are shown once. A subscription
 * does not care about files, so a rotation changes nothing for it. Like `top`, it owns stdout.
 */

type Entry = Record<string, unknown>;

export interface FollowParams {
  lines: number;
  level: LogLevelName | undefined;
}

/** The tail may read through large files (`--level error` over 1 GB of info lines). */
export const LOGS_TAIL_MS = 60_000;

/**
 * Where the tail and the stream meet: the index in `stream` of the tail's last line, such that
 * the tail's end and the stream up to there are the same lines (all of the tail, or all of the
 * stream up to there, whichever is shorter); -1 when they do not meet. The latest such index:
 * matching a longer run is the stronger evidence when identical lines repeat.
 */
export function overlapEnd(tail: readonly string[], stream: readonly string[]): number {
  if (tail.length === 0) return -1;
  for (let j = stream.length - 1; j >= 0; j--) {
    const run = Math.min(tail.length, j + 1);
    let k = 0;
    while (k < run && tail[tail.length - 1 - k] === stream[j - k]) k++;
    if (k === run) return j;
  }
  return -1;
}

/** E_NOT_RUNNING, saying why `-f` cannot do without the daemon, and what can. */
function needsDaemon(err: unknown): unknown {
  if (!(err instanceof AppError) || err.code !== 'E_NOT_RUNNING') return err;
  return new AppError('E_NOT_RUNNING', `${err.message} \`logs -f\` follows the lines as the daemon writes them, so it needs the daemon.`, {
    hint: `${err.hint ?? ''} Without -f, \`mcp-starterctl logs\` reads the log files while it is down.`.trim(),
    cause: err,
  });
}

function garbled(issues: string): AppError {
  return new AppError('E_INTERNAL', `mcp-starterd sent a \`logs\` notification this mcp-starterctl does not understand (${issues}).`, {
    hint: 'The daemon and ctl are probably from different releases: restart mcp-starterd after an upgrade (`systemctl restart mcp-starter`).',
  });
}

/** SIGINT (Ctrl-C), SIGTERM and SIGHUP end the follow as a success; returns the function that stops listening. */
function onQuitSignals(quit: () => void): () => void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, quit);
  return () => {
    for (const s of signals) process.off(s, quit);
  };
}

/** Runs `logs -f` to its end; the exit code (an error before the stream starts is thrown, as for any command). */
export async function runLogsFollow(params: FollowParams, ctx: Context): Promise<number> {
  const [model, { LogsNotification }] = await Promise.all([import('../shared/log-line.js'), import('../shared/schemas/rpc.js')]);
  const minLevel = params.level === undefined ? undefined : model.LOG_LEVELS[params.level];
  const budgetMs = ctx.timeoutOverrideMs ?? LOGS_TAIL_MS;
  let settle: (outcome: AppError | undefined) => void = () => undefined;
  const done = new Promise<AppError | undefined>((resolve) => (settle = resolve));
  /** Lines that came before the tail did, then (once it is shown) where lines go. */
  const early: Entry[] = [];
  let show: ((entry: Entry) => void) | undefined;
  const onNotification = (method: string, raw: unknown): void => {
    if (method !== 'logs') return;
    const parsed = LogsNotification.safeParse(raw);
    if (!parsed.success) return settle(garbled(parsed.error.message));
    const entry = model.parseLogLine(parsed.data.line);
    if (!model.isAtLeast(entry, minLevel)) return;
    if (show) show(entry);
    else early.push(entry);
  };

  const client = await ControlClient.connect(ctx.socket, budgetMs).catch((err: unknown) => {
    throw needsDaemon(err);
  });
  let subscription: Subscription | undefined;
  let tail: LogsTailResult;
  try {
    subscription = await Subscription.open(ctx.socket, ['logs'], onNotification, budgetMs);
    tail = await client.call('logs.tail', { lines: params.lines, level: params.level }, budgetMs);
  } catch (err) {
    subscription?.close();
    throw needsDaemon(err);
  } finally {
    client.close();
  }
  void subscription.ended.then(settle);
  const stopSignals = onQuitSignals(() => settle(undefined));

  const out = process.stdout;
  const print = (entry: Entry): void => {
    out.write(`${ctx.json ? JSON.stringify(entry) : renderLogEntry(entry)}\n`);
  };
  if (tail.sizeLimited) ctx.warn(`only the last ${tail.lines.length} lines fit in one answer; new lines follow.`);
  for (const entry of tail.lines) print(entry);
  const meet = overlapEnd(tail.lines.map(model.entryKey), early.map(model.entryKey));
  for (const entry of early.slice(meet + 1)) print(entry);
  early.length = 0;
  show = print;

  const outcome = await done;
  show = () => undefined;
  stopSignals();
  subscription.close();
  if (outcome === undefined) return EXIT.ok;
  if (!ctx.json) throw outcome;
  // JSON lines stay one object per line, the error too.
  out.write(`${JSON.stringify({ error: { code: outcome.code, message: outcome.message, hint: outcome.hint ?? null } })}\n`);
  return outcome.exitCode;
}
