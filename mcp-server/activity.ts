import type { Logger } from '../shared/logger.js';
import type { SessionsStore } from '../shared/store/sessions.js';
import type { Learner, UsersStore } from '../shared/store/users.js';

interface LiveSession {
  learner: Learner;
  sessionId: number;
  startedAtMs: number;
  lastSeenMs: number;
  lastWrittenMs: number;
}

export interface ActivityOptions {
  idleMs: number;
  writeIntervalMs: number;
  now?: () => number;
}

/**
 * A learner's working sessions: the first activity after an idle gap starts one (`session_start`),
 * the gap ends it (`session_end`). `last_activity` is written at most once per interval per
 * learner, not on every call, so activity tracking costs no write on the hot path.
 */
export class ActivityTracker {
  private readonly live = new Map<number, LiveSession>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(
    private readonly users: UsersStore,
    private readonly sessions: SessionsStore,
    private readonly log: Logger,
    private readonly options: ActivityOptions,
  ) {
    this.now = options.now ?? Date.now;
    for (const s of sessions.endStale(new Date(this.now() - options.idleMs).toISOString())) {
      log.info(
        { event: 'session_end', userId: s.user_id, sessionId: s.id, startedAt: s.started_at, endedAt: s.last_activity, reason: 'idle' },
        'session ended',
      );
    }
    this.timer = setInterval(() => this.sweep(), Math.min(options.idleMs / 4, 60_000));
    this.timer.unref();
  }

  /** Learners active within the idle gap. */
  get activeLearners(): number {
    return this.live.size;
  }

  /** Records activity by a learner over a transport. */
  touch(learner: Learner, transport: string): void {
    const nowMs = this.now();
    const live = this.live.get(learner.id);
    if (live && nowMs - live.lastSeenMs <= this.options.idleMs) {
      live.lastSeenMs = nowMs;
      if (nowMs - live.lastWrittenMs >= this.options.writeIntervalMs) this.write(live);
      return;
    }
    if (live) this.end(live, 'idle');
    this.begin(learner, transport, nowMs);
  }

  private begin(learner: Learner, transport: string, nowMs: number): void {
    const iso = new Date(nowMs).toISOString();
    if (this.users.isNew(learner.id))
      this.log.info({ event: 'new_learner', userId: learner.id, learner: learner.name, transport }, 'new learner');
    // A session a previous process left open (a restart) continues if it was recent enough.
    const open = this.sessions.latestOpenFor(learner.id);
    if (open && nowMs - Date.parse(open.last_activity) <= this.options.idleMs) {
      this.sessions.touch(open.id, iso);
      this.users.touch(learner.id, iso);
      this.live.set(learner.id, {
        learner,
        sessionId: open.id,
        startedAtMs: Date.parse(open.started_at),
        lastSeenMs: nowMs,
        lastWrittenMs: nowMs,
      });
      return;
    }
    if (open) this.sessions.end(open.id, open.last_activity);
    const sessionId = this.sessions.open(learner.id, transport, iso);
    this.users.touch(learner.id, iso);
    this.live.set(learner.id, { learner, sessionId, startedAtMs: nowMs, lastSeenMs: nowMs, lastWrittenMs: nowMs });
    this.log.info({ event: 'session_start', userId: learner.id, learner: learner.name, sessionId, transport }, 'session started');
  }

  private write(live: LiveSession): void {
    const iso = new Date(live.lastSeenMs).toISOString();
    this.sessions.touch(live.sessionId, iso);
    this.users.touch(live.learner.id, iso);
    live.lastWrittenMs = live.lastSeenMs;
  }

  private end(live: LiveSession, reason: 'idle' | 'shutdown'): void {
    const endIso = new Date(live.lastSeenMs).toISOString();
    this.users.touch(live.learner.id, endIso);
    this.sessions.end(live.sessionId, endIso);
    this.live.delete(live.learner.id);
    this.log.info(
      {
        event: 'session_end',
        userId: live.learner.id,
        learner: live.learner.name,
        sessionId: live.sessionId,
        durationMs: live.lastSeenMs - live.startedAtMs,
        reason,
      },
      'session ended',
    );
  }

  /** Ends the sessions idle past the gap; returns how many. */
  sweep(): number {
    const nowMs = this.now();
    let ended = 0;
    for (const live of [...this.live.values()]) {
      if (nowMs - live.lastSeenMs <= this.options.idleMs) continue;
      this.end(live, 'idle');
      ended++;
    }
    return ended;
  }

  /**
   * Writes every learner's latest activity. Sessions stay open so that a restart within the idle
   * gap continues them instead of counting a new one.
   */
  close(): void {
    clearInterval(this.timer);
    for (const live of this.live.values()) if (live.lastWrittenMs !== live.lastSeenMs) this.write(live);
    this.live.clear();
  }
}
