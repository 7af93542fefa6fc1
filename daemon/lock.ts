import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { AppError } from '../shared/errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function looksLikeDaemon(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon/main');
  } catch {
    return false; // no /proc entry: not running (or not Linux); treat as not ours
  }
}

/**
 * One daemon per data dir: an exclusively created lock file holding our pid. A lock left by a
 * daemon that died is taken over; one held by a live daemon is refused, naming its pid.
 */
export function acquireLock(file: string): { release: () => void } {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (err) {
        // A full disk can still create the file: it holds the lock, without the pid for `status` to show.
        process.stderr.write(
          `mcp-starterd: could not write the pid into ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); the lock is held anyway.\n`,
        );
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          try {
            if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
          } catch {
            // already gone: nothing to release
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid) && looksLikeDaemon(pid)) {
        throw new AppError('E_ALREADY_RUNNING', `Another mcp-starterd (pid ${pid}) already runs on this data dir.`, {
          hint: 'Use it (`mcp-starterctl status`), stop it first, or give this one another --data-dir.',
        });
      }
      unlinkSync(file); // left by a daemon that died
    }
  }
  throw new AppError('E_ALREADY_RUNNING', `Could not take the lock ${file}.`, {
    hint: 'Another daemon is starting at the same moment; retry.',
  });
}
