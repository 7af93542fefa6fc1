import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import type { Config } from '../schemas/config.js';
import { type CheckSpec, type NewFinding, type Outcome } from './run.js';

/**
 * CPU and memory of the machine, for a diagnosis without the daemon (whose sampler and alert
 * rules say it otherwise): the 1-minute load average per core (a snapshot of a fraction of a
 * second would mostly measure ctl starting up) and /proc/meminfo's MemAvailable.
 */

function memoryPercent(): number {
  try {
    const info = readFileSync('/proc/meminfo', 'utf8');
    const kb = (key: string): number | undefined => {
      const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(info);
      return m?.[1] === undefined ? undefined : Number(m[1]);
    };
    const total = kb('MemTotal');
    const available = kb('MemAvailable');
    if (total !== undefined && available !== undefined && total > 0) return ((total - available) / total) * 100;
  } catch {
    // no /proc: the os module's figure below
  }
  return ((totalmem() - freemem()) / totalmem()) * 100;
}

const round = (n: number): number => Math.round(n * 10) / 10;

export function machineCheck(thresholds: Config['thresholds']): CheckSpec {
  return {
    id: 'resources',
    category: 'slowdown',
    what: 'CPU and memory use',
    run: (): Outcome => {
      const cores = Math.max(1, availableParallelism());
      const load = loadavg()[0] ?? 0;
      const cpu = round(Math.min(100, (load / cores) * 100));
      const memory = round(memoryPercent());
      const findings: NewFinding[] = [];
      if (cpu > thresholds.cpuPercent) {
        findings.push({
          id: 'cpu_high',
          severity: 'warning',
          title: `The machine is busy: load ${load.toFixed(2)} on ${cores} cores (the line is ${thresholds.cpuPercent} %)`,
          cause: 'Over the last minute more work waited for the CPUs than they could do; a busy machine answers learners slowly.',
          fix: 'top -o %CPU',
        });
      }
      if (memory > thresholds.memoryPercent) {
        findings.push({
          id: 'memory_high',
          severity: 'warning',
          title: `Memory use is ${memory} % (the line is ${thresholds.memoryPercent} %)`,
          cause: 'Little memory is left for the server; the system may swap or kill processes.',
          fix: 'top -o %MEM',
        });
      }
      return { summary: `load ${load.toFixed(2)} on ${cores} cores (${cpu} %), memory ${memory} %`, findings };
    },
  };
}
