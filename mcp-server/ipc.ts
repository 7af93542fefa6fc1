import { Server as NetServer, Socket } from 'node:net';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { ParentMessage, type ChildMessage } from '../shared/schemas/ipc.js';

type DrainRequest = Extract<ParentMessage, { type: 'drain' }>;
type OptimizeRequest = Extract<ParentMessage, { type: 'optimize' }>;

/** Where the daemon wants this child to serve: on a passed listening socket, or on connections it passes one by one. */
export type ListenTarget = { kind: 'handle'; server: NetServer } | { kind: 'connections'; url: string };

/**
 * The child's side of the IPC channel to mcp-starterd: reports (`ready`, `stats`, `draining`),
 * takes the listening socket and `drain` orders, and ends the process when the channel closes
 * so that a dead daemon never leaves an orphan.
 */
export class DaemonLink {
  private handleWaiters: Array<(target: ListenTarget) => void> = [];
  private connectionHandler: ((socket: Socket) => void) | undefined;
  private drainHandler: ((msg: DrainRequest) => void) | undefined;
  private optimizeHandler: ((msg: OptimizeRequest) => void) | undefined;
  private statsTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly log: Logger) {
    process.on('message', (raw: unknown, handle: unknown) => this.onMessage(raw, handle));
  }

  /** The link when this process was forked with an IPC channel, else undefined. */
  static attach(log: Logger, onDisconnect: () => void): DaemonLink | undefined {
    if (typeof process.send !== 'function') return undefined;
    const link = new DaemonLink(log);
    process.once('disconnect', () => {
      log.warn({ event: 'daemon_gone' }, 'IPC channel to the daemon closed; exiting');
      onDisconnect();
    });
    return link;
  }

  private onMessage(raw: unknown, handle: unknown): void {
    const parsed = ParentMessage.safeParse(raw);
    if (!parsed.success) {
      this.log.warn({ message: raw }, 'ignored an unknown IPC message');
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'listen': {
        let target: ListenTarget;
        if (handle instanceof NetServer) target = { kind: 'handle', server: handle };
        else if (msg.url !== undefined) target = { kind: 'connections', url: msg.url };
        else {
          this.log.warn('listen message came with neither a listening socket nor a url; ignored');
          return;
        }
        for (const w of this.handleWaiters.splice(0)) w(target);
        return;
      }
      case 'connection':
        if (!(handle instanceof Socket) || !this.connectionHandler) {
          // Not confirmed, so the daemon still holds its copy and hands it to the next child.
          this.log.warn('connection message without a socket, or before serving; left to the daemon');
          if (handle instanceof Socket) handle.destroy();
          return;
        }
        // Confirm before reading a byte: from here on this process owns the connection.
        this.send({ type: 'accepted', id: msg.id });
        this.connectionHandler(handle);
        return;
      case 'drain':
        if (this.drainHandler) this.drainHandler(msg);
        else this.log.warn('drain requested before the server was ready; ignored');
        return;
      case 'optimize':
        // Unanswered before the server is ready: the daemon's wait for it times out and says so.
        if (this.optimizeHandler) this.optimizeHandler(msg);
        else this.log.warn('optimize requested before the server was ready; ignored');
        return;
    }
  }

  /** Waits for the daemon to say where to serve. */
  waitForListen(timeoutMs: number): Promise<ListenTarget> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new AppError('E_INTERNAL', `No listening socket arrived from the daemon within ${timeoutMs} ms.`, {
            hint: 'Restart mcp-starterd.',
          }),
        );
      }, timeoutMs);
      this.handleWaiters.push((target) => {
        clearTimeout(timer);
        resolve(target);
      });
    });
  }

  onConnection(handler: (socket: Socket) => void): void {
    this.connectionHandler = handler;
  }

  onDrain(handler: (msg: DrainRequest) => void): void {
    this.drainHandler = handler;
  }

  onOptimize(handler: (msg: OptimizeRequest) => void): void {
    this.optimizeHandler = handler;
  }

  send(msg: ChildMessage): void {
    void this.sendAndWait(msg);
  }

  /** Sends and resolves once the message is handed to the channel (or the channel is gone): before an exit. */
  sendAndWait(msg: ChildMessage): Promise<void> {
    return new Promise((resolve) => {
      if (!process.connected || !process.send) return resolve();
      process.send(msg, undefined, {}, (err: Error | null) => {
        if (err) this.log.debug({ err }, 'IPC send failed (daemon going away)');
        resolve();
      });
    });
  }

  /** Sends `stats` every `intervalMs` until `close`. */
  startStats(intervalMs: number, snapshot: () => ChildMessage): void {
    this.statsTimer = setInterval(() => this.send(snapshot()), intervalMs);
    this.statsTimer.unref();
  }

  close(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
  }
}
