import { createServer, type Server, type Socket } from 'node:net';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { rawHttpError } from '../shared/http-error.js';

/** Where new connections go: to a ready child, into the queue (a restart is under way), or refused with a 503. */
export type ListenerMode =
  { kind: 'forward'; send: (socket: Socket) => Promise<void> } | { kind: 'queue' } | { kind: 'refuse'; message: string; hint: string };

function http503(message: string, hint: string): string {
  return rawHttpError(503, message, hint, { 'Retry-After': '2' });
}

/**
 * The daemon owns the HTTP port, as systemd socket activation would, and passes each accepted
 * connection to the child. While a child restarts, connections wait in a queue instead of being
 * refused; while the server is stopped on purpose they get a 503 that says so.
 */
export class PortListener {
  private readonly server: Server;
  private readonly queue: Array<{ socket: Socket; timer: NodeJS.Timeout }> = [];
  private mode: ListenerMode = { kind: 'queue' };

  constructor(
    private readonly log: Logger,
    private readonly limits: { queueTimeoutMs: number; maxQueuedConnections: number },
  ) {
    this.server = createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket));
    this.server.on('error', (err) => log.error({ err }, 'HTTP listener error'));
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          err.code === 'EADDRINUSE'
            ? new AppError('E_PORT_IN_USE', `Port ${host}:${port} is already in use.`, {
                hint: 'Stop the other program (`ss -ltnp` shows it), or choose another port with --port or MCP_STARTER_SERVER_PORT.',
                cause: err,
              })
            : err,
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('listener has no TCP address');
    return { host: addr.address, port: addr.port };
  }

  setMode(mode: ListenerMode): void {
    this.mode = mode;
    if (mode.kind === 'queue') return;
    for (const { socket, timer } of this.queue.splice(0)) {
      clearTimeout(timer);
      this.dispatch(socket);
    }
  }

  /** Connections a child was handed and never took (it died first): served by the current mode, oldest first. */
  requeue(sockets: readonly Socket[]): void {
    for (const socket of sockets) this.dispatch(socket);
  }

  get queued(): number {
    return this.queue.length;
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    this.dispatch(socket);
  }

  private dispatch(socket: Socket): void {
    if (socket.destroyed) return;
    const mode = this.mode;
    switch (mode.kind) {
      case 'forward':
        mode.send(socket).catch((err: unknown) => {
          // The child went away between accept and hand-over: keep the connection for the next one.
          this.log.debug({ err }, 'hand-over failed; the connection waits for the next child');
          if (socket.destroyed) return;
          if (this.mode !== mode) this.dispatch(socket);
          else this.enqueue(socket);
        });
        return;
      case 'queue':
        this.enqueue(socket);
        return;
      case 'refuse':
        socket.end(http503(mode.message, mode.hint));
        return;
    }
  }

  private enqueue(socket: Socket): void {
    if (this.queue.length >= this.limits.maxQueuedConnections) {
      socket.end(http503('The server is restarting and its queue is full.', 'Retry in a few seconds.'));
      return;
    }
    const entry = {
      socket,
      timer: setTimeout(() => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        socket.end(http503('The server did not come back in time.', 'Check `mcp-starterctl status`.'));
      }, this.limits.queueTimeoutMs),
    };
    entry.timer.unref();
    this.queue.push(entry);
  }

  /**
   * Stops accepting and answers every waiting connection with a 503. Does not wait for the
   * close callback: Node counts connections handed to a child until that child reports them
   * closed, which a dead child never does.
   */
  close(): void {
    this.setMode({ kind: 'refuse', message: 'The server is shutting down.', hint: 'Retry once it is back.' });
    this.server.close();
  }
}
