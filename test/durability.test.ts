import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { startHttpServer, tempDir, v2HttpClient } from './helpers.js';

test('a submit_step acknowledged to the client survives a SIGKILL of the server', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const first = await startHttpServer(t, { dataDir: dir });
  const client = await v2HttpClient(t, first.url);
  await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: 'what-is-mcp' } });
  const ack = (await client.callTool({ name: 'submit_step', arguments: { tutorial_id: 'what-is-mcp' } })) as {
    structuredContent?: { next?: { step: number } };
  };
  assert.equal(ack.structuredContent?.next?.step, 2, 'the server acknowledged step 1');
  // The acknowledgement is all the client knows; kill at once, no chance to flush anything.
  const exited = once(first.proc, 'exit');
  first.proc.kill('SIGKILL');
  await exited;

  const second = await startHttpServer(t, { dataDir: dir });
  const again = await v2HttpClient(t, second.url);
  const p = (await again.callTool({ name: 'get_progress', arguments: { tutorial_id: 'what-is-mcp' } })) as {
    structuredContent?: { tutorials: Array<{ status: string; step: number }> };
  };
  assert.deepEqual(
    p.structuredContent?.tutorials.map((x) => [x.status, x.step]),
    [['in_progress', 2]],
  );
});
