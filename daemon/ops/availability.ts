import type { Availability, StateNotification } from '../../shared/schemas/rpc.js';
import type { OpsDatabase } from './database.js';

/** Whether learners were served: `planned` time is left out of availability (DESIGN.md, Data). */
export type Condition = 'up' | 'down' | 'planned';

/** The manual's goal (1.3): 99 %. */
export const AVAILABILITY_GOAL = 0.99;

const HOUR_MS = 3_600_000;
const WINDOWS = { h24: 24 * HOUR_MS, d7: 7 * 24 * HOUR_MS } as const;

/** Stop reasons an operator asked for: `ctl stop`/`restart`, `systemctl stop`, a reload, a restore. */
const PLANNED_REASONS = new Set(['requested', 'restart', 'daemon-shutdown', 'handover', 'restore']);

interface OpenInterval {
  id: number | bigint | undefined;
  startMs: number;
  condition: Condition;
  reason: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Deletes availability intervals that ended before `beforeIso`, never the newest one (it may be
 * open) nor any the 7-day window still reads, whatever the retention says.
 */
export function pruneAvailability(ops: OpsDatabase, beforeIso: string, now = Date.now()): number {
  const cutoff = iso(Math.min(Date.parse(beforeIso), now - WINDOWS.d7 - HOUR_MS));
  return (
    ops.write(
      'availability pruning',
      (db) => db.prepare('DELETE FROM availability WHERE end < ? AND id < (SELECT MAX(id) FROM availability)').run(cutoff).changes,
    ) ?? 0
  );
}

/**
 * Availability from ops.db: the time the server answered ÷ (window − planned downtime). The
 * daemon writes one row per stretch of time in one condition (up, down, planned) and moves the
 * open row's end forward with a heartbeat, so after a daemon that died the gap from its last
 * heartbeat to the next start counts as down; one that shut down on purpose leaves a planned row.
 */
export class AvailabilityTracker {
  private open: OpenInterval | undefined;
  private lastProbeOk = true;
  /** The condition the child is in apart from probes (planned while an operator's stop lasts). */
  private base: Condition = 'planned';

  constructor(
    private readonly ops: OpsDatabase,
    private readonly clock: () => number = Date.now,
  ) {}

  /** At daemon start: accounts for the time the daemon was down, then opens the first interval. */
  begin(reason = 'daemon started'): void {
    const now = this.clock();
    const last = this.ops.db
      .prepare('SELECT id, end, condition, daemon_stopped AS stopped FROM availability ORDER BY id DESC LIMIT 1')
      .get() as { id: number; end: string; condition: Condition; stopped: number } | undefined;
    if (last) {
      const endMs = Date.parse(last.end);
      if (last.stopped === 1) {
        // The previous daemon stopped on purpose: planned until now.
        this.ops.write('availability', (db) =>
          db.prepare('UPDATE availability SET end = ? WHERE id = ?').run(iso(Math.max(endMs, now)), last.id),
        );
        this.base = 'planned';
      } else {
        if (now > endMs) this.insert(endMs, now, 'down', 'the daemon was not running (it did not stop on purpose)');
        this.base = 'down';
      }
    }
    this.openInterval(now, this.base, reason);
  }

  /** A state transition of the child. */
  onState(note: StateNotification): void {
    switch (note.state) {
      case 'running':
      case 'reloading':
        this.base = 'up';
        this.lastProbeOk = true;
        break;
      case 'draining':
      case 'stopped':
        this.base = note.reason !== null && PLANNED_REASONS.has(note.reason) ? 'planned' : 'down';
        break;
      case 'starting':
        // A start after a planned stop (or a restart's second half) stays planned; after a crash it is down.
        if (note.event !== 'start') this.base = 'down';
        break;
      case 'backoff':
      case 'fatal':
        this.base = 'down';
        break;
    }
    this.update(note.reason ?? note.event);
  }

  /** A probe of the serving child: a failed one is down time even while the state says running. */
  onProbe(ok: boolean, reason?: string): void {
    this.lastProbeOk = ok;
    this.update(ok ? 'probe passed' : (reason ?? 'probe failed'));
  }

  /** Moves the open interval's end to now (call every few seconds). */
  heartbeat(): void {
    const open = this.open;
    if (open?.id === undefined) return;
    this.ops.write('availability', (db) => db.prepare('UPDATE availability SET end = ? WHERE id = ?').run(iso(this.clock()), open.id));
  }

  /** At a deliberate daemon shutdown: the time until the next start is planned. */
  end(): void {
    const now = this.clock();
    this.closeOpen(now);
    this.open = undefined;
    this.insert(now, now, 'planned', 'the daemon stopped on purpose', true);
  }

  get condition(): Condition {
    return this.current();
  }

  /** Availability over the last 24 h and 7 days (null while a window holds no measured time). */
  availability(): Availability {
    const now = this.clock();
    return { h24: this.ratio(WINDOWS.h24, now), d7: this.ratio(WINDOWS.d7, now), goal: AVAILABILITY_GOAL };
  }

  /** Up ÷ (up + down) over the window ending now; planned time is outside the ratio. */
  ratio(windowMs: number, now = this.clock()): number | null {
    const from = now - windowMs;
    // The open row is in the window whatever its last heartbeat wrote: it runs until now.
    const rows = this.ops.db
      .prepare('SELECT id, start, end, condition FROM availability WHERE end >= ? OR id = ? ORDER BY id')
      .all(iso(from), this.open?.id ?? -1) as Array<{
      id: number;
      start: string;
      end: string;
      condition: Condition;
    }>;
    let up = 0;
    let down = 0;
    for (const row of rows) {
      // The open interval runs until now, whatever its last heartbeat wrote.
      const endMs = row.id === this.open?.id ? now : Date.parse(row.end);
      const span = Math.max(0, Math.min(endMs, now) - Math.max(Date.parse(row.start), from));
      if (row.condition === 'up') up += span;
      else if (row.condition === 'down') down += span;
    }
    if (this.open?.id === undefined && this.open) {
      // ops.db refused the row: count the open stretch from memory.
      const span = Math.max(0, now - Math.max(this.open.startMs, from));
      if (this.open.condition === 'up') up += span;
      else if (this.open.condition === 'down') down += span;
    }
    return up + down === 0 ? null : Math.round((up / (up + down)) * 1e6) / 1e6;
  }

  private current(): Condition {
    return this.base === 'up' && !this.lastProbeOk ? 'down' : this.base;
  }

  private update(reason: string): void {
    const condition = this.current();
    if (this.open?.condition === condition) return;
    const now = this.clock();
    this.closeOpen(now);
    this.openInterval(now, condition, reason);
  }

  private closeOpen(now: number): void {
    const open = this.open;
    if (open?.id === undefined) return;
    this.ops.write('availability', (db) => db.prepare('UPDATE availability SET end = ? WHERE id = ?').run(iso(now), open.id));
  }

  private openInterval(now: number, condition: Condition, reason: string): void {
    this.open = { id: this.insert(now, now, condition, reason), startMs: now, condition, reason };
  }

  private insert(startMs: number, endMs: number, condition: Condition, reason: string, daemonStopped = false): number | bigint | undefined {
    return this.ops.write(
      'availability',
      (db) =>
        db
          .prepare('INSERT INTO availability (start, end, condition, reason, daemon_stopped) VALUES (?, ?, ?, ?, ?)')
          .run(iso(startMs), iso(endMs), condition, reason.slice(0, 200), daemonStopped ? 1 : 0).lastInsertRowid,
    );
  }
}
