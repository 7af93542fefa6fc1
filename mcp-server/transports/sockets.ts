import type { Socket } from 'node:net';

interface Tracked {
  /** Requests on it whose response has not closed. */
  active: number;
  /** When it last had no request (accepted, or its last response ended). */
  idleSinceMs: number;
  /** `bytesRead` at that moment: more means the next request has begun to arrive. */
  bytesAtIdle: number;
  /** When the next request's first bytes were seen (a new connection: when it was accepted). */
  headerStartMs: number | undefined;
}

export interface SocketTimeouts {
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** A connection cut because its request headers did not arrive in time. */
export type HeaderTimeoutHandler = (socket: Socket, waitedMs: number) => void;

/**
 * Every connection the transport serves, with what Node's http.Server does only for connections
 * it accepted itself from a listening socket: the header timeout (a slow-loris client is cut
 * with a 408), the keep-alive idle close, and, in a drain, closing idle connections and finally
 * whatever is left (`closeAllConnections()` is a no-op for handed-over sockets).
 *
 * A sweep every `sweepMs` looks at idle connections only, so it costs nothing per request.
 */
export class SocketTracker {
  private readonly sockets = new Map<Socket, Tracked>();
  private readonly timer: NodeJS.Timeout;
  private drainTimer: NodeJS.Timeout | undefined;
  /** In a drain: connections are closed once idle this long (a stop: at once). */
  private drainIdleMs: number | undefined;

  constructor(
    private readonly timeouts: SocketTimeouts,
    private readonly onHeaderTimeout: HeaderTimeoutHandler,
    sweepMs = Math.min(1_000, Math.max(50, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.keepAliveTimeoutMs) / 4))),
  ) {
    this.timer = setInterval(() => this.sweep(), sweepMs);
    this.timer.unref();
  }

  get size(): number {
    return this.sockets.size;
  }

  add(socket: Socket): void {
    const now = performance.now();
    this.sockets.set(socket, { active: 0, idleSinceMs: now, bytesAtIdle: socket.bytesRead, headerStartMs: now });
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** A request's headers arrived on `socket`. */
  requestStarted(socket: Socket): void {
    const t = this.sockets.get(socket);
    if (!t) return;
    t.active++;
    t.headerStartMs = undefined;
  }

  /** A response on `socket` closed. */
  requestEnded(socket: Socket): void {
    const t = this.sockets.get(socket);
    if (!t) return;
    t.active = Math.max(0, t.active - 1);
    if (t.active > 0) return;
    t.idleSinceMs = performance.now();
    t.bytesAtIdle = socket.bytesRead;
    if (this.drainIdleMs === 0) this.closeIfIdle(socket, t, t.idleSinceMs, 0);
  }

  /**
   * Starts closing idle connections: for a stop, every idle connection, now and whenever one
   * becomes idle (its next request would only get a 503). For a handover, whose clients are
   * still served (each next request with `Connection: close`), an idle connection ends at the
   * keep-alive timeout, when a client that honours the Keep-Alive hint has retired it, unless
   * `idleMs` asks for sooner. Closing an idle connection a client may still pick, as Node's
   * closeIdleConnections() does with all of them at once, resets the request it sends at that
   * moment: HTTP/1.1 cannot tell a client "not this one" (see `server.drainIdleCloseMs`).
   */
  startDraining(mode: { stop: true } | { stop: false; idleMs: number | undefined }): void {
    this.drainIdleMs = mode.stop ? 0 : mode.idleMs;
    this.sweep();
    // A restart waits for these closes: look more often than the timeouts need.
    this.drainTimer ??= setInterval(() => this.sweep(), 50);
    this.drainTimer.unref();
  }

  /**
   * `ctl optimize`: ends keep-alive connections that served a request and have been idle at
   * least `minIdleMs` (one idle a moment ago may be about to carry the client's next request,
   * which closing it would reset). Returns how many it ended.
   */
  closeIdle(minIdleMs: number): number {
    const now = performance.now();
    let closed = 0;
    for (const [socket, t] of this.sockets) {
      if (socket.destroyed || t.active > 0 || t.headerStartMs !== undefined || socket.bytesRead > t.bytesAtIdle) continue;
      if (now - t.idleSinceMs < minIdleMs) continue;
      socket.end();
      closed++;
    }
    return closed;
  }

  /** Ends every connection still open (a drain that ran out of time, or close()). */
  destroyAll(): void {
    for (const socket of this.sockets.keys()) socket.destroy();
  }

  close(): void {
    clearInterval(this.timer);
    clearInterval(this.drainTimer);
  }

  private sweep(): void {
    const now = performance.now();
    for (const [socket, t] of this.sockets) {
      if (t.active > 0 || socket.destroyed) continue;
      const arriving = socket.bytesRead > t.bytesAtIdle;
      if (arriving && t.headerStartMs === undefined) t.headerStartMs = now;
      if (t.headerStartMs !== undefined && (arriving || socket.bytesRead === 0)) {
        const waited = now - t.headerStartMs;
        if (waited > this.timeouts.headersTimeoutMs) this.onHeaderTimeout(socket, waited);
        continue;
      }
      if (this.drainIdleMs !== undefined) this.closeIfIdle(socket, t, now, this.drainIdleMs);
      // Node's own keep-alive timer ends idle connections; this is the backstop.
      else if (now - t.idleSinceMs > this.timeouts.keepAliveTimeoutMs + 1_000) socket.destroy();
    }
  }

  private closeIfIdle(socket: Socket, t: Tracked, now: number, idleMs: number): void {
    if (t.active > 0 || socket.bytesRead > t.bytesAtIdle) return;
    // A connection handed over moments ago has its first request on the way: a handover serves it.
    if (t.headerStartMs !== undefined && idleMs > 0) return;
    if (now - t.idleSinceMs >= idleMs) socket.end();
  }
}
