import { migrate, openDatabase, type Db, type Migration } from './sqlite.js';

/**
 * ops.db (DESIGN.md, Data): what the daemon measures about the service — probe results,
 * availability intervals, metric samples, alerts, full health checks. The daemon alone writes
 * it; every later issue adds its tables as a new migration here, never by editing a shipped one.
 * Timestamps are ISO 8601 UTC text with milliseconds everywhere (they sort as they compare).
 */
export const OPS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'probes, availability, samples, alerts, health checks',
    up: `
      CREATE TABLE probes (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        -- liveness: the periodic MCP call; handoff: the check after a stalled hand-over; full: a health check's MCP probe
        kind TEXT NOT NULL CHECK (kind IN ('liveness', 'handoff', 'full')),
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        ms REAL NOT NULL,
        error TEXT
      );
      CREATE INDEX probes_at ON probes(at);

      -- One row per stretch of time in one condition; the last row is open (its end moves with a heartbeat).
      CREATE TABLE availability (
        id INTEGER PRIMARY KEY,
        start TEXT NOT NULL,
        end TEXT NOT NULL,
        condition TEXT NOT NULL CHECK (condition IN ('up', 'down', 'planned')),
        reason TEXT NOT NULL,
        -- 1 on the row a daemon opened as it shut down on purpose: the gap until the next start is planned
        daemon_stopped INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX availability_end ON availability(end);

      CREATE TABLE samples (
        at TEXT NOT NULL,
        -- raw: as sampled; hour: the average of an hour's raw samples once they pass the retention
        resolution TEXT NOT NULL CHECK (resolution IN ('raw', 'hour')),
        count INTEGER NOT NULL DEFAULT 1,
        cpu_percent REAL NOT NULL,
        memory_percent REAL NOT NULL,
        disk_percent REAL NOT NULL,
        child_cpu_percent REAL,
        memory_rss_mb REAL,
        response_time_p50 REAL,
        response_time_p95 REAL,
        response_time_max REAL,
        requests INTEGER NOT NULL,
        active_connections INTEGER NOT NULL,
        in_flight INTEGER NOT NULL,
        active_learners INTEGER NOT NULL,
        PRIMARY KEY (resolution, at)
      ) WITHOUT ROWID;

      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        cleared_at TEXT,
        message TEXT NOT NULL,
        hint TEXT NOT NULL
      );
      CREATE INDEX alerts_open ON alerts(rule) WHERE cleared_at IS NULL;

      CREATE TABLE health_checks (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('healthy', 'unhealthy')),
        -- the whole result, as the health RPC answered it
        report TEXT NOT NULL
      );
      CREATE INDEX health_checks_at ON health_checks(at);
    `,
  },
  {
    version: 2,
    name: 'job runs',
    up: `
      -- One row per run of a scheduled job (issue 9), written when the run ends.
      CREATE TABLE job_runs (
        id INTEGER PRIMARY KEY,
        job TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        ms REAL NOT NULL,
        summary TEXT NOT NULL,
        error TEXT,
        trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'catch-up'))
      );
      CREATE INDEX job_runs_job_started ON job_runs(job, started_at);
    `,
  },
];

/** Opens (creating it if needed) and migrates ops.db; `:memory:` gives a private in-memory one. */
export function openOpsDb(file: string): Db {
  const db = openDatabase(file, { synchronous: 'NORMAL' });
  try {
    migrate(db, OPS_MIGRATIONS);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
