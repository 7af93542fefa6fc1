import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../shared/logger.js';
import type { AlertNotification } from '../../shared/schemas/rpc.js';

/** Notifier runs at once; more wait, and past MAX_WAITING the oldest waiting is dropped (and said). */
const MAX_RUNNING = 2;
const MAX_WAITING = 32;
const STDERR_KEEP_BYTES = 2_048;

export interface NotifierOptions {
  /** argv: the program and its arguments, run without a shell. Empty: no notifier. */
  command: readonly string[];
  timeoutMs: number;
  log: Logger;
}

/**
 * Runs the operator's notifier for every alert raised or cleared: the notification as one JSON
 * line on its stdin. Never blocks the daemon: each run is time-limited (SIGKILL at the limit),
 * a few run at once and the rest wait in a bounded queue; a failure (cannot start, non-zero exit,
 * timeout) is logged with the end of its stderr and the alert is not retried.
 */
/** One run of the command, as it ended. */
export interface NotifierRun {
  rule: string;
  action: AlertNotification['action'];
  ok: boolean;
  ms: number;
  error?: string;
}

export class Notifier extends EventEmitter<{ done: [NotifierRun] }> {
  private running = 0;
  private readonly waiting: AlertNotification[] = [];
  private readonly children = new Set<ReturnType<typeof spawn>>();
  private closed = false;
  /** Minimal mode (DESIGN): no alert command; alerts are still logged, pushed and shown. */
  paused = false;

  constructor(private readonly options: NotifierOptions) {
    super();
  }

  get enabled(): boolean {
    return this.options.command.length > 0;
  }

  notify(note: AlertNotification): void {
    if (!this.enabled || this.closed || this.paused) return;
    if (this.running < MAX_RUNNING) {
      this.run(note);
      return;
    }
    this.waiting.push(note);
    if (this.waiting.length > MAX_WAITING) {
      const dropped = this.waiting.shift();
      this.options.log.warn(
        { event: 'notifier', ok: false, rule: dropped?.alert.rule, action: dropped?.action },
        'the alert command is too slow: an alert waiting for it was dropped',
      );
    }
  }

  private run(note: AlertNotification): void {
    const { command, timeoutMs, log } = this.options;
    const [program, ...args] = command;
    if (program === undefined) return;
    this.running++;
    const t0 = performance.now();
    let stderr = '';
    let timedOut = false;
    const child = spawn(program, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: false });
    this.children.add(child);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    timer.unref();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_BYTES);
    });
    // A notifier that does not read its stdin must not make the write throw (EPIPE).
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${JSON.stringify(note)}\n`);
    const done = (code: number | null, error?: Error): void => {
      clearTimeout(timer);
      this.children.delete(child);
      this.running--;
      const ms = Math.round(performance.now() - t0);
      const run: NotifierRun = { rule: note.alert.rule, action: note.action, ok: !error && code === 0, ms };
      if (!run.ok) {
        run.error = error
          ? `could not run it: ${error.message}`
          : timedOut
            ? `no exit within ${timeoutMs} ms; killed`
            : `exit code ${String(code)}`;
        log.warn(
          { event: 'notifier', ...run, stderr: stderr.trim() || undefined },
          `the alert command failed (${run.error}); check alerts.command`,
        );
      } else {
        log.info({ event: 'notifier', ...run }, 'alert command run');
      }
      this.emit('done', run);
      const next = this.waiting.shift();
      if (next && !this.closed) this.run(next);
    };
    let settled = false;
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      done(null, err);
    });
    child.once('close', (code) => {
      if (settled) return;
      settled = true;
      done(code);
    });
  }

  /** Drops what waits and ends what runs. */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    for (const c of this.children) c.kill('SIGKILL');
  }
}
