import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { z } from 'zod';
import { learnersAdd, learnersList, learnersRevoke } from '../ctl/offline.js';
import { SSE_NOTE } from '../mcp-server/args.js';
import { writeActiveLearnersFile } from '../shared/emergency.js';
import { openLearningDb } from '../shared/learning-db.js';
import { dataPaths } from '../shared/paths.js';
import { ActiveLearnersRecord } from '../shared/schemas/emergency.js';
import { HealthBody, HttpErrorBody } from '../shared/schemas/http.js';
import { LearnersAddResult, LearnersListResult, LearnersRevokeResult } from '../shared/schemas/learners.js';
import {
  GetHintOutput,
  GetProgressOutput,
  GetStepOutput,
  ListTutorialsOutput,
  ResetProgressOutput,
  StartTutorialOutput,
  SubmitStepOutput,
  TOOL_ERROR_META_KEY,
  TOOL_OUTPUTS,
  ToolErrorMeta,
} from '../shared/schemas/tools.js';
import { SessionsStore } from '../shared/store/sessions.js';
import { UsersStore } from '../shared/store/users.js';
import { tutorialAnswers } from './catalog-answers.js';
import { ROOT, startHttpServer, tempDir, textOf, v1HttpClient, v2HttpClient, WAIT_MS, type RunningServer } from './helpers.js';

/** Parses with `schema` and checks the wire carried exactly the schema's keys. */
function exactly<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.parse(value);
  // Parsing strips unknown keys; comparing with the input shows there were none.
  assert.deepEqual(JSON.parse(JSON.stringify(parsed)), value, "no keys beyond the schema's");
  return parsed;
}

type ToolResult = { structuredContent?: unknown; isError?: unknown; _meta?: unknown; content?: unknown };

async function health(server: RunningServer): Promise<HealthBody> {
  const res = await fetch(`${server.base}/health`, { signal: AbortSignal.timeout(WAIT_MS) });
  assert.equal(res.status, 200);
  return exactly(HealthBody, await res.json());
}

const PROTOCOL = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': PROTOCOL,
  'io.modelcontextprotocol/clientInfo': { name: 'wire-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** A raw 2026-07-28 POST (headers and `_meta` envelope, as the v2 client sends them). */
function modernPost(url: URL, id: number, method: string, params: Record<string, unknown>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': PROTOCOL,
      'mcp-method': method,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: ENVELOPE } }),
    signal: AbortSignal.timeout(WAIT_MS),
  });
}

/** The JSON-RPC messages of an SSE body (`data:` lines). */
function sseMessages(body: string): unknown[] {
  return body
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => JSON.parse(l.slice(5)) as unknown);
}

const ListenAck = z.object({
  method: z.literal('notifications/subscriptions/acknowledged'),
  params: z.object({ notifications: z.record(z.string(), z.unknown()) }),
});
const ListenDone = z.object({ id: z.number(), result: z.object({ resultType: z.literal('complete') }) });

describe('tool results are the shared schemas', () => {
  test(
    'tools/list advertises each tool\u2019s output schema, and every success result matches it (v2, 2026-07-28)',
    { timeout: 60_000 },
    async (t) => {
      const server = await startHttpServer(t, { dataDir: tempDir(t) });
      const client = await v2HttpClient(t, server.url);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((x) => x.name).sort(), Object.keys(TOOL_OUTPUTS).sort());
      for (const tool of tools) {
        const schema = TOOL_OUTPUTS[tool.name as keyof typeof TOOL_OUTPUTS];
        assert.deepEqual(tool.outputSchema, z.toJSONSchema(schema, { io: 'output' }), `${tool.name}'s advertised outputSchema`);
      }

      const call = async (name: string, args: Record<string, unknown> = {}): Promise<unknown> => {
        const r: ToolResult = await client.callTool({ name, arguments: args });
        assert.notEqual(r.isError, true, `${name}: ${textOf(r)}`);
        return r.structuredContent;
      };
      const list = exactly(ListTutorialsOutput, await call('list_tutorials'));
      assert.ok(list.tutorials.length >= 6);
      const id = 'what-is-mcp';
      const { steps } = tutorialAnswers(id);
      assert.equal(exactly(StartTutorialOutput, await call('start_tutorial', { tutorial_id: id })).step.step, 1);
      assert.equal(exactly(GetStepOutput, await call('get_step', { tutorial_id: id })).step.tutorialId, id);
      assert.equal(exactly(GetHintOutput, await call('get_hint', { tutorial_id: id })).step, 1);
      for (const [i, s] of steps.entries()) {
        if (s.right !== undefined) {
          const wrong = exactly(SubmitStepOutput, await call('submit_step', { tutorial_id: id, answer: s.wrong }));
          assert.equal(wrong.correct, false);
        }
        const r = exactly(
          SubmitStepOutput,
          await call('submit_step', { tutorial_id: id, ...(s.right === undefined ? {} : { answer: s.right }) }),
        );
        assert.equal(r.completed, i === steps.length - 1);
      }
      const progress = exactly(GetProgressOutput, await call('get_progress'));
      assert.equal(progress.tutorials.find((x) => x.id === id)?.status, 'completed');
      assert.equal(exactly(ResetProgressOutput, await call('reset_progress', { tutorial_id: id })).reset, 1);
    },
  );

  test(
    'a tool error carries its code in _meta, and a v1 client that validates output schemas still shows it',
    { timeout: 60_000 },
    async (t) => {
      const server = await startHttpServer(t, { dataDir: tempDir(t) });
      for (const client of [await v2HttpClient(t, server.url), await v1HttpClient(t, server.url)]) {
        // listTools makes the v1 client check every later result against the tool's outputSchema.
        await client.listTools();
        const r: ToolResult = await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: 'no-such-tutorial' } });
        assert.equal(r.isError, true);
        assert.equal(r.structuredContent, undefined, 'an error result matches no output schema, so it sends no structuredContent');
        const error = ToolErrorMeta.parse(r._meta)[TOOL_ERROR_META_KEY];
        assert.equal(error.code, 'E_UNKNOWN_TUTORIAL');
        assert.equal(error.message, 'There is no tutorial "no-such-tutorial".');
        assert.match(textOf(r), /^There is no tutorial "no-such-tutorial"\.\nWhat to do: /);
        // A success through the same (validating) client.
        const ok: ToolResult = await client.callTool({ name: 'list_tutorials', arguments: {} });
        assert.ok(ListTutorialsOutput.parse(ok.structuredContent).tutorials.length >= 6);
      }
    },
  );
});

describe('HTTP bodies are the shared schemas', () => {
  test('GET /health answers a HealthBody, and an unknown path an HttpErrorBody', { timeout: 60_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const h = await health(server);
    assert.equal(h.status, 'ok');
    assert.deepEqual(h.database, { ok: true });
    const res = await fetch(`${server.base}/nope`, { signal: AbortSignal.timeout(WAIT_MS) });
    assert.equal(res.status, 404);
    const body = exactly(HttpErrorBody, await res.json());
    assert.equal(body.error.data.hint, 'The MCP endpoint is /mcp; /health reports status.');
  });
});

describe('subscriptions/listen holds no stream (SDK issue #2650)', () => {
  test('server/discover advertises no list changes and no resource subscriptions', { timeout: 60_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const client = await v2HttpClient(t, server.url);
    assert.equal(client.getNegotiatedProtocolVersion(), PROTOCOL);
    const caps = client.getServerCapabilities();
    assert.ok(caps?.tools && caps.resources && caps.prompts, JSON.stringify(caps));
    assert.notEqual(caps.tools.listChanged, true);
    assert.notEqual(caps.prompts.listChanged, true);
    assert.notEqual(caps.resources.listChanged, true);
    assert.notEqual(caps.resources.subscribe, true);
  });

  test('listen requests asking for every notification are acknowledged with nothing and closed at once', { timeout: 60_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t) });
    const filter = {
      toolsListChanged: true,
      promptsListChanged: true,
      resourcesListChanged: true,
      resourceSubscriptions: ['progress://me'],
    };
    // More than the server's stream cap would allow to stay open at once, were they held.
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await modernPost(server.url, i + 1, 'subscriptions/listen', { notifications: filter });
        // text() resolves only once the server has ended the response: a held stream fails the guard.
        return { status: res.status, body: await res.text() };
      }),
    );
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 200, a.body);
      const [ack, done, ...rest] = sseMessages(a.body);
      assert.deepEqual(ListenAck.parse(ack).params.notifications, {}, 'nothing is honoured');
      assert.equal(ListenDone.parse(done).id, i + 1);
      assert.deepEqual(rest, []);
    }
    const h = await health(server);
    assert.equal(h.openStreams, 0);
    assert.equal(h.inFlight, 0);
    // The server still serves requests.
    const client = await v2HttpClient(t, server.url);
    const ok: ToolResult = await client.callTool({ name: 'list_tutorials', arguments: {} });
    assert.ok(ListTutorialsOutput.parse(ok.structuredContent).tutorials.length > 0);
  });
});

describe('--transport sse', () => {
  test('is served as Streamable HTTP at /mcp, with a one-line note on stderr', { timeout: 60_000 }, async (t) => {
    const server = await startHttpServer(t, { dataDir: tempDir(t), args: ['--transport', 'sse'] });
    assert.ok(server.stderr.all.includes(SSE_NOTE), server.stderr.all.join('\n'));
    assert.equal(server.url.pathname, '/mcp');
    const client = await v2HttpClient(t, server.url);
    assert.ok((await client.listTools()).tools.some((x) => x.name === 'list_tutorials'));
  });
});

/** Runs mcp-starterctl from source; killed if it outlives the test. */
async function ctlJson(t: TestContext, args: readonly string[]): Promise<unknown> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCP_STARTER_')));
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'ctl', 'main.ts'), '--json', ...args], {
    cwd: ROOT,
    env: { ...clean, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let stdout = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  const [code] = (await once(proc, 'close')) as [number | null];
  assert.equal(code, 0, stdout);
  return JSON.parse(stdout);
}

describe('learners and the emergency record are the shared schemas', () => {
  test(
    'learners add, list and revoke answer LearnersAddResult, LearnersListResult and LearnersRevokeResult',
    { timeout: 60_000 },
    async (t) => {
      const dir = tempDir(t);
      const added = exactly(LearnersAddResult, await ctlJson(t, ['learners', 'add', 'alice', '--data-dir', dir]));
      assert.equal(added.learner.name, 'alice');
      assert.equal(added.learner.hasToken, true);
      const paths = dataPaths(dir);
      exactly(LearnersAddResult, JSON.parse(JSON.stringify(learnersAdd(paths, 'bob'))));
      const revoked = exactly(LearnersRevokeResult, JSON.parse(JSON.stringify(learnersRevoke(paths, 'ALICE'))));
      assert.equal(revoked.learner.name, 'alice', 'names compare without case');
      assert.notEqual(revoked.learner.revokedAt, null);
      const listed = exactly(LearnersListResult, JSON.parse(JSON.stringify(learnersList(paths))));
      assert.deepEqual(
        listed.learners.map((l) => [l.name, l.revokedAt !== null]),
        [
          ['alice', true],
          ['bob', false],
        ],
      );
    },
  );

  test('the emergency record lists the learners with an open session, as an ActiveLearnersRecord', { timeout: 60_000 }, (t) => {
    const dir = tempDir(t);
    const paths = dataPaths(dir);
    const db = openLearningDb(paths.learningDb);
    try {
      const users = new UsersStore(db);
      const sessions = new SessionsStore(db);
      const ann = users.ensureLocal('ann');
      const bea = users.ensureLocal('bea');
      sessions.open(ann.id, 'http', '2026-01-01T10:00:00.000Z');
      sessions.open(bea.id, 'stdio', '2026-01-01T11:00:00.000Z');
      sessions.end(sessions.open(bea.id, 'stdio', '2026-01-01T09:00:00.000Z'), '2026-01-01T09:30:00.000Z');
    } finally {
      db.close();
    }
    const file = writeActiveLearnersFile(dir, paths.learningDb, { reason: 'test', inFlight: 2, activeLearnersReported: 1 });
    const record = exactly(ActiveLearnersRecord, JSON.parse(readFileSync(file, 'utf8')));
    assert.deepEqual(record.learners, [
      { name: 'bea', sessionStartedAt: '2026-01-01T11:00:00.000Z', lastActivity: '2026-01-01T11:00:00.000Z' },
      { name: 'ann', sessionStartedAt: '2026-01-01T10:00:00.000Z', lastActivity: '2026-01-01T10:00:00.000Z' },
    ]);
    assert.equal(record.error, undefined);

    const missing = writeActiveLearnersFile(dir, join(dir, 'none.db'), { reason: 'test', inFlight: null, activeLearnersReported: null });
    const empty = exactly(ActiveLearnersRecord, JSON.parse(readFileSync(missing, 'utf8')));
    assert.deepEqual(empty.learners, []);
    assert.match(empty.error ?? '', /could not read active sessions/);
  });
});
