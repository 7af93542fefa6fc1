import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Db } from '../sqlite.js';

/**
 * The learning database opened for a look, never for a change: read-only, with a short busy
 * timeout, and never in a way that leaves files another user owns (a read-only connection to a
 * WAL database creates its -wal and -shm when they are missing; run as root that would lock the
 * daemon's user out of its own database).
 */

/** How long a read waits for a lock before the database counts as locked. */
export const LOCK_WAIT_MS = 250;
const SQLITE_HEADER = 'SQLite format 3\u0000';

export type Opened =
  | { kind: 'open'; db: Db }
  | { kind: 'missing' }
  /** This user cannot open it without creating files the daemon's user would then not own. */
  | { kind: 'not_owner'; owner: number }
  | { kind: 'failed'; code: string; message: string };

function headerOk(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    return n === 0 || buf.subarray(0, n).toString('latin1') === SQLITE_HEADER;
  } finally {
    closeSync(fd);
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'error';
}

/** Opens the learning database read-only (once per diagnosis; `close` when done). */
export class LearningDbView {
  private opened: Opened | undefined;
  /** Set by the integrity check when it found damage: the other checks would only trip over it. */
  damaged = false;

  constructor(readonly file: string) {}

  open(): Opened {
    this.opened ??= this.tryOpen();
    return this.opened;
  }

  private tryOpen(): Opened {
    if (!existsSync(this.file)) return { kind: 'missing' };
    const st = statSync(this.file);
    const me = process.geteuid?.() ?? st.uid;
    if (me !== st.uid && !existsSync(`${this.file}-shm`)) return { kind: 'not_owner', owner: st.uid };
    if (!headerOk(this.file)) return { kind: 'failed', code: 'SQLITE_NOTADB', message: 'the file does not start with an SQLite header' };
    let db: Db | undefined;
    try {
      db = new Database(this.file, { readonly: true, fileMustExist: true, timeout: LOCK_WAIT_MS });
      // The first read maps the -shm and reads the schema: where a damaged or locked file shows.
      db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
      return { kind: 'open', db };
    } catch (err) {
      db?.close();
      return { kind: 'failed', code: codeOf(err), message: (err as Error).message };
    }
  }

  close(): void {
    if (this.opened?.kind === 'open') this.opened.db.close();
    this.opened = undefined;
  }
}

/** Whether a table exists (a database the server has not set up yet has none). */
export function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** A backup's time: the stamp in its name (`mcp-starter-<label>-20261125T021500123Z.db`), else its mtime. */
function takenAt(dir: string, name: string): string {
  const stamp = /(\d{8}T\d{9}Z)\.db$/.exec(name)?.[1];
  return stamp ?? new Date(statSync(join(dir, name)).mtimeMs).toISOString().replace(/[-:.]/g, '');
}

/** The newest backup in the backups folder, for a restore fix. */
export function newestBackup(backupsDir: string): string | undefined {
  try {
    const newest = readdirSync(backupsDir)
      .filter((n) => n.endsWith('.db'))
      .map((n) => ({ n, at: takenAt(backupsDir, n) }))
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))[0];
    return newest === undefined ? undefined : join(backupsDir, newest.n);
  } catch {
    return undefined; // no backups folder yet
  }
}

/**
 * Whether a writer could take the write lock now (`BEGIN IMMEDIATE`, then ROLLBACK: nothing is
 * written). Only where another connection keeps the database open (the daemon's server), so that
 * closing this one never checkpoints the file.
 */
export function writeLockFree(file: string): { free: true } | { free: false; code: string } {
  let db: Db | undefined;
  try {
    db = new Database(file, { fileMustExist: true, timeout: LOCK_WAIT_MS });
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return { free: true };
  } catch (err) {
    return { free: false, code: codeOf(err) };
  } finally {
    db?.close();
  }
}
