// Faults an unlucky operator meets (issue 11): a hung child, a disk that fails the daemon's writes,
// a hostile control-socket client. Each test bounds itself and cleans up what it started.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pidAlive, startDaemon, status, waitForStatus } from './daemon-helpers.js';
import { LineStream, tempDir, v2HttpClient, waitForLine, WAIT_MS } from './helpers.js';

const T = { timeout: 90_000 };

function healthOnce(url: string, ms = WAIT_MS): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(url.replace('/mcp', '/health'), { agent: false, timeout: ms }, (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ms} ms (hung)`)));
    req.on('error', reject);
  });
}

/** Reads notifications pushed on a control connection until it closes. */
function openRaw(socket: string): Promise<{ sock: ReturnType<typeof connect>; lines: LineStream }> {
  const sock = connect(socket);
  return once(sock, 'connect').then(() => ({ sock, lines: new LineStream(sock) }));
}

describe('a hung child', () => {
  test('a SIGSTOPped child is replaced within seconds and the requests sent during the hang are answered', T, async (t) => {
    const d = await startDaemon(t, tempDir(t), {
      // Only the hand-off watch can see this hang in time: the periodic probe is far away.
      MCP_STARTER_PROBE_INTERVAL_MS: '600000',
      MCP_STARTER_PROBE_HANDOFF_TIMEOUT_MS: '1000',
    });
    const s = await status(d.socket);
    const pid = s.child.pid ?? 0;
    t.after(() => {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    const fdsBefore = readdirSync(`/proc/${d.proc.pid ?? 0}/fd`).length;
    const t0 = performance.now();
    process.kill(pid, 'SIGSTOP');
    const answers = await Promise.all(Array.from({ length: 6 }, () => healthOnce(s.url)));
    const replacedMs = performance.now() - t0;
    assert.deepEqual(answers, [200, 200, 200, 200, 200, 200]);
    const after = await waitForStatus(d.socket, (x) => x.child.state === 'running' && x.child.pid !== pid);
    assert.equal(after.child.lastExit?.reason, 'hung');
    assert.ok(replacedMs < 15_000, `answered after ${Math.round(replacedMs)} ms`);
    // The daemon kept its copies of the connections the hung child never took, and let go of them after.
    const fdsAfter = readdirSync(`/proc/${d.proc.pid ?? 0}/fd`).length;
    assert.ok(fdsAfter <= fdsBefore + 2, `daemon fds ${fdsBefore} → ${fdsAfter}`);
  });
});

describe('a disk that fails the daemon', () => {
  test('a log file that cannot be written (ENOSPC) costs log lines, never the daemon or the server', T, async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    // /dev/full answers every write with ENOSPC: a full disk for this one file.
    symlinkSync('/dev/full', join(dir, 'logs', 'mcp-starterd.log'));
    const d = await startDaemon(t, dir);
    await waitForLine(d.stderr, (l) => (l.includes('cannot write the log file') && l.includes('ENOSPC') ? true : undefined));
    const s = await status(d.socket);
    assert.equal(s.alerts[0]?.rule, 'log_writes', 'status says why the log is silent');
    assert.match(s.alerts[0]?.hint ?? '', /df -h/);
    const client = await v2HttpClient(t, new URL(s.url));
    const tools = await client.listTools();
    assert.ok(tools.tools.length > 0);
    // A crash makes the daemon log a lot: it still restarts the server.
    process.kill(s.child.pid ?? 0, 'SIGKILL');
    const after = await waitForStatus(d.socket, (x) => x.child.state === 'running' && x.child.pid !== s.child.pid);
    assert.equal(after.child.restarts, 1);
    assert.equal(d.stderr.all.filter((l) => l.includes('cannot write the log file')).length, 1, 'said once, not per line');
    // Space comes back: the next lines reach a real file again and the alert clears by itself.
    unlinkSync(join(dir, 'logs', 'mcp-starterd.log'));
    // The next line logged (a tool call's) finds the file writable again.
    const again = await v2HttpClient(t, new URL(s.url));
    await again.callTool({ name: 'list_tutorials', arguments: {} });
    const recovered = await waitForStatus(d.socket, (x) => x.alerts.length === 0);
    assert.equal(recovered.child.state, 'running');
    assert.match(readFileSync(join(dir, 'logs', 'mcp-starterd.log'), 'utf8'), /"event":"log_resumed"/);
  });

  test('files the daemon creates in its data dir are private (0600), whatever the umask', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir, {});
    for (const file of ['mcp-starter.db', 'logs/mcp-starterd.log', 'mcp-starterd.pid', 'mcp-starter-server.pid']) {
      assert.equal((statSync(join(dir, file)).mode & 0o777).toString(8), '600', file);
    }
    assert.ok(d.proc.pid);
  });
});

describe('the control socket as hostile input', () => {
  test('null, a batch with null, a deeply nested id and an empty batch each get an answer; the daemon stays up', T, async (t) => {
    const d = await startDaemon(t, tempDir(t));
    const { sock, lines } = await openRaw(d.socket);
    t.after(() => sock.destroy());
    const deep = `${'{"a":'.repeat(4_200)}1${'}'.repeat(4_200)}`;
    sock.write('null\n');
    sock.write('[null,{"jsonrpc":"2.0","id":7,"method":"status"}]\n');
    sock.write(`{"jsonrpc":"2.0","id":${deep},"method":"status"}\n`);
    sock.write('[]\n');
    sock.write('{"jsonrpc":"2.0","id":9,"method":"status"}\n');
    // Answers come as each is ready (the batch waits for its slowest member): wait for all five.
    await waitForLine(lines, () => (lines.all.length >= 5 ? true : undefined));
    const answers = lines.all.map((l) => JSON.parse(l) as unknown);
    assert.equal(answers.length, 5, JSON.stringify(answers).slice(0, 500));
    const batch = answers.find((a) => Array.isArray(a)) as Array<{ id: unknown; error?: unknown; result?: unknown }>;
    assert.ok(Array.isArray(batch) && batch.length === 2);
    assert.ok(batch[0]?.error && batch[1]?.result);
    assert.equal((await status(d.socket)).child.state, 'running');
  });

  test('a subscriber that never reads is told and dropped; the daemon does not grow', T, async (t) => {
    const dir = tempDir(t);
    const d = await startDaemon(t, dir, { MCP_STARTER_CONTROL_MAX_SUBSCRIBER_BUFFER_BYTES: '16384' });
    const sock = connect(d.socket);
    t.after(() => sock.destroy());
    await once(sock, 'connect');
    sock.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { topics: ['logs', 'stats'] } })}\n`);
    sock.pause(); // never reads: the kernel's buffer fills, then the daemon's
    const s = await status(d.socket);
    const client = await v2HttpClient(t, new URL(s.url));
    const log = join(dir, 'logs', 'mcp-starterd.log');
    // Every call logs lines, pushed to the subscriber until the daemon gives up on it.
    for (let i = 0; i < 5_000; i++) {
      await client.callTool({ name: 'list_tutorials', arguments: {} });
      if (i % 20 === 19 && readFileSync(log, 'utf8').includes('"subscriber_dropped"')) break;
    }
    assert.match(readFileSync(log, 'utf8'), /"subscriber_dropped"/);
    const lines = new LineStream(sock);
    const closed = once(sock, 'close');
    sock.resume();
    await closed;
    const last = JSON.parse(lines.all.at(-1) ?? '{}') as { method?: string; params?: { reason?: string } };
    assert.equal(last.method, 'dropped');
    assert.match(last.params?.reason ?? '', /subscribe again/);
    assert.equal((await status(d.socket)).child.state, 'running');
  });
});
