import { chmodSync, existsSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Logger } from '../shared/logger.js';

/**
 * Listens on a Unix socket that only the daemon's user can use: created under a restrictive umask
 * (mode 0600 the moment `listen()` returns, never chmod after bind). A socket file already there
 * is stale: the caller holds the data dir's lock.
 */
export async function listenPrivate(server: Server, path: string, log: Logger): Promise<void> {
  if (existsSync(path)) unlinkSync(path);
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  const mode = statSync(path).mode & 0o777;
  if (mode !== 0o600) {
    // Not expected under the umask above; never run with a socket others could use.
    chmodSync(path, 0o600);
    log.warn({ path, mode: mode.toString(8) }, 'socket had an unexpected mode; set to 0600');
  }
}
