import type { Alert } from '../../shared/schemas/rpc.js';
import type { OpsDatabase } from './database.js';

/** Owner of ops.db's `alerts` table: every alert raised, and when it cleared. */
export class AlertsTable {
  constructor(private readonly ops: OpsDatabase) {}

  /** Records a raised alert; its row id (undefined when ops.db refused the write). */
  raise(alert: Alert): number | bigint | undefined {
    return this.ops.write(
      'alert',
      (db) =>
        db
          .prepare('INSERT INTO alerts (rule, raised_at, message, hint) VALUES (?, ?, ?, ?)')
          .run(alert.rule, alert.since, alert.message, alert.hint).lastInsertRowid,
    );
  }

  clear(rule: string, at: string): void {
    this.ops.write('alert', (db) => db.prepare('UPDATE alerts SET cleared_at = ? WHERE rule = ? AND cleared_at IS NULL').run(at, rule));
  }

  /** Alerts left open by a daemon that stopped: they are re-evaluated from fresh samples, so close them. */
  clearAll(at: string): void {
    this.ops.write('alert', (db) => db.prepare('UPDATE alerts SET cleared_at = ? WHERE cleared_at IS NULL').run(at));
  }

  /** Alerts raised in a window, newest first (for reports). */
  since(iso: string): Array<{ rule: string; raisedAt: string; clearedAt: string | null; message: string }> {
    return this.ops.db
      .prepare('SELECT rule, raised_at AS raisedAt, cleared_at AS clearedAt, message FROM alerts WHERE raised_at >= ? ORDER BY id DESC')
      .all(iso) as Array<{ rule: string; raisedAt: string; clearedAt: string | null; message: string }>;
  }

  prune(beforeIso: string): number {
    return (
      this.ops.write(
        'alert pruning',
        (db) => db.prepare('DELETE FROM alerts WHERE cleared_at IS NOT NULL AND cleared_at < ?').run(beforeIso).changes,
      ) ?? 0
    );
  }
}
