// `restart` of a running server is a handover (issue 11): the new process serves before the old one goes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { RestartResult } from '../shared/schemas/rpc.js';
import { DaemonWatch, FIXTURES, pidAlive, rpc, startDaemon, status } from './daemon-helpers.js';
import { tempDir, v2HttpClient } from './helpers.js';

const T = { timeout: 90_000 };

describe('restart as a handover', () => {
  test('a new server takes over before the old one goes; the answer comes once the old one has drained and exited', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const before = await status(d.socket);
    const oldPid = before.child.pid;
    assert.ok(oldPid !== null);
    const watch = new DaemonWatch(d.socket);
    t.after(() => watch.close());
    const answer = rpc(d.socket, 'restart', {}, 60_000);
    // The handover is a state: the old server serves while the new one starts beside it.
    const during = await watch.until((s) => s.child.state === 'reloading' && s.operation?.name === 'restart');
    assert.equal(during.child.pid, oldPid, 'the old server still serves');
    const r = await answer;
    const result = RestartResult.parse(r.result);
    assert.equal(result.stop.was, 'running');
    assert.equal(result.stop.drained, true, 'nothing was cut');
    assert.equal(result.stop.killed, false);
    assert.equal(result.child.state, 'running');
    assert.notEqual(result.child.pid, oldPid);
    assert.equal(pidAlive(oldPid), false, 'the old server is gone when restart answers');
    const after = await status(d.socket);
    assert.deepEqual(after.child.otherPids, []);
    assert.equal(after.availability.h24, 1, 'an operator’s restart is never down time');
    const client = await v2HttpClient(t, new URL(after.url));
    assert.ok((await client.listTools()).tools.length > 0);
  });

  test('a restart whose new server fails its probe is refused and the old one keeps serving', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir, {
      MCP_STARTERD_CHILD: join(FIXTURES, 'fail-when-marked.ts'),
      MCP_STARTER_RESTART_READY_TIMEOUT_MS: '8000',
    });
    const before = await status(d.socket);
    writeFileSync(join(dir, 'broken'), '');
    const r = await rpc(d.socket, 'restart', {}, 60_000);
    assert.equal(r.error?.data?.code, 'E_CHILD_STATE', JSON.stringify(r));
    assert.match(r.error?.message ?? '', /Restart failed, the old server keeps serving/);
    assert.match(r.error?.data?.hint ?? '', /restart --force/);
    const after = await status(d.socket);
    assert.equal(after.child.state, 'running');
    assert.equal(after.child.pid, before.child.pid);
    assert.deepEqual(after.child.otherPids, [], 'the failed new server is gone');
  });
});
