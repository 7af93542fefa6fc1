import { statfsSync } from 'node:fs';
import pidusage from 'pidusage';
import si from 'systeminformation';

/** The machine's figures, as the manual's psutil calls give them. */
export interface MachineFigures {
  cpuPercent: number;
  memoryPercent: number;
  /** Use of the filesystem holding the data dir (as `df` counts it: blocks reserved for root are not free). */
  diskPercent: number;
}

/** One process's figures (pidusage). */
export interface ProcessFigures {
  cpuPercent: number;
  rssBytes: number;
  /** CPU time it used since it started, in seconds. */
  cpuSeconds: number;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * CPU and memory from systeminformation, called only with fixed arguments (no value from a user
 * reaches it); the disk from statfs(2) on the data dir, which needs no child process.
 */
export async function machineFigures(dataDir: string): Promise<MachineFigures> {
  const [load, mem] = await Promise.all([si.currentLoad(), si.mem()]);
  return {
    cpuPercent: round(load.currentLoad),
    memoryPercent: mem.total > 0 ? round(((mem.total - mem.available) / mem.total) * 100) : 0,
    diskPercent: diskPercent(dataDir),
  };
}

/** Used ÷ (used + available to users) × 100, as df and psutil compute it; 0 when it cannot be read. */
export function diskPercent(dir: string): number {
  try {
    const s = statfsSync(dir);
    const used = s.blocks - s.bfree;
    const total = used + s.bavail;
    return total > 0 ? round((used / total) * 100) : 0;
  } catch {
    return 0; // the data dir vanished or statfs is unsupported: the sample still has the other figures
  }
}

/** The figures of one process, or undefined when it is gone. */
export async function processFigures(pid: number): Promise<ProcessFigures | undefined> {
  try {
    const stat = await pidusage(pid);
    return { cpuPercent: round(stat.cpu), rssBytes: stat.memory, cpuSeconds: stat.ctime / 1000 };
  } catch {
    return undefined; // the process exited between the question and the answer
  }
}

/** Releases pidusage's per-process history (its timer and cache). */
export function forgetProcesses(): void {
  pidusage.clear();
}
