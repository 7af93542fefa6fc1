import type { DbOptimizeResult } from '../../shared/schemas/backup.js';
import { describeOptimize } from './db-summaries.js';

/** `optimize-db` (manual 3.2): what `db optimize` does, summarised. */
export async function optimizeDb(optimize: (signal: AbortSignal) => Promise<DbOptimizeResult>, signal: AbortSignal): Promise<string> {
  return describeOptimize(await optimize(signal));
}
