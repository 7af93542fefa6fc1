import { Worker } from 'node:worker_threads';
import { AppError, ERROR_CODES, type ErrorCode } from '../../shared/errors.js';
import type { DbTask, DbTaskResults } from './tasks.js';

/** From source (tsx) the worker needs tsx's loader registered inside it: Node 20 does not pass `--import` hooks on to workers. */
function startWorker(task: DbTask): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(url, { workerData: task });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData: task });
}

interface Reply {
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string; hint?: string };
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/**
 * Runs a database task in a worker thread of its own and answers its result, or its AppError
 * with code and hint. `signal` ends the worker (SQLite rolls back what it had not committed).
 */
export function runDbTask<K extends DbTask['kind']>(task: Extract<DbTask, { kind: K }>, signal?: AbortSignal): Promise<DbTaskResults[K]> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    // Not unref()ed: the daemon's shutdown ends with process.exit, and SQLite rolls back a step it cut short.
    const worker = startWorker(task);
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      void worker.terminate();
      settle(() => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: Reply) => {
      settle(() => {
        if (reply.ok) {
          // Our own worker, same build: its result has the task's type.
          resolve(reply.result as DbTaskResults[K]);
          return;
        }
        const e = reply.error;
        if (e && isErrorCode(e.code)) reject(new AppError(e.code, e.message, e.hint === undefined ? {} : { hint: e.hint }));
        else reject(new AppError('E_INTERNAL', e?.message ?? 'The database worker failed.', { hint: 'See the log.' }));
      });
    });
    worker.once('error', (err) =>
      settle(() =>
        reject(
          new AppError('E_INTERNAL', `The database worker failed: ${err.message}`, { hint: 'This is a bug; see the log.', cause: err }),
        ),
      ),
    );
    worker.once('exit', (code) =>
      settle(() => reject(new AppError('E_INTERNAL', `The database worker exited (${code}) without an answer.`, { hint: 'See the log.' }))),
    );
  });
}
