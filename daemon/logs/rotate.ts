import { EventEmitter } from 'node:events';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fstatSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** The `logs` config keys rotation obeys. */
export interface RotationLimits {
  /** The current file is rotated before a line would take it past this. */
  maxBytes: number;
  /** Rotated files kept: `.1` plain, `.2.gz` … `.<keep>.gz`. */
  keep: number;
  /** All log files together; past it the oldest rotated files go first (never the current one). */
  maxTotalBytes: number;
}

/** A rotated file that was compressed: `from` (plain, now gone) became `to` (`.gz`). */
export interface Compressed {
  from: string;
  to: string;
  bytes: number;
  gzBytes: number;
  ms: number;
}

/** What a rotation did, synchronously: where the current file went and which old files it removed. */
export interface RotateOutcome {
  rotatedTo: string;
  deleted: string[];
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Removes a file; a missing one is fine, any other failure is thrown. */
function remove(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // gone (or unreadable): it takes no room we can free
  }
}

/**
 * The file shuffling of log rotation, for one log file: `file` → `file.1` → `file.2.gz` … up to
 * `keep`, the total-bytes cap, and gzip compression of the closed files. Shifting is synchronous,
 * so the writer can do it between two lines; compression is async (one file at a time, off the
 * hot path) and writes through a hidden temp name, so a half-written `.gz` never exists.
 */
export class LogRotator extends EventEmitter<{ compressed: [Compressed]; compressFailed: [{ file: string; error: Error }]; idle: [] }> {
  private readonly dir: string;
  private readonly base: string;
  private compressing: Promise<void> | undefined;
  /** After a compression fails, none is tried until the next rotation (and the failure is said once until one works). */
  private isCompressPaused = false;
  private isCompressFailing = false;
  private tempSeq = 0;
  private isClosed = false;

  constructor(
    readonly file: string,
    public limits: RotationLimits,
  ) {
    super();
    this.dir = dirname(file);
    this.base = basename(file);
  }

  /** `file.<n>` or `file.<n>.gz`. */
  slot(n: number, isGz: boolean): string {
    return `${this.file}.${n}${isGz ? '.gz' : ''}`;
  }

  /**
   * Moves every rotated file up one slot (the one past `keep` is deleted) and renames the current
   * file to `.1`. The writer's fd still points at it, so not a byte is lost. Throws when a step
   * fails; the current file has then not moved (or, when only its own rename failed, stays put).
   */
  rotate(): RotateOutcome {
    const { keep } = this.limits;
    const deleted = [this.slot(keep, false), this.slot(keep, true)].filter(remove);
    for (let n = keep - 1; n >= 1; n--) {
      for (const isGz of [false, true]) {
        try {
          renameSync(this.slot(n, isGz), this.slot(n + 1, isGz));
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      }
    }
    const rotatedTo = this.slot(1, false);
    renameSync(this.file, rotatedTo);
    return { rotatedTo, deleted };
  }

  /** Puts the rotated file back as the current one (the fresh file could not be opened). */
  restore(rotatedTo: string): void {
    renameSync(rotatedTo, this.file);
  }

  /** The rotated files, newest first, each with its size (slots 1…keep, and strays past it). */
  rotatedFiles(): Array<{ n: number; path: string; bytes: number }> {
    const pattern = new RegExp(`^${this.base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)(\\.gz)?$`);
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return []; // no folder (yet): nothing rotated
    }
    return names
      .flatMap((name) => {
        const m = pattern.exec(name);
        return m ? [{ n: Number(m[1]), path: join(this.dir, name), bytes: sizeOf(join(this.dir, name)) }] : [];
      })
      .sort((a, b) => a.n - b.n);
  }

  /**
   * After a rotation (and at start): deletes rotated files past `keep` and, oldest first, as many
   * as the total cap needs, then starts compressing what is left plain. The current file is never
   * deleted, and room is kept for it to grow to `maxBytes` (or `currentBytes` if it is larger), so
   * the total stays under the cap until the next rotation. Returns the files it deleted. Never
   * throws: a file that cannot be deleted stays and is tried again next time.
   */
  settle(currentBytes: number): string[] {
    this.isCompressPaused = false;
    const deleted: string[] = [];
    const files = this.rotatedFiles();
    const budget = this.limits.maxTotalBytes - Math.max(currentBytes, this.limits.maxBytes);
    let total = files.reduce((sum, f) => sum + f.bytes, 0);
    for (const f of [...files].reverse()) {
      if (f.n <= this.limits.keep && total <= budget) break;
      try {
        if (remove(f.path)) deleted.push(f.path);
        total -= f.bytes;
      } catch {
        // Cannot delete it now (permissions): it stays, and the next rotation tries again.
      }
    }
    this.compressBacklog();
    return deleted;
  }

  /** Resolves once no compression runs (at once when none does). */
  async idle(): Promise<void> {
    while (this.compressing) await this.compressing;
  }

  /** No new compression starts; one running finishes. */
  close(): void {
    this.isClosed = true;
  }

  private compressBacklog(): void {
    if (this.compressing) return;
    this.compressing = (async () => {
      for (;;) {
        if (this.isClosed || this.isCompressPaused) break;
        // The newest plain file past `.1`: the one a rotation just moved to `.2`, then any left over.
        const next = this.rotatedFiles().find((f) => f.n >= 2 && f.n <= this.limits.keep && !f.path.endsWith('.gz'));
        if (!next) break;
        try {
          const done = await this.compress(next.path);
          this.isCompressFailing = false;
          if (done) this.emit('compressed', done);
        } catch (err) {
          this.isCompressPaused = true;
          if (!this.isCompressFailing) this.emit('compressFailed', { file: next.path, error: err as Error });
          this.isCompressFailing = true;
        }
      }
    })().finally(() => {
      this.compressing = undefined;
      this.emit('idle');
    });
  }

  /**
   * Gzips one closed file. It is opened by fd first: a rotation meanwhile renames it, and it is
   * found again by its inode at the end, wherever it has moved (or found gone: the temp is dropped).
   * The fd stays open until then, so its inode number cannot be reused by a newer file meanwhile.
   */
  private async compress(path: string): Promise<Compressed | undefined> {
    const t0 = performance.now();
    const fd = openSync(path, 'r');
    const temp = join(this.dir, `.${this.base}.${process.pid}.${++this.tempSeq}.gz.tmp`);
    try {
      const { ino, dev, size } = fstatSync(fd);
      await pipeline(createReadStream('', { fd, autoClose: false }), createGzip(), createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
      const isLinked = fstatSync(fd).nlink > 0;
      const now = this.rotatedFiles().find((f) => {
        if (!isLinked || f.n < 2 || f.path.endsWith('.gz')) return false;
        const st = statSync(f.path, { throwIfNoEntry: false });
        return st?.ino === ino && st.dev === dev;
      });
      if (!now) {
        remove(temp); // deleted meanwhile (keep or the total cap): nothing left to replace
        return undefined;
      }
      const to = `${now.path}.gz`;
      renameSync(temp, to);
      remove(now.path);
      return { from: now.path, to, bytes: size, gzBytes: sizeOf(to), ms: Math.round(performance.now() - t0) };
    } catch (err) {
      try {
        remove(temp);
      } catch {
        // the original failure is the one worth reporting; a stray temp is removed at the next start
      }
      throw err;
    } finally {
      closeSync(fd);
    }
  }

  /** Deletes temp files a killed daemon left half-written. */
  removeStaleTemps(): void {
    try {
      for (const name of readdirSync(this.dir)) {
        if (name.startsWith(`.${this.base}.`) && name.endsWith('.gz.tmp')) remove(join(this.dir, name));
      }
    } catch {
      // no folder, or unreadable: nothing to clean
    }
  }
}
