import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { dayOf, daysEnding, startOfDay } from '../daemon/reports/calendar.js';
import { buildWeeklyReport, writeWeeklyReport, type WeeklySources } from '../daemon/reports/weekly.js';
import { openOpsDb } from '../shared/ops-db.js';
import type { Db } from '../shared/sqlite.js';
import type { MetricsSample } from '../shared/schemas/rpc.js';
import type { WeeklyLearning } from '../shared/schemas/weekly.js';
import { tempDir } from './helpers.js';

const T = { timeout: 30_000 };
const H = 3_600_000;
const THRESHOLDS = { cpuPercent: 80, memoryPercent: 75, responseTimeMs: 2_000 };

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

function elements(node: Node, out: Element[] = []): Element[] {
  if ('tagName' in node) out.push(node);
  if ('childNodes' in node) for (const child of node.childNodes) elements(child, out);
  if ('content' in node && node.content) elements(node.content, out);
  return out;
}

function sample(at: string, p95: number | null, cpu = 20): MetricsSample {
  return {
    at,
    cpu_percent: cpu,
    memory_percent: 40,
    disk_percent: 30,
    child_cpu_percent: 2,
    memory_rss_mb: 80,
    response_time_p50: p95 === null ? null : p95 / 2,
    response_time_p95: p95,
    response_time_max: p95,
    requests: p95 === null ? 0 : 10,
    active_connections: 1,
    in_flight: 0,
    active_learners: 1,
  };
}

const LEARNING: WeeklyLearning = {
  totalLearners: 12,
  newLearners: 3,
  completions: 5,
  activeLearners: 4,
  tutorials: [
    { id: 'what-is-mcp', title: 'What is MCP?', starts: 6, completions: 4, completionRate: 33.3, averageTimeSeconds: 420 },
    { id: 'transports', title: 'Transports', starts: 2, completions: 1, completionRate: 8.3, averageTimeSeconds: 900 },
  ],
  stuck: [{ tutorial: 'transports', step: 2, wrongAnswers: 7, dwellSeconds: 300 }],
};

/** A week in UTC, 2026-11-22 to 2026-11-28: one crash of three hours on the 23rd, a planned restart on the 25th, a slow 24th. */
function seededWeek(t: TestContext): { db: Db; sources: WeeklySources; samples: MetricsSample[] } {
  const db = openOpsDb(join(tempDir(t), 'ops.db'));
  t.after(() => db.close());
  const interval = db.prepare('INSERT INTO availability (start, end, condition, reason) VALUES (?, ?, ?, ?)');
  interval.run('2026-11-22T00:00:00.000Z', '2026-11-23T10:00:00.000Z', 'up', 'probe passed');
  interval.run('2026-11-23T10:00:00.000Z', '2026-11-23T13:00:00.000Z', 'down', 'crash');
  interval.run('2026-11-23T13:00:00.000Z', '2026-11-25T00:00:00.000Z', 'up', 'probe passed');
  interval.run('2026-11-25T00:00:00.000Z', '2026-11-25T00:10:00.000Z', 'planned', 'restart');
  interval.run('2026-11-25T00:10:00.000Z', '2026-11-29T00:00:00.000Z', 'up', 'probe passed');
  db.prepare('INSERT INTO alerts (rule, raised_at, cleared_at, message, hint) VALUES (?, ?, ?, ?, ?)').run(
    'response_time',
    '2026-11-24T09:00:00.000Z',
    '2026-11-24T12:00:00.000Z',
    'Responses over 2 s',
    'See ctl metrics',
  );
  db.prepare(
    `INSERT INTO job_runs (job, started_at, ended_at, ok, ms, summary, error, trigger) VALUES ('daily-maintenance', ?, ?, 0, 5, 'failed', 'ENOSPC', 'schedule')`,
  ).run('2026-11-26T02:00:00.000Z', '2026-11-26T02:00:01.000Z');
  const samples: MetricsSample[] = [];
  for (const day of daysEnding('2026-11-28', 7, 'UTC')) {
    for (let h = 0; h < 24; h += 6)
      samples.push(sample(new Date(day.fromMs + h * H).toISOString(), day.day === '2026-11-24' ? 3_000 : 100));
  }
  const sources: WeeklySources = {
    ops: db,
    samples: (from, to) => samples.filter((s) => s.at >= from && s.at <= to),
    learning: (days) => Promise.resolve({ section: LEARNING, completionsPerDay: days.map((_, i) => (i === 3 ? 2 : i % 2)) }),
    logs: () => Promise.resolve({ errors: 3, warnings: 1, topErrors: [{ message: 'database is locked', count: 2 }] }),
    thresholds: THRESHOLDS,
    timezone: 'UTC',
  };
  return { db, sources, samples };
}

describe('calendar days in a timezone', () => {
  test('days are local days: 23 and 25 hours at Berlin’s changes, 24 elsewhere', T, () => {
    const berlin = daysEnding('2026-10-26', 3, 'Europe/Berlin');
    assert.deepEqual(
      berlin.map((d) => (d.toMs - d.fromMs) / H),
      [24, 25, 24],
    );
    assert.equal(new Date(startOfDay('2026-03-29', 'Europe/Berlin')).toISOString(), '2026-03-28T23:00:00.000Z');
    assert.equal((startOfDay('2026-03-30', 'Europe/Berlin') - startOfDay('2026-03-29', 'Europe/Berlin')) / H, 23);
    assert.equal(dayOf(Date.parse('2026-11-28T23:30:00Z'), 'Europe/Berlin'), '2026-11-29');
  });
});

describe('the weekly report (manual 5.2: server operation, learning, errors, recommended actions)', () => {
  test('figures from a seeded week: availability per day and in all, restarts by cause, slow days', T, async (t) => {
    const { sources } = seededWeek(t);
    const r = await buildWeeklyReport(sources, '2026-11-28', Date.parse('2026-11-29T03:00:00Z'));
    assert.equal(r.from, '2026-11-22');
    assert.equal(r.to, '2026-11-28');
    assert.deepEqual(
      r.days.map((d) => d.date),
      ['2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28'],
    );
    assert.equal(r.days[0]?.availability, 1);
    assert.equal(r.days[1]?.availability, 21 / 24, 'the crash day: three hours down of 24');
    assert.equal(r.days[3]?.availability, 1, 'the planned restart is left out');
    const up = 168 * H - 3 * H - H / 6;
    assert.ok(Math.abs((r.server.availability ?? 0) - up / (up + 3 * H)) < 1e-12);
    assert.equal(r.server.downMs, 3 * H);
    assert.equal(r.server.plannedMs, H / 6);
    assert.deepEqual(r.server.restarts, [
      { cause: 'crash', count: 1, planned: false },
      { cause: 'restart', count: 1, planned: true },
    ]);
    assert.equal(r.days[2]?.p95Ms, 3_000);
    assert.equal(r.server.slowDays, 1);
    assert.equal(r.server.p95Ms, 3_000, 'the week’s p95 of the samples’ p95 (4 of 28 samples were slow)');
    assert.equal(r.server.samples, 28);
    assert.deepEqual(
      r.days.map((d) => d.completions),
      [0, 1, 0, 2, 0, 1, 0],
    );
    assert.equal(r.errors.alerts.length, 1);
    assert.deepEqual(r.errors.failedJobs, [{ job: 'daily-maintenance', at: '2026-11-26T02:00:00.000Z', error: 'ENOSPC' }]);
    assert.deepEqual(r.notes, []);
  });

  test('recommended actions follow the figures, each with its command; a quiet week says so', T, async (t) => {
    const { sources } = seededWeek(t);
    const r = await buildWeeklyReport(sources, '2026-11-28', Date.parse('2026-11-29T03:00:00Z'));
    const commands = r.recommendations.map((x) => x.command);
    assert.ok(commands.includes('mcp-starterctl diagnose'), 'availability under 99 %');
    assert.ok(commands.includes('mcp-starterctl logs --level error -n 200'), 'a crash');
    assert.ok(commands.includes('mcp-starterctl optimize'), 'p95 over 2 s');
    assert.ok(commands.includes('mcp-starterctl jobs run daily-maintenance'), 'a failed maintenance run');
    assert.ok(commands.includes('mcp-starterctl logs analyze --hours 168'), 'errors in the logs');
    assert.ok(commands.includes('mcp-starterctl report learning'), 'a step where learners get stuck');
    assert.ok(r.recommendations.every((x) => x.command !== null && x.severity !== 'ok'));

    const quiet = await buildWeeklyReport(
      {
        ...sources,
        samples: () => [sample('2026-11-25T12:00:00.000Z', 90)],
        learning: (days) => Promise.resolve({ section: { ...LEARNING, stuck: [] }, completionsPerDay: days.map(() => 1) }),
        logs: () => Promise.resolve({ errors: 0, warnings: 0, topErrors: [] }),
        ops: openOpsDb(join(tempDir(t), 'quiet.db')),
      },
      '2026-11-28',
      Date.parse('2026-11-29T03:00:00Z'),
    );
    t.after(() => sources.ops.close());
    assert.deepEqual(
      quiet.recommendations.map((x) => x.severity),
      ['ok'],
    );
  });

  test('a source that fails leaves its section out with a note; the rest is still written', T, async (t) => {
    const { sources } = seededWeek(t);
    const r = await buildWeeklyReport(
      { ...sources, learning: () => Promise.reject(new Error('cannot open mcp-starter.db: SQLITE_CORRUPT')) },
      '2026-11-28',
      Date.parse('2026-11-29T03:00:00Z'),
    );
    assert.equal(r.learning, null);
    assert.match(r.notes.join('\n'), /Learning activity is missing: cannot open mcp-starter\.db/);
    assert.ok(r.days.every((d) => d.completions === null));
  });

  test('the Markdown and HTML files: the manual’s sections, three inline SVG charts, nothing external', T, async (t) => {
    const { sources } = seededWeek(t);
    const dir = tempDir(t);
    const r = await buildWeeklyReport(sources, '2026-11-28', Date.parse('2026-11-29T03:00:00Z'));
    const files = writeWeeklyReport(r, dir);
    assert.equal(files.markdownFile, join(dir, 'weekly_report_2026-11-28.md'));
    assert.equal(files.htmlFile, join(dir, 'weekly_report_2026-11-28.html'));
    const md = readFileSync(files.markdownFile, 'utf8');
    for (const heading of ['## Recommended actions', '## Server operation', '## Learning activity', '## Errors and warnings']) {
      assert.ok(md.includes(heading), heading);
    }
    assert.match(md, /\| Availability \| 98\.21 % \| 99\.00 % \(NOT met\) \|/);
    assert.match(md, /crash ×1, restart ×1 \(planned\)/);
    assert.match(md, /`?mcp-starterctl diagnose`?/);

    const html = readFileSync(files.htmlFile, 'utf8');
    const doc = parse(html, { onParseError: (e) => assert.fail(`HTML parse error ${e.code} at line ${e.startLine}`) });
    const all = elements(doc);
    const svgs = all.filter((e) => e.tagName === 'svg');
    assert.equal(svgs.length, 3, 'availability, p95 and completions per day');
    const titles = svgs.map((s) => elements(s).find((e) => e.tagName === 'title'));
    assert.deepEqual(
      titles.map((ti) => (ti?.childNodes[0] as { value?: string } | undefined)?.value),
      ['Availability per day', 'Response time p95 per day', 'Tutorials completed per day'],
    );
    assert.equal(elements(svgs[0] as Element).filter((e) => e.tagName === 'rect').length, 7, 'a bar per day');
    assert.equal(all.filter((e) => e.tagName === 'script').length, 0);
    for (const e of all) {
      for (const attr of e.attrs) {
        if (attr.name === 'src' || attr.name === 'href') assert.fail(`external reference ${attr.name}=${attr.value}`);
      }
    }
    assert.deepEqual(
      all.filter((e) => e.tagName === 'h2').map((h) => (h.childNodes[0] as { value?: string }).value),
      ['Recommended actions', 'Server operation', 'Learning activity', 'Errors and warnings'],
    );
    assert.ok(!existsSync(`${files.htmlFile}.${process.pid}.tmp`));
  });
});
