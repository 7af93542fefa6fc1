import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { parse } from 'parse5';
import { OptimizeResult, ReportWeeklyResult, type StatusResult } from '../shared/schemas/rpc.js';
import { ctl } from './ctl-helpers.js';
import { rpc, startDaemon, status, subscription } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

const T = { timeout: 90_000 };

/** A GET on a keep-alive connection of its own; resolves with the status and the agent's socket. */
async function keepAliveGet(url: URL, path: string, headers: Record<string, string> = {}): Promise<{ status: number; agent: Agent }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, agent, headers }, resolve);
    req.on('error', reject);
    req.end();
  });
  res.resume();
  await once(res, 'end');
  return { status: res.statusCode ?? 0, agent };
}

describe('ctl optimize (manual 3.2: database, memory, cache, connections)', () => {
  test('every part runs and says what it did; an idle keep-alive connection is closed', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const url = new URL((await status(d.socket)).url);
    const { status: code, agent } = await keepAliveGet(url, '/health');
    t.after(() => agent.destroy());
    assert.equal(code, 200);
    const socket = Object.values(agent.freeSockets).flat()[0];
    assert.ok(socket, 'the connection stays open, idle');
    const closed = once(socket, 'close');
    // A precondition, not a synchronisation: optimize closes only connections idle over a second.
    await delay(1_200);
    const run = await ctl(t, ['--data-dir', dir, 'optimize', '--json']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const r = OptimizeResult.parse(JSON.parse(run.stdout));
    assert.deepEqual(
      r.parts.map((p) => [p.part, p.ok]),
      [
        ['database', true],
        ['memory', true],
        ['cache', true],
        ['connections', true],
      ],
    );
    assert.equal(r.server?.gcRan, true, 'the server runs with --expose-gc');
    assert.ok((r.server?.idleConnectionsClosed ?? 0) >= 1);
    assert.equal(r.server?.sqliteCacheReleased, true);
    assert.ok(r.database !== null && r.database.learning.steps.length > 0);
    await closed;
    const human = await ctl(t, ['--data-dir', dir, 'optimize']);
    assert.match(human.stdout, /memory\s+garbage collected: heap [\d.]+ MB → [\d.]+ MB/);
    assert.match(human.stdout, /connections\s+\d+ idle keep-alive connections? closed/);
  });

  test('with the server stopped the server parts say why and exit 1; the database part still runs', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    assert.ok((await rpc(d.socket, 'stop', {})).result);
    const run = await ctl(t, ['--data-dir', dir, 'optimize', '--json']);
    assert.equal(run.code, 1);
    const r = OptimizeResult.parse(JSON.parse(run.stdout));
    assert.equal(r.parts.find((p) => p.part === 'database')?.ok, true);
    for (const part of ['memory', 'cache', 'connections'] as const) {
      const p = r.parts.find((x) => x.part === part);
      assert.equal(p?.ok, false);
      assert.match(p?.summary ?? '', /no server is running: start it with `mcp-starterctl start`/);
    }
    assert.equal(r.server, null);
  });
});

describe('the weekly report through the daemon', () => {
  test('ctl report weekly writes the Markdown and HTML files and prints the recommended actions; the job does the same', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir);
    const today = new Date().toISOString().slice(0, 10);
    const run = await ctl(t, ['--data-dir', dir, 'report', 'weekly', '--date', today, '--json']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const r = ReportWeeklyResult.parse(JSON.parse(run.stdout));
    assert.equal(r.report.to, today);
    assert.ok(existsSync(r.markdownFile) && existsSync(r.htmlFile));
    assert.ok(r.report.learning !== null, r.report.notes.join('\n'));
    assert.ok(r.report.learning.tutorials.length > 0, 'the seeded tutorials');
    const html = readFileSync(r.htmlFile, 'utf8');
    assert.equal(html.match(/<svg /g)?.length, 3);
    assert.ok(parse(html));
    const shown = await ctl(t, ['--data-dir', dir, 'report', 'weekly', '--date', today]);
    assert.match(shown.stdout, /Recommended actions:/);
    assert.match(shown.stdout, /Full report: .*weekly_report_\d{4}-\d{2}-\d{2}\.html/);
    const bad = await ctl(t, ['--data-dir', dir, 'report', 'weekly', '--date', '2026-02-30']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--date 2026-02-30 is not a day/);
    const job = await rpc<{ ok: boolean; summary: string }>(d.socket, 'jobs.run', { name: 'weekly-report' });
    assert.equal(job.result?.ok, true, JSON.stringify(job));
    assert.match(job.result?.summary ?? '', /availability .*; wrote .*weekly_report_\d{4}-\d{2}-\d{2}\.md and .*\.html/);
  });
});

describe('refusals are logged for ctl diagnose', () => {
  test('a request with a Host that is not allowed is logged once as request_refused (reason host)', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const s: StatusResult = await status(d.socket);
    const url = new URL(s.url);
    const seen = await subscription(d.socket, 'logs', (p) => {
      const line = (p as { line: string }).line;
      return line.includes('"event":"request_refused"') && line.includes('"reason":"host"');
    });
    const { status: code, agent } = await keepAliveGet(url, '/mcp', { host: 'evil.example:80' });
    agent.destroy();
    assert.equal(code, 403);
    const line = JSON.parse(((await seen.found) as { line: string }).line) as { offender: string; host: string };
    assert.equal(line.host, 'evil.example:80');
    assert.match(line.offender, /127\.0\.0\.1/);
  });
});
