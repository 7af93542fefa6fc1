import { AppError } from '../../shared/errors.js';
import type { Operation, OperationName } from '../../shared/schemas/rpc.js';

interface Current {
  name: OperationName;
  since: string;
  controller: AbortController;
}

const VERB: Record<OperationName, string> = {
  start: 'a start',
  stop: 'a stop',
  restart: 'a restart',
  reload: 'a reload',
  'emergency-stop': 'an emergency stop',
  'crash-restart': 'a restart after a crash',
  'probe-restart': 'a restart of the unresponsive server',
  'memory-restart': 'a restart of the server over its memory limit',
  shutdown: 'the daemon’s shutdown',
  restore: 'a restore of a backup',
};

/** The error for a verb that cannot wait: it names the operation in progress and what to do. */
export function busyError(verb: string, op: NonNullable<Operation>): AppError {
  return new AppError('E_BUSY', `Cannot ${verb} now: ${VERB[op.name]} is in progress (since ${op.since}).`, {
    hint: 'Wait for it to finish (`mcp-starterctl status` shows the operation), then try again.',
  });
}

/** The error an operation ends with when an emergency stop pre-empted it. */
export function preemptedError(name: OperationName): AppError {
  return new AppError('E_CHILD_STATE', `The ${name} was interrupted by an emergency stop; the server is stopped.`, {
    hint: 'Start it again with `mcp-starterctl start` once the emergency is handled.',
  });
}

/**
 * One lifecycle operation at a time (DESIGN.md, Child lifecycle). `run` claims the gate
 * synchronously, so two requests in the same tick cannot both pass; `preempt` (the emergency
 * stop) aborts the holder's signal and takes the gate from it.
 */
export class OperationGate {
  private current: Current | undefined;
  private waiters: Array<() => void> = [];

  get operation(): Operation {
    return this.current ? { name: this.current.name, since: this.current.since } : null;
  }

  get name(): OperationName | undefined {
    return this.current?.name;
  }

  /** Runs `fn` as the operation in progress; E_BUSY (naming the holder) when another one is. */
  async run<T>(name: OperationName, verb: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const held = this.operation;
    if (held) throw busyError(verb, held);
    const entry: Current = { name, since: new Date().toISOString(), controller: new AbortController() };
    this.current = entry;
    try {
      return await fn(entry.controller.signal);
    } finally {
      if (this.current === entry) {
        this.current = undefined;
        for (const w of this.waiters.splice(0)) w();
      }
    }
  }

  /** Aborts the operation in progress (its signal fires) and frees the gate at once. */
  preempt(): void {
    const entry = this.current;
    if (!entry) return;
    this.current = undefined;
    entry.controller.abort(preemptedError(entry.name));
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once no operation holds the gate (at once when none does). */
  idle(): Promise<void> {
    if (!this.current) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
