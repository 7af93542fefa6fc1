import { HealthResult } from '../../shared/schemas/rpc.js';
import type { OpsDatabase } from './database.js';

/** Owner of ops.db's `health_checks` table: every full health check, as it was answered. */
export class HealthChecksTable {
  constructor(private readonly ops: OpsDatabase) {}

  record(result: HealthResult): void {
    this.ops.write('health check', (db) =>
      db
        .prepare('INSERT INTO health_checks (at, status, report) VALUES (?, ?, ?)')
        .run(result.timestamp, result.status, JSON.stringify(result)),
    );
  }

  /** The latest check, if one was recorded and still reads as one (a row from another release that does not is skipped). */
  latest(): HealthResult | undefined {
    const row = this.ops.db.prepare('SELECT report FROM health_checks ORDER BY id DESC LIMIT 1').get() as { report: string } | undefined;
    if (!row) return undefined;
    try {
      return HealthResult.safeParse(JSON.parse(row.report)).data;
    } catch {
      return undefined; // not JSON: written by something else; nothing to show
    }
  }

  prune(beforeIso: string): number {
    return this.ops.write('health check pruning', (db) => db.prepare('DELETE FROM health_checks WHERE at < ?').run(beforeIso).changes) ?? 0;
  }
}
