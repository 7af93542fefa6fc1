import { unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Logger } from '../shared/logger.js';
import type { ChildHandle } from './supervisor/child.js';
import { listenPrivate } from './unix-socket.js';

/**
 * A private Unix socket (0600) whose connections go straight to one chosen child: the one being
 * brought up, or the one serving. The daemon's probes use it, so a probe of a new child reaches
 * that child (not one a pooled connection or a learner's routing points at), and a probe never
 * waits behind learners in the port's queue or caps.
 */
export class ProbePort {
  private readonly server: Server;
  /** The child probes reach; none means probe connections are closed at once (the probe fails fast). */
  target: ChildHandle | undefined;
  private listening = false;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    this.server = createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => socket.destroy());
      const target = this.target;
      if (!target) return void socket.destroy();
      target.handOver(socket).catch(() => socket.destroy());
    });
    this.server.on('error', (err) => log.error({ err }, 'probe socket error'));
  }

  async listen(): Promise<void> {
    await listenPrivate(this.server, this.path, this.log);
    this.listening = true;
  }

  close(): void {
    if (!this.listening) return;
    this.listening = false;
    this.server.close();
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
    this.log.debug('probe socket closed');
  }
}
