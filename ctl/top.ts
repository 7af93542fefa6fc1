import { AppError, EXIT } from '../shared/errors.js';
import type { AlertNotification, MetricsSample, StateNotification } from '../shared/schemas/rpc.js';
import { ControlClient, type RpcResult } from './client.js';
import type { Context } from './commands.js';
import type { TopArgs } from './params.js';
import { SPARK_WIDTH } from './render/metrics.js';
import { renderSampleLine, renderTopFrame, type TopView } from './render/top.js';
import { Subscription } from './subscription.js';
import { STATUS_MS } from './waits.js';

/**
 * `ctl top`: `metrics.current` first, then the `metrics`, `alerts` and `state` notifications of a
 * subscription, until q or Ctrl-C, `--count` samples, or the daemon ends the stream (exit 3).
 * Like `connect`, it owns stdout: JSON lines, plain lines, or a screen redrawn in place.
 */

const TOPICS = ['metrics', 'alerts', 'state'] as const;

const ESC = '\u001b[';
const ALT_SCREEN_ON = `${ESC}?1049h`;
const ALT_SCREEN_OFF = `${ESC}?1049l`;
const CURSOR_HIDE = `${ESC}?25l`;
const CURSOR_SHOW = `${ESC}?25h`;
const HOME = `${ESC}H`;
const CLEAR_LINE_END = `${ESC}K`;
const CLEAR_BELOW = `${ESC}J`;

/** The notifications' schemas: zod, loaded when `top` runs (this module is on `status`'s path in the bundle). */
type Schemas = Pick<typeof import('../shared/schemas/rpc.js'), 'AlertNotification' | 'MetricsSample' | 'StateNotification'>;

/** How `top` shows each change: the view is already updated when these are called. */
interface Output {
  sample(sample: MetricsSample): void;
  event(text: string): void;
  close(): void;
}

/** `line` cut to `columns` visible characters; colour escapes do not count, and a cut one is reset. */
export function fitLine(line: string, columns: number): string {
  let visible = 0;
  let i = 0;
  while (i < line.length) {
    if (line.startsWith(ESC, i)) {
      i += ESC.length;
      while (i < line.length && !/[A-Za-z]/.test(line[i] ?? '')) i++;
      i++;
      continue;
    }
    if (visible === columns) return `${line.slice(0, i)}${ESC}0m`;
    visible++;
    i++;
  }
  return line;
}

/** A terminal: the alternate screen, redrawn in place on each change, the cursor hidden; all restored on close (or exit). */
function screenOutput(out: NodeJS.WriteStream, view: TopView): Output {
  const redraw = (): void => {
    const lines = renderTopFrame(view, true).slice(0, Math.max(1, out.rows || 24));
    out.write(`${HOME}${lines.map((l) => `${fitLine(l, out.columns || 80)}${CLEAR_LINE_END}`).join('\n')}${CLEAR_BELOW}`);
  };
  let isRestored = false;
  const restore = (): void => {
    if (isRestored) return;
    isRestored = true;
    out.off('resize', redraw);
    process.off('exit', restore);
    out.write(`${CURSOR_SHOW}${ALT_SCREEN_OFF}`);
  };
  // An exit we did not plan (a bug, process.exit on EPIPE) must not leave the terminal without its cursor.
  process.on('exit', restore);
  out.on('resize', redraw);
  out.write(`${ALT_SCREEN_ON}${CURSOR_HIDE}`);
  return { sample: redraw, event: redraw, close: restore };
}

function lineOutput(out: NodeJS.WritableStream, json: boolean, warn: (text: string) => void): Output {
  return {
    sample: (s) => out.write(`${json ? JSON.stringify(s) : renderSampleLine(s)}\n`),
    // JSON lines are samples only; a person reading plain lines is told of events on stderr.
    event: (text) => (json ? undefined : warn(text)),
    close: () => undefined,
  };
}

/** q, Q or Ctrl-C on a terminal's stdin (raw mode, so keys arrive at once); restores cooked mode. */
function quitKeys(stdin: NodeJS.ReadStream, quit: () => void): () => void {
  if (!stdin.isTTY) return () => undefined;
  const onData = (key: string): void => {
    if (key === 'q' || key === 'Q' || key.includes('\u0003')) quit();
  };
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.on('data', onData);
  stdin.resume();
  const restore = (): void => {
    process.off('exit', restore);
    stdin.off('data', onData);
    stdin.setRawMode(false);
    stdin.pause();
  };
  process.on('exit', restore);
  return restore;
}

/** SIGINT (Ctrl-C without raw mode), SIGTERM and SIGHUP end `top` the way q does, so the terminal is restored. */
function quitSignals(quit: () => void): () => void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, quit);
  return () => {
    for (const s of signals) process.off(s, quit);
  };
}

function garbled(method: string, issues: string): AppError {
  return new AppError('E_INTERNAL', `mcp-starterd sent a \`${method}\` notification this mcp-starterctl does not understand (${issues}).`, {
    hint: 'The daemon and ctl are probably from different releases: restart mcp-starterd after an upgrade (`systemctl restart mcp-starter`).',
  });
}

/** The live part: applies notifications to the view and the output, and settles when `top` should end. */
class TopSession {
  /** Settles with undefined for an ordinary end (quit, --count reached), or with the reason the stream broke. */
  readonly done: Promise<AppError | undefined>;
  private settle: (outcome: AppError | undefined) => void = () => undefined;
  private isDone = false;
  private shown = 0;
  private lastAtMs = -Infinity;

  constructor(
    private readonly schemas: Schemas,
    private readonly view: TopView,
    private readonly output: Output,
    private readonly limit: number | undefined,
  ) {
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  /** Ends the session: what arrives afterwards is not shown. */
  finish(outcome: AppError | undefined): void {
    if (this.isDone) return;
    this.isDone = true;
    this.settle(outcome);
  }

  /** A sample not shown yet (the subscription may repeat the one `metrics.current` gave). */
  sample(sample: MetricsSample): void {
    if (this.isDone) return;
    const atMs = Date.parse(sample.at);
    if (atMs <= this.lastAtMs) return;
    this.lastAtMs = atMs;
    this.view.samples = [...this.view.samples, sample].slice(-SPARK_WIDTH);
    this.output.sample(sample);
    this.shown++;
    if (this.limit !== undefined && this.shown >= this.limit) this.finish(undefined);
  }

  notification(method: string, params: unknown): void {
    if (this.isDone) return;
    if (method === 'metrics') {
      const parsed = this.schemas.MetricsSample.safeParse(params);
      return parsed.success ? this.sample(parsed.data) : this.finish(garbled(method, parsed.error.message));
    }
    if (method === 'alerts') {
      const parsed = this.schemas.AlertNotification.safeParse(params);
      return parsed.success ? this.alert(parsed.data) : this.finish(garbled(method, parsed.error.message));
    }
    if (method === 'state') {
      const parsed = this.schemas.StateNotification.safeParse(params);
      return parsed.success ? this.state(parsed.data) : this.finish(garbled(method, parsed.error.message));
    }
  }

  private alert(n: AlertNotification): void {
    const others = this.view.alerts.filter((a) => a.rule !== n.alert.rule);
    this.view.alerts = n.action === 'raised' ? [...others, n.alert] : others;
    this.event(`${n.at} alert ${n.action}: ${n.alert.message} (${n.alert.rule})${n.action === 'raised' ? ` \u2192 ${n.alert.hint}` : ''}`);
  }

  private state(n: StateNotification): void {
    this.view.child = { state: n.state, pid: n.pid };
    this.event(`${n.at} server ${n.from} \u2192 ${n.state} (${n.event}${n.reason === null ? '' : `, ${n.reason}`})`);
  }

  private event(text: string): void {
    this.view.lastEvent = text;
    this.output.event(text);
  }
}

interface Start {
  subscription: Subscription;
  status: RpcResult<'status'>;
  current: RpcResult<'metrics.current'>;
  /** Notifications that arrived before the first view was drawn, in order. */
  early: Array<[string, unknown]>;
  /** Where later notifications go, once set. */
  deliver: { to: ((method: string, params: unknown) => void) | undefined };
}

/** Subscribes first and then asks, so that no sample falls between the answer and the stream. */
async function start(ctx: Context): Promise<Start> {
  const budgetMs = ctx.timeoutOverrideMs ?? STATUS_MS;
  const client = await ControlClient.connect(ctx.socket, budgetMs);
  const early: Array<[string, unknown]> = [];
  const deliver: Start['deliver'] = { to: undefined };
  let subscription: Subscription | undefined;
  try {
    subscription = await Subscription.open(
      ctx.socket,
      [...TOPICS],
      (method, params) => (deliver.to ? deliver.to(method, params) : early.push([method, params])),
      budgetMs,
    );
    const status = await client.call('status', undefined, budgetMs);
    const current = await client.call('metrics.current', undefined, budgetMs);
    return { subscription, status, current, early, deliver };
  } catch (err) {
    subscription?.close();
    throw err;
  } finally {
    client.close();
  }
}

function viewOf(s: Start): TopView {
  return { child: { state: s.status.child.state, pid: s.status.child.pid }, samples: [], alerts: s.current.alerts, lastEvent: undefined };
}

const NO_SAMPLE = 'No sample yet: mcp-starterd takes one every metrics.sampleIntervalMs (10 s unless configured; 0 turns sampling off).';

/** `--once`: the current view, and nothing live. */
function printOnce(s: Start, json: boolean, out: NodeJS.WriteStream): void {
  const sample = s.current.current;
  if (json) out.write(`${JSON.stringify(sample)}\n`);
  else if (out.isTTY) out.write(`${renderTopFrame({ ...viewOf(s), samples: sample ? [sample] : [] }, false).join('\n')}\n`);
  else out.write(`${sample ? renderSampleLine(sample) : NO_SAMPLE}\n`);
}

/** Runs `top` to its end; the exit code (an error before the stream starts is thrown, as for any command). */
export async function runTop(params: TopArgs, ctx: Context): Promise<number> {
  const s = await start(ctx);
  const out = process.stdout;
  if (params.once) {
    s.subscription.close();
    printOnce(s, ctx.json, out);
    return EXIT.ok;
  }
  const view = viewOf(s);
  const isScreen = !ctx.json && out.isTTY;
  const output = isScreen ? screenOutput(out, view) : lineOutput(out, ctx.json, ctx.warn);
  const session = new TopSession(await import('../shared/schemas/rpc.js'), view, output, params.count);
  const quit = (): void => session.finish(undefined);
  const cleanups = [isScreen ? quitKeys(process.stdin, quit) : () => undefined, quitSignals(quit)];
  void s.subscription.ended.then((err) => session.finish(err));
  if (s.current.current !== null) session.sample(s.current.current);
  else output.event(NO_SAMPLE);
  for (const [method, p] of s.early) session.notification(method, p);
  s.deliver.to = (method, p) => session.notification(method, p);
  const outcome = await session.done;
  s.subscription.close();
  for (const cleanup of cleanups) cleanup();
  output.close();
  if (outcome === undefined) return EXIT.ok;
  if (!ctx.json) throw outcome;
  // JSON lines stay one object per line, the error too.
  out.write(`${JSON.stringify({ error: { code: outcome.code, message: outcome.message, hint: outcome.hint ?? null } })}\n`);
  return outcome.exitCode;
}
