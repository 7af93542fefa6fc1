import { statSync } from 'node:fs';
import { AppError } from './errors.js';
import type { DbSizes } from './schemas/backup.js';
import type { Db } from './sqlite.js';

/** Sizes of a database and its WAL, and when free pages make a VACUUM worth it (db check, db optimize). */

/** VACUUM is worth its cost when the free pages are at least this share of the file … */
export const VACUUM_MIN_FREE_SHARE = 0.1;
/** … and at least this many bytes. */
export const VACUUM_MIN_FREE_BYTES = 1024 * 1024;

/** 12.3 MiB */
export const MiB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** A file's size; 0 when there is none. */
export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // no -wal (checkpointed and removed)
  }
}

/** The file, its WAL, and the free pages inside the file. */
export function sizesOf(db: Db, file: string): DbSizes {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  return { dbBytes: fileSize(file), walBytes: fileSize(`${file}-wal`), freeBytes: free * pageSize };
}

/** Whether VACUUM is worth it: free pages ≥ 10 % of the file and ≥ 1 MiB. */
export function worthVacuum(sizes: DbSizes): boolean {
  return sizes.freeBytes >= VACUUM_MIN_FREE_BYTES && sizes.freeBytes >= sizes.dbBytes * VACUUM_MIN_FREE_SHARE;
}

/** The error for a data dir whose learning database was never created. */
export function noDatabase(file: string): AppError {
  return new AppError('E_DB', `There is no learning database at ${file} yet.`, {
    hint: 'The server creates it at its first start; check that --data-dir (or MCP_STARTER_DATA_DIR) names the daemon’s data directory.',
  });
}
