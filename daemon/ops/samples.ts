import { SERIES, type MetricsSample } from '../../shared/schemas/rpc.js';
import type { OpsDatabase } from './database.js';

const COLUMNS = ['at', ...SERIES] as const;
const INSERT = `INSERT OR REPLACE INTO samples (resolution, count, ${COLUMNS.join(', ')}) VALUES ('raw', 1, ${COLUMNS.map((c) => `@${c}`).join(', ')})`;

/** Hourly rows: averages, except the maxima and counts that an average would hide. */
const HOURLY = SERIES.map((c) => {
  if (c === 'response_time_max') return `MAX(${c})`;
  if (c === 'requests') return `SUM(${c})`;
  return `AVG(${c})`;
}).join(', ');

/** Owner of ops.db's `samples` table: the sampler's figures, raw for the retention, hourly after. */
export class SamplesTable {
  constructor(private readonly ops: OpsDatabase) {}

  insert(sample: MetricsSample): void {
    this.ops.write('metrics sample', (db) => db.prepare(INSERT).run(sample));
  }

  /**
   * Samples from `fromIso` on, oldest first: raw ones, and hourly averages for the hours whose raw
   * samples are gone (older than the retention).
   */
  range(fromIso: string, toIso = new Date().toISOString()): { samples: MetricsSample[]; hourly: number } {
    const raw = this.ops.db
      .prepare(`SELECT ${COLUMNS.join(', ')} FROM samples WHERE resolution = 'raw' AND at >= ? AND at <= ? ORDER BY at`)
      .all(fromIso, toIso) as MetricsSample[];
    const firstRaw = raw[0]?.at ?? toIso;
    const hourly = this.ops.db
      .prepare(`SELECT ${COLUMNS.join(', ')} FROM samples WHERE resolution = 'hour' AND at >= ? AND at < ? ORDER BY at`)
      .all(fromIso, firstRaw) as MetricsSample[];
    return { samples: [...hourly, ...raw], hourly: hourly.length };
  }

  /** The raw samples older than `beforeIso` become one hourly row per hour; returns the raw rows folded. */
  downsample(beforeIso: string): number {
    // Whole hours only: an hour folded in two parts would keep only its second part.
    const hour = `${beforeIso.slice(0, 13)}:00:00.000Z`;
    return (
      this.ops.write('metrics downsampling', (db) =>
        db
          .transaction(() => {
            db.prepare(
              `INSERT OR REPLACE INTO samples (resolution, at, count, ${SERIES.join(', ')})
               SELECT 'hour', substr(at, 1, 13) || ':00:00.000Z', COUNT(*), ${HOURLY}
               FROM samples WHERE resolution = 'raw' AND at < ? GROUP BY substr(at, 1, 13)`,
            ).run(hour);
            return db.prepare("DELETE FROM samples WHERE resolution = 'raw' AND at < ?").run(hour).changes;
          })
          .immediate(),
      ) ?? 0
    );
  }

  prune(beforeIso: string): number {
    return this.ops.write('metrics pruning', (db) => db.prepare('DELETE FROM samples WHERE at < ?').run(beforeIso).changes) ?? 0;
  }
}
