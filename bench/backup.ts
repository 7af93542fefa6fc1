// Backups and db optimize on a learning database of realistic shape (issue 9): a database of
// BENCH_BACKUP_MB (default 150) MB generated in a temp dir (learners, progress, sessions, answers
// where the schema has them), then
//   - backup: the daemon's path (a worker thread: online copy + integrity_check + retention), per 100 MB,
//     and how long a writer beside it waited;
//   - restore: check + copy next to the database + swap (the server's down time is the swap only);
//   - db optimize: with VACUUM (free pages, no learner active) and with VACUUM postponed (learners
//     active), each step's time and write-lock time, and a writer's longest wait beside it.
// The writer does what submit_step does: one UPDATE of user_progress in its own transaction, on a
// connection opened like the server's (synchronous FULL, busy timeout 5 s), every 5 ms.
// Everything is removed afterwards. Run: npx tsx bench/backup.ts
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runDbTask } from '../daemon/maintenance/run-task.js';
import { loadCatalog } from '../mcp-server/catalog-loader.js';
import { seedTutorials } from '../mcp-server/store/tutorials.js';
import { integrityOf } from '../shared/backup.js';
import { openLearningDb } from '../shared/learning-db.js';
import { checkBackupFile, stageBackup, swapIn } from '../shared/restore.js';
import type { DbOptimizeReport } from '../shared/schemas/backup.js';
import type { Db } from '../shared/sqlite.js';

const TARGET_MB = Number(process.env['BENCH_BACKUP_MB'] ?? 150);
const MB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'mcp-starter-bench-backup-'));
const learningDb = join(dir, 'mcp-starter.db');
const backupsDir = join(dir, 'backups');

const fmt = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
const mib = (bytes: number): string => `${(bytes / MB).toFixed(1)} MiB`;
const sizeOf = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Learners with progress in every tutorial, eight sessions each, and an answer per step where the schema keeps them. */
function generate(): void {
  const db = openLearningDb(learningDb);
  db.pragma('synchronous = OFF');
  const catalog = loadCatalog();
  seedTutorials(db, catalog);
  const tutorials = db.prepare('SELECT id, step_count AS steps FROM tutorials').all() as Array<{ id: string; steps: number }>;
  const answers = hasTable(db, 'user_answers');
  const user = db.prepare('INSERT INTO users (name, token_hash, last_activity) VALUES (?, ?, ?)');
  const progress =
    db.prepare(`INSERT INTO user_progress (user_id, tutorial_id, status, current_step, started_at, completed_at, completion_time, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const session = db.prepare('INSERT INTO user_sessions (user_id, transport, started_at, last_activity, ended_at) VALUES (?, ?, ?, ?, ?)');
  const answer = answers
    ? db.prepare(`INSERT INTO user_answers (user_id, tutorial_id, step, step_key, total_steps, asked, correct, attempt_started_at, answered_at)
        VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`)
    : undefined;
  const now = Date.now();
  const iso = (ms: number): string => new Date(ms).toISOString();
  let n = 0;
  while (sizeOf(learningDb) + sizeOf(`${learningDb}-wal`) < TARGET_MB * MB) {
    db.transaction(() => {
      for (let k = 0; k < 2000; k++, n++) {
        const id = user.run(`learner-${n}`, n.toString(16).padStart(64, '0'), iso(now - n * 1000)).lastInsertRowid;
        for (const t of tutorials) {
          const done = (n + t.id.length) % 3 === 0;
          const started = now - n * 5000;
          const step = done ? t.steps : n % t.steps;
          progress.run(
            id,
            t.id,
            done ? 'completed' : 'in_progress',
            step,
            iso(started),
            done ? iso(started + 600_000) : null,
            done ? 600 : null,
            iso(started),
          );
          for (let s = 0; answer && s < step; s++)
            answer.run(id, t.id, s, `step-${s}`, t.steps, (n + s) % 4 === 0 ? 0 : 1, iso(started), iso(started + s * 60_000));
        }
        for (let s = 0; s < 8; s++) session.run(id, 'http', iso(now - n * 7000 - s), iso(now - n * 6000 - s), iso(now - n * 6000));
      }
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** A writer beside the work: what submit_step writes, every 5 ms, each write timed. */
class Writer {
  private readonly db = openLearningDb(learningDb);
  private running = true;
  readonly waits: number[] = [];
  failed = 0;
  private readonly done: Promise<void>;

  constructor() {
    const update = this.db.prepare(
      "UPDATE user_progress SET current_step = current_step, updated_at = ? WHERE user_id = ? AND tutorial_id = 'tools'",
    );
    this.done = (async () => {
      for (let i = 1; this.running; i++) {
        const t0 = performance.now();
        try {
          update.run(new Date().toISOString(), 1 + (i % 1000));
          this.waits.push(performance.now() - t0);
        } catch {
          this.failed++;
        }
        await sleep(5);
      }
    })();
  }

  async stop(): Promise<string> {
    this.running = false;
    await this.done;
    this.db.close();
    const sorted = [...this.waits].sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? 0;
    return `${sorted.length} writes, longest ${fmt(sorted[sorted.length - 1] ?? 0)}, p99 ${fmt(p99)}, failed ${this.failed}`;
  }
}

function printOptimize(title: string, r: DbOptimizeReport, ms: number, writer: string): void {
  console.log(
    `\n${title}: ${fmt(ms)} in all; file ${mib(r.before.dbBytes)} → ${mib(r.after.dbBytes)}, WAL ${mib(r.before.walBytes)} → ${mib(r.after.walBytes)}`,
  );
  for (const s of r.steps) {
    console.log(
      `  ${s.name.padEnd(16)} ${s.ran ? `${fmt(s.ms).padStart(8)}  lock ${fmt(s.lockMs).padStart(8)}` : 'skipped'.padEnd(24)}  ${s.detail}`,
    );
  }
  console.log(`  writer beside it: ${writer}`);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  generate();
  const bytes = sizeOf(learningDb);
  console.log(`learning database: ${mib(bytes)} generated in ${fmt(performance.now() - t0)} (${dir})`);
  const per100 = (ms: number): string => fmt((ms * 100 * MB) / bytes);

  // Backups, as the daemon takes them: a worker thread, the copy, the check, retention.
  const runs: number[] = [];
  let lastFile = '';
  for (let i = 0; i < 3; i++) {
    const writer = new Writer();
    const b0 = performance.now();
    const r = await runDbTask({ kind: 'backup', learningDb, backupsDir, label: 'manual', keep: 2 });
    const ms = performance.now() - b0;
    runs.push(ms);
    lastFile = r.file;
    console.log(
      `backup ${i + 1}: ${fmt(ms)} (${per100(ms)} per 100 MB), integrity ${r.integrity}; writer beside it: ${await writer.stop()}`,
    );
  }
  const c0 = performance.now();
  integrityOf(lastFile);
  const checkMs = performance.now() - c0;
  const best = Math.min(...runs);
  console.log(`backup per 100 MB: ${per100(best)} (best of 3), of which integrity_check ~${per100(checkMs)}`);

  // Restore without a server: the check and the copy happen while the server would still serve; the swap is its down time.
  const r0 = performance.now();
  checkBackupFile(lastFile, learningDb);
  const r1 = performance.now();
  const staged = await stageBackup(lastFile, learningDb);
  const r2 = performance.now();
  const keptAs = swapIn(learningDb, staged);
  const r3 = performance.now();
  console.log(`restore: check ${fmt(r1 - r0)}, copy ${fmt(r2 - r1)} (server still serving), swap ${fmt(r3 - r2)} (server stopped)`);
  if (keptAs) rmSync(keptAs, { force: true });

  // db optimize: a fifth of the learners deleted (with their progress, sessions and answers) leaves
  // whole free pages; once with no learner active (everything runs), once with learners active
  // (the rebuilds of a database this size wait for a quiet moment).
  for (const [title, learnersActive] of [
    ['db optimize, no learner active', 0],
    ['db optimize, learners active (rebuilds of a database over 64 MiB postponed)', 3],
  ] as const) {
    const db = openLearningDb(learningDb);
    const top = (db.prepare('SELECT MAX(id) AS n FROM users').get() as { n: number }).n;
    db.prepare('DELETE FROM users WHERE id > ?').run(Math.floor(top * 0.8));
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const writer = new Writer();
    const o0 = performance.now();
    const report = await runDbTask({ kind: 'optimize', file: learningDb, options: { learnersActive, full: true } });
    printOptimize(title, report, performance.now() - o0, await writer.stop());
  }
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
