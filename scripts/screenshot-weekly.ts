/**
 * Renders a weekly report in headless Chromium and saves a screenshot, to look at what an
 * operator sees (issue 10: "understands the week in a minute"). Needs Debian's chromium
 * (`apt-get install chromium`); not part of the test suite.
 *
 *   npx tsx scripts/screenshot-weekly.ts [REPORT.html] [OUT.png]
 *
 * Without REPORT.html it renders a demo week (the test's seeded data).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildWeeklyReport } from '../daemon/reports/weekly.js';
import { writeWeeklyReport } from '../daemon/reports/weekly.js';
import { daysEnding } from '../daemon/reports/calendar.js';
import { openOpsDb } from '../shared/ops-db.js';
import type { MetricsSample } from '../shared/schemas/rpc.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const H = 3_600_000;

async function demoReport(dir: string): Promise<string> {
  const db = openOpsDb(join(dir, 'ops.db'));
  const interval = db.prepare('INSERT INTO availability (start, end, condition, reason) VALUES (?, ?, ?, ?)');
  interval.run('2026-11-22T00:00:00.000Z', '2026-11-23T10:00:00.000Z', 'up', 'probe passed');
  interval.run('2026-11-23T10:00:00.000Z', '2026-11-23T13:00:00.000Z', 'down', 'crash');
  interval.run('2026-11-23T13:00:00.000Z', '2026-11-25T00:00:00.000Z', 'up', 'probe passed');
  interval.run('2026-11-25T00:00:00.000Z', '2026-11-25T00:10:00.000Z', 'planned', 'restart');
  interval.run('2026-11-25T00:10:00.000Z', '2026-11-29T00:00:00.000Z', 'up', 'probe passed');
  const samples: MetricsSample[] = [];
  for (const day of daysEnding('2026-11-28', 7, 'UTC')) {
    for (let h = 0; h < 24; h += 1) {
      const p95 = day.day === '2026-11-24' && h > 8 && h < 14 ? 2_600 : 120 + ((h * 37) % 90);
      samples.push({
        at: new Date(day.fromMs + h * H).toISOString(),
        cpu_percent: 20 + ((h * 13) % 30),
        memory_percent: 45,
        disk_percent: 30,
        child_cpu_percent: 3,
        memory_rss_mb: 90,
        response_time_p50: p95 / 3,
        response_time_p95: p95,
        response_time_max: p95 * 1.5,
        requests: 40,
        active_connections: 3,
        in_flight: 0,
        active_learners: 4,
      });
    }
  }
  const report = await buildWeeklyReport(
    {
      ops: db,
      samples: (from, to) => samples.filter((s) => s.at >= from && s.at <= to),
      learning: (days) =>
        Promise.resolve({
          section: {
            totalLearners: 42,
            newLearners: 9,
            completions: 17,
            activeLearners: 11,
            tutorials: [
              { id: 'what-is-mcp', title: 'What is MCP?', starts: 14, completions: 9, completionRate: 57.1, averageTimeSeconds: 540 },
              { id: 'transports', title: 'Transports', starts: 8, completions: 3, completionRate: 21.4, averageTimeSeconds: 1_260 },
              {
                id: 'first-tool',
                title: 'Writing a first tool',
                starts: 6,
                completions: 5,
                completionRate: 31.0,
                averageTimeSeconds: 1_800,
              },
            ],
            stuck: [{ tutorial: 'transports', step: 3, wrongAnswers: 11, dwellSeconds: 420 }],
          },
          completionsPerDay: days.map((_, i) => [2, 4, 1, 3, 2, 3, 2][i] ?? 0),
        }),
      logs: () => Promise.resolve({ errors: 14, warnings: 31, topErrors: [{ message: 'database is locked (<n> ms)', count: 9 }] }),
      thresholds: { cpuPercent: 80, memoryPercent: 75, responseTimeMs: 2_000 },
      timezone: 'UTC',
    },
    '2026-11-28',
    Date.parse('2026-11-29T03:00:00Z'),
  );
  db.close();
  return writeWeeklyReport(report, dir).htmlFile;
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM)`);
  const dir = mkdtempSync(join(tmpdir(), 'weekly-shot-'));
  try {
    const given = process.argv[2];
    const html = given !== undefined && given !== '' ? resolve(given) : await demoReport(dir);
    const out = resolve(process.argv[3] ?? 'weekly-report.png');
    const r = spawnSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--hide-scrollbars',
        '--window-size=1000,2600',
        `--screenshot=${out}`,
        `file://${html}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (r.status !== 0 || !existsSync(out)) throw new Error(`chromium failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
    process.stdout.write(`screenshot of ${html}: ${out}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
