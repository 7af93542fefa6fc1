import { refuse, type LimitName, type Refusal } from './refusal.js';

interface Waiter {
  resolve: (refusal: Refusal | undefined) => void;
  timer: NodeJS.Timeout;
}

export interface SlotLimits {
  maxConcurrentRequests: number;
  maxQueuedRequests: number;
  /** A request that cannot start within this long is answered 503 (at once when that is foreseeable). */
  maxQueueWaitMs: number;
}

/** Starts remembered to measure the queue's pace: enough to span many turns, so one slow turn does not swing the forecast. */
const PACE_SAMPLES = 256;
/** Fewer starts than this forecast nothing. */
const PACE_MIN_SAMPLES = 8;

/**
 * The learners' request slots, with a first-come-first-served queue in front of them. A request
 * that cannot start within `maxQueueWaitMs` is refused with a 503: at once when the pace of the
 * latest starts shows it, else when its wait runs out; none is left waiting longer.
 */
export class SlotQueue {
  private running = 0;
  private readonly queue: Waiter[] = [];
  /** When the latest starts happened: the queue's pace, which forecasts a wait. */
  private readonly starts: number[] = [];
  private pumpScheduled = false;
  /** Slots of requests that ended in this turn; freed in the next check phase (`pump`). */
  private releasing = 0;

  constructor(
    private readonly limits: SlotLimits,
    private readonly now: () => number,
  ) {}

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.queue.length;
  }

  /** A slot now, a place in the queue, or a 503 when none can come in time; `signal` gives up a place. */
  acquire(signal: AbortSignal): Promise<Refusal | undefined> {
    const { limits } = this;
    if (this.running < limits.maxConcurrentRequests && this.queue.length === 0) {
      this.take();
      return Promise.resolve(undefined);
    }
    if (this.queue.length >= limits.maxQueuedRequests) {
      return Promise.resolve(this.busy('maxQueuedRequests', `${this.queue.length} requests are waiting already`));
    }
    // Foreseeably late: at the pace requests have been starting, this one would start too late.
    if (this.expectedWaitMs(this.queue.length + 1) > limits.maxQueueWaitMs) {
      return Promise.resolve(this.busy('maxQueueWaitMs', `it could not start your request within ${limits.maxQueueWaitMs} ms`));
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.remove(waiter);
          resolve(this.busy('maxQueueWaitMs', `your request waited ${limits.maxQueueWaitMs} ms without a free slot`));
        }, limits.maxQueueWaitMs),
      };
      waiter.timer.unref();
      signal.addEventListener(
        'abort',
        () => {
          if (this.remove(waiter)) resolve(refuse(503, 'maxQueueWaitMs', 'The request was cancelled while it waited.', 'Send it again.'));
        },
        { once: true },
      );
      this.queue.push(waiter);
    });
  }

  /** A request that held a slot ended. */
  release(): void {
    this.releasing++;
    this.pump();
  }

  /** Answers every waiting request with `refusal`. */
  refuseQueued(refusal: Refusal): void {
    for (const w of this.queue.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(refusal);
    }
  }

  /**
   * Frees the slots of finished requests and starts waiting ones in the next check phase, not
   * at once. A request usually runs to its answer within one turn of the event loop (the store
   * is synchronous), so freeing its slot at once would let every request that arrived in that
   * turn run in it too: the slots would bound nothing, the turn would grow with the load, and
   * IPC (the daemon's connection hand-overs, which take one turn each, and its probe's
   * connections among them) would wait behind it. So a slot is held until the end of the turn
   * it was used in: at most `maxConcurrentRequests` requests start per turn.
   */
  private pump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.running -= this.releasing;
      this.releasing = 0;
      while (this.running < this.limits.maxConcurrentRequests) {
        const next = this.queue.shift();
        if (!next) return;
        clearTimeout(next.timer);
        this.take();
        next.resolve(undefined);
      }
    });
  }

  private remove(waiter: Waiter): boolean {
    const i = this.queue.indexOf(waiter);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    clearTimeout(waiter.timer);
    return true;
  }

  private take(): void {
    this.running++;
    if (this.starts.length >= PACE_SAMPLES) this.starts.shift();
    this.starts.push(this.now());
  }

  /** How long the request at `position` in the queue should wait, at the pace of the latest starts (0: no pace known yet). */
  private expectedWaitMs(position: number): number {
    const n = this.starts.length;
    const first = this.starts[0];
    const last = this.starts[n - 1];
    if (n < PACE_MIN_SAMPLES || first === undefined || last === undefined || last <= first) return 0;
    return (position * (last - first)) / (n - 1);
  }

  private busy(limit: LimitName, why: string): Refusal {
    const retryAfterS = Math.min(60, Math.max(1, Math.ceil(this.expectedWaitMs(this.queue.length + 1) / 1000)));
    return refuse(
      503,
      limit,
      `The server is busy: ${why}.`,
      'Retry after the number of seconds in Retry-After; your progress is saved.',
      retryAfterS,
    );
  }
}
