import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { JobsListResult, StatusResult } from '../shared/schemas/rpc.js';
import { ctl } from './ctl-helpers.js';
import { inState, rpc, spawnDaemon, status, subscription, waitForStatus } from './daemon-helpers.js';
import { freePort, tempDir, writeConfig } from './helpers.js';

const T = { timeout: 90_000 };

async function scrape(port: number): Promise<number | string> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).status;
  } catch (err) {
    return String((err as { cause?: { code?: string } }).cause?.code ?? err);
  }
}

describe('minimal mode (DESIGN: mcp-starterd --minimal; ctl start returns to normal)', () => {
  test(
    '--minimal: server at debug, no schedules, no Prometheus; start hands over to a normal server and brings them back',
    T,
    async (t) => {
      const dir = tempDir(t);
      const port = await freePort();
      const d = spawnDaemon(t, join(dir, 'data'), { MCP_STARTER_CONFIG: writeConfig(dir, { prometheus: { port } }) }, ['--minimal']);
      const before = StatusResult.parse(await waitForStatus(d.socket, inState('running')));
      assert.equal(before.mode, 'minimal');
      // The server's probe tool calls are debug lines: only a server logging at debug writes them.
      const probeLine = await subscription(d.socket, 'logs', (p) => {
        const line = (p as { line: string }).line;
        return line.includes('"event":"tool_call"') && line.includes('"probe":true');
      });
      await probeLine.found;
      const jobs = JobsListResult.parse((await rpc(d.socket, 'jobs.list')).result);
      assert.ok(
        jobs.every((j) => j.nextRun === null),
        'no job is scheduled',
      );
      assert.equal(await scrape(port), 'ECONNREFUSED', 'no Prometheus endpoint');
      const shown = await ctl(t, ['--data-dir', join(dir, 'data'), 'status']);
      assert.match(shown.stdout, /minimal \(recovery\)/);
      assert.match(shown.stdout, /mcp-starterctl start/);

      const started = await ctl(t, ['--data-dir', join(dir, 'data'), 'start', '--json']);
      assert.equal(started.code, 0, started.stderr);
      const after = await status(d.socket);
      assert.equal(after.mode, 'normal');
      assert.equal(after.child.state, 'running');
      assert.notEqual(after.child.pid, before.child.pid, 'the server was handed over to one at the configured log level');
      const jobsAfter = JobsListResult.parse((await rpc(d.socket, 'jobs.list')).result);
      assert.ok(
        jobsAfter.every((j) => j.nextRun !== null),
        'the schedules are back',
      );
      assert.equal(await scrape(port), 200, 'Prometheus is back');
      // start in normal mode changes nothing
      const again = await rpc(d.socket, 'start');
      assert.equal((await status(d.socket)).child.pid, after.child.pid, JSON.stringify(again));
    },
  );

  test('a daemon started normally says so', T, async (t) => {
    const d = spawnDaemon(t, join(tempDir(t), 'data'));
    assert.equal((await waitForStatus(d.socket, inState('running'))).mode, 'normal');
  });
});
