import { parentPort, workerData } from 'node:worker_threads';
import { toAppError } from '../../shared/errors.js';
import { perform, type DbTask } from './tasks.js';

// A worker thread of the daemon (run-task.ts starts one per task): SQLite's long synchronous calls
// (integrity_check, VACUUM, a backup step) run here, so the daemon's event loop keeps handing
// connections to the server and answering probes meanwhile.
const task = workerData as DbTask;
perform(task).then(
  (result) => parentPort?.postMessage({ ok: true, result }),
  (err: unknown) => parentPort?.postMessage({ ok: false, error: toAppError(err).toJSON() }),
);
