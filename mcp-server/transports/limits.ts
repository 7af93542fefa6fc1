/**
 * Who may be served now: per-connection and per-learner caps (a client hits its own cap, not
 * the whole server's), the global caps as the outer bound, and a first-come-first-served queue
 * in front of the global request cap. The daemon's probe has reserved room of its own, so
 * learners can never starve it (DESIGN.md, Limits).
 */
import { refuse, type Refusal } from './refusal.js';
import { SlotQueue } from './slot-queue.js';

export interface GateLimits {
  maxConcurrentRequests: number;
  maxOpenStreams: number;
  maxRequestsPerConnection: number;
  maxStreamsPerConnection: number;
  maxRequestsPerLearner: number;
  maxStreamsPerLearner: number;
  maxQueuedRequests: number;
  /** A request that cannot start within this long is answered 503 (at once when that is foreseeable). */
  maxQueueWaitMs: number;
  reservedRequests: number;
}

export interface Caller {
  /** The connection (any object that identifies it: the socket). */
  connection: object;
  /** The learner named by a bearer token; undefined for the tokenless local learner (per-connection caps only). */
  learner: string | undefined;
  /** The daemon's probe: served from the reserved room, never counted against learners. */
  reserved: boolean;
}

class Counts<K> {
  private readonly map = new Map<K, number>();
  get(key: K): number {
    return this.map.get(key) ?? 0;
  }
  add(key: K, n: number): void {
    const v = this.get(key) + n;
    if (v <= 0) this.map.delete(key);
    else this.map.set(key, v);
  }
}

/** The caps on a request's caller, and the slots behind them (see SlotQueue). */
export class AdmissionGate {
  private streams = 0;
  private reservedRunning = 0;
  private readonly slots: SlotQueue;
  readonly connRequests = new Counts<object>();
  readonly connStreams = new Counts<object>();
  readonly learnerRequests = new Counts<string>();
  readonly learnerStreams = new Counts<string>();

  constructor(
    private readonly limits: GateLimits,
    now: () => number = () => performance.now(),
  ) {
    this.slots = new SlotQueue(limits, now);
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.slots.queued;
  }

  /** Answers every waiting request with `refusal` (a stop: none of them will be served). */
  refuseQueued(refusal: Refusal): void {
    this.slots.refuseQueued(refusal);
  }

  /**
   * Counts a request against its connection's and learner's caps from its headers on, before
   * its body is read: a client with many unfinished bodies hits its own cap, not the server's.
   */
  claim(caller: Caller): Ticket | Refusal {
    const { limits } = this;
    if (caller.reserved) {
      if (this.reservedRunning >= limits.reservedRequests) {
        return refuse(503, 'reservedRequests', `The probe already has ${this.reservedRunning} requests in progress.`, 'Retry in a second.');
      }
      return new Ticket(this, caller);
    }
    const onConnection = this.connRequests.get(caller.connection);
    if (onConnection >= limits.maxRequestsPerConnection) {
      return refuse(
        429,
        'maxRequestsPerConnection',
        `This connection already has ${onConnection} requests in progress (the limit per connection is ${limits.maxRequestsPerConnection}).`,
        'Wait for an answer before sending the next request on this connection.',
      );
    }
    if (caller.learner !== undefined) {
      const ofLearner = this.learnerRequests.get(caller.learner);
      if (ofLearner >= limits.maxRequestsPerLearner) {
        return refuse(
          429,
          'maxRequestsPerLearner',
          `You already have ${ofLearner} requests in progress (the limit per learner is ${limits.maxRequestsPerLearner}).`,
          'Wait for your earlier calls to be answered, then retry.',
        );
      }
    }
    return new Ticket(this, caller);
  }

  /** @internal (Ticket) */
  countClaim(ticket: Ticket, n: 1 | -1): void {
    const { caller } = ticket;
    if (caller.reserved) return;
    this.connRequests.add(caller.connection, n);
    if (caller.learner !== undefined) this.learnerRequests.add(caller.learner, n);
  }

  /** @internal (Ticket) Checks and takes the stream caps. */
  takeStream(ticket: Ticket): Refusal | undefined {
    const { caller } = ticket;
    const { limits } = this;
    if (caller.reserved) return undefined;
    const onConnection = this.connStreams.get(caller.connection);
    if (onConnection >= limits.maxStreamsPerConnection) {
      return refuse(
        429,
        'maxStreamsPerConnection',
        `This connection already holds ${onConnection} open streams (the limit per connection is ${limits.maxStreamsPerConnection}).`,
        'Close the stream you hold, or open another connection.',
      );
    }
    if (caller.learner !== undefined) {
      const ofLearner = this.learnerStreams.get(caller.learner);
      if (ofLearner >= limits.maxStreamsPerLearner) {
        return refuse(
          429,
          'maxStreamsPerLearner',
          `You already hold ${ofLearner} open streams (the limit per learner is ${limits.maxStreamsPerLearner}).`,
          'Close a stream you no longer need, then retry.',
        );
      }
    }
    if (this.streams >= limits.maxOpenStreams) {
      return refuse(
        503,
        'maxOpenStreams',
        `The server holds as many open streams as it allows (${limits.maxOpenStreams}).`,
        'Retry in a few seconds.',
        5,
      );
    }
    this.countStream(ticket, 1);
    return undefined;
  }

  /** @internal (Ticket) */
  countStream(ticket: Ticket, n: 1 | -1): void {
    const { caller } = ticket;
    this.streams += n;
    this.connStreams.add(caller.connection, n);
    if (caller.learner !== undefined) this.learnerStreams.add(caller.learner, n);
  }

  /** @internal (Ticket) A slot now, a place in the queue, or a 503 when none can come in time. */
  acquire(ticket: Ticket, signal: AbortSignal): Promise<Refusal | undefined> {
    if (!ticket.caller.reserved) return this.slots.acquire(signal);
    this.reservedRunning++;
    return Promise.resolve(undefined);
  }

  /** @internal (Ticket) */
  releaseSlot(ticket: Ticket): void {
    if (ticket.caller.reserved) this.reservedRunning--;
    else this.slots.release();
  }
}

/**
 * One request's place at the gate: claimed (connection and learner caps) from its headers on,
 * optionally a stream, then running once `start` gives it a slot. `release` undoes all of it and
 * may be called any number of times.
 */
export class Ticket {
  private stream = false;
  private started = false;
  private released = false;

  constructor(
    private readonly gate: AdmissionGate,
    readonly caller: Caller,
  ) {
    gate.countClaim(this, 1);
  }

  /** Marks the request as one that holds a stream open: the stream caps apply instead of the queue. */
  asStream(): Refusal | undefined {
    const refusal = this.gate.takeStream(this);
    if (refusal === undefined) this.stream = true;
    return refusal;
  }

  get isStream(): boolean {
    return this.stream;
  }

  /** Waits (in arrival order) for a slot; a refusal when none can come within the wait limit. Streams start at once. */
  async start(signal: AbortSignal): Promise<Refusal | undefined> {
    if (this.stream) return undefined;
    const refusal = await this.gate.acquire(this, signal);
    this.started = refusal === undefined;
    return refusal;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.gate.countClaim(this, -1);
    if (this.stream) this.gate.countStream(this, -1);
    if (this.started) this.gate.releaseSlot(this);
  }
}

/** Whether a parsed JSON-RPC body asks for a stream the server holds open (`subscriptions/listen`). */
export function isStreamRequest(body: unknown): boolean {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  return messages.some((m) => typeof m === 'object' && m !== null && 'method' in m && m.method === 'subscriptions/listen');
}
