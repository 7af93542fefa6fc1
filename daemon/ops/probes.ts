import type { OpsDatabase } from './database.js';

export type ProbeKind = 'liveness' | 'handoff' | 'full';

/** Owner of ops.db's `probes` table: every MCP probe of the server, passed or failed. */
export class ProbesTable {
  constructor(private readonly ops: OpsDatabase) {}

  record(kind: ProbeKind, ok: boolean, ms: number, error?: string, at = new Date().toISOString()): void {
    this.ops.write('probe result', (db) =>
      db
        .prepare('INSERT INTO probes (at, kind, ok, ms, error) VALUES (?, ?, ?, ?, ?)')
        .run(at, kind, ok ? 1 : 0, Math.round(ms * 10) / 10, error?.slice(0, 500) ?? null),
    );
  }

  /** Passed and failed probes since `sinceIso`. */
  counts(sinceIso: string): { passed: number; failed: number } {
    const row = this.ops.db
      .prepare('SELECT COALESCE(SUM(ok), 0) AS passed, COALESCE(SUM(1 - ok), 0) AS failed FROM probes WHERE at >= ?')
      .get(sinceIso) as { passed: number; failed: number };
    return row;
  }

  prune(beforeIso: string): number {
    return this.ops.write('probe pruning', (db) => db.prepare('DELETE FROM probes WHERE at < ?').run(beforeIso).changes) ?? 0;
  }
}
