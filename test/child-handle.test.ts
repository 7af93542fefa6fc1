// The daemon's handle on one server child: the hand-over stall signal tells a busy child from a stuck one.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ChildHandle } from '../daemon/supervisor/child.js';
import { createLogger } from '../shared/logger.js';
import { ChildMessage } from '../shared/schemas/ipc.js';
import { endProcess, ROOT, WAIT_MS } from './helpers.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'slow-accept.ts');

async function startChild(t: TestContext, env: Record<string, string>, stallAfterMs: number): Promise<ChildHandle> {
  const log = createLogger({ name: 'test', level: 'silent' });
  const child = new ChildHandle(
    { modulePath: FIXTURE, args: [], execArgv: ['--import', 'tsx'], env: { ...process.env, ...env } },
    log,
    () => undefined,
    stallAfterMs,
  );
  t.after(() => endProcess(child.proc));
  await child.waitReady(AbortSignal.timeout(WAIT_MS));
  return child;
}

/** `count` server-side sockets of real loopback connections, to hand over. */
async function acceptedSockets(t: TestContext, count: number): Promise<Socket[]> {
  const server = createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted: Socket[] = [];
  const all = new Promise<void>((resolve) =>
    server.on('connection', (s) => {
      accepted.push(s);
      if (accepted.length === count) resolve();
    }),
  );
  const clients = Array.from({ length: count }, () => connect(port, '127.0.0.1'));
  t.after(() => {
    for (const c of clients) c.destroy();
    for (const s of accepted) s.destroy();
    server.close();
  });
  await all;
  return accepted;
}

/** Resolves after `n` `accepted` confirmations from the child. */
function confirmations(child: ChildHandle, n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    child.proc.on('message', (raw: unknown) => {
      if (ChildMessage.safeParse(raw).data?.type === 'accepted' && ++seen === n) resolve();
    });
  });
}

test('a child taking a burst of connections one by one is busy, not stalled', { timeout: 30_000 }, async (t) => {
  // Six connections at once, one confirmed every 250 ms: the last waits 1.5 s, three times the
  // stall limit, but the child never goes 500 ms without taking one.
  const child = await startChild(t, { ACCEPT_EVERY_MS: '250' }, 500);
  let stalled = 0;
  child.on('stalled', () => stalled++);
  const done = confirmations(child, 6);
  for (const socket of await acceptedSockets(t, 6)) await child.handOver(socket);
  await done;
  assert.equal(stalled, 0, 'no stall reported while the child kept taking connections');
  assert.deepEqual(child.takeBack(), [], 'every connection was confirmed');
});

test('a child that stops taking connections is reported stalled, with what waits', { timeout: 30_000 }, async (t) => {
  const child = await startChild(t, { ACCEPT_EVERY_MS: '50', ACCEPT_LIMIT: '2' }, 500);
  const sockets = await acceptedSockets(t, 4);
  const stalled = once(child, 'stalled') as Promise<[{ oldestMs: number; count: number }]>;
  for (const socket of sockets) await child.handOver(socket);
  const [stall] = await stalled;
  assert.equal(stall.count, 2, 'the two connections it never took');
  assert.ok(stall.oldestMs >= 500, `waited ${stall.oldestMs} ms`);
  assert.equal(child.takeBack().length, 2, 'they are the daemon’s to give to the next child');
});
