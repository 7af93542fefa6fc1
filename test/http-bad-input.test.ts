import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { z } from 'zod';
import { openLearningDb } from '../shared/learning-db.js';
import { addLearner, revokeLearner } from '../shared/learners.js';
import { HealthBody, HttpErrorBody } from '../shared/schemas/http.js';
import {
  GetProgressOutput,
  StartTutorialOutput,
  SubmitStepOutput,
  TOOL_ERROR_META_KEY,
  ToolErrorMeta,
  type ToolError,
} from '../shared/schemas/tools.js';
import { version } from '../shared/version.js';
import {
  endProcess,
  LineStream,
  postMcp,
  ROOT,
  SERVER_MAIN,
  startHttpServer,
  tempDir,
  textOf,
  toolCallRequest,
  v1HttpClient,
  v2HttpClient,
  WAIT_MS,
  waitForLine,
  writeConfig,
  type RunningServer,
} from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Shapes the assertions parse (parse at the edge, no casts on what the server sent).

/** The bare JSON-RPC error the SDK's own HTTP checks answer with (no `data`). */
const SdkErrorBody = z.object({ error: z.object({ code: z.number().int(), message: z.string() }) });

/** The error of a tool error result raised by our tools (AppError): in `_meta`, not `structuredContent`. */
function toolErrorOf(result: { _meta?: unknown }): ToolError {
  return ToolErrorMeta.parse(result._meta)[TOOL_ERROR_META_KEY];
}

const ListeningLine = z.object({ event: z.literal('listening'), url: z.string() });

// ---------------------------------------------------------------------------------------------
// Local helpers.

/**
 * Starts one `mcp-starter-server --transport http --port 0` for a whole describe block (the
 * helpers' startHttpServer registers cleanup on a TestContext, which a `before` hook lacks).
 * Registers the block's `before` (start) and `after` (kill, remove the data dir).
 */
function sharedServer(config?: unknown): () => RunningServer & { dataDir: string } {
  let dataDir: string | undefined;
  let proc: ChildProcess | undefined;
  let server: (RunningServer & { dataDir: string }) | undefined;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mcp-starter-test-'));
    const args = config === undefined ? [] : ['--config', writeConfig(dataDir, config)];
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', SERVER_MAIN, '--transport', 'http', '--port', '0', '--data-dir', dataDir, ...args],
      { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc = child;
    const stderr = new LineStream(child.stderr);
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`server exited with ${String(code)} before listening:\n${stderr.all.join('\n')}`);
    });
    const url = await Promise.race([waitForLine(stderr, listeningUrl), exited]);
    server = { proc: child, url: new URL(url), base: url.replace(/\/mcp$/, ''), stderr, dataDir };
  });
  after(async () => {
    if (proc) await endProcess(proc);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return () => {
    assert.ok(server, 'the shared server did not start (see the before hook)');
    return server;
  };
}

function listeningUrl(line: string): string | undefined {
  try {
    const parsed = ListeningLine.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data.url : undefined;
  } catch {
    return undefined; // not a JSON log line
  }
}

async function errorBodyOf(res: Response): Promise<HttpErrorBody> {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return HttpErrorBody.parse(await res.json());
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A POST with node:http, because fetch forbids setting the Host header. */
function rawPost(base: URL, headers: Record<string, string>, body: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path: base.pathname,
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
        signal: AbortSignal.timeout(WAIT_MS),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * POSTs the start of `req`'s body with chunked encoding (no Content-Length), just past the
 * 256 KiB limit, and waits for the answer before sending more. The server closes the connection
 * once the limit is crossed, so a client that kept writing the rest would race it (EPIPE).
 */
function postChunkedPastLimit(base: URL, req: { headers: Record<string, string>; body: string }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const out = request(
      {
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path: base.pathname,
        headers: req.headers,
        signal: AbortSignal.timeout(WAIT_MS),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
          out.destroy(); // the rest of the body is never sent
        });
        res.on('error', reject);
      },
    );
    out.on('error', reject);
    out.write(req.body.slice(0, 300 * 1024));
  });
}

/** A tool result that is not an error (the SDK leaves `isError` out on success). */
function assertOk(result: object): void {
  assert.notEqual('isError' in result ? result.isError : undefined, true, textOf(result));
}

async function assertHealthy(server: RunningServer): Promise<void> {
  assert.equal(server.proc.exitCode, null, 'the server process exited');
  const res = await fetch(`${server.base}/health`);
  assert.equal(res.status, 200);
  assert.equal(HealthBody.parse(await res.json()).status, 'ok');
}

/** Adds a learner straight to the running server's database (the server looks tokens up per request). */
function addLearnerTo(dataDir: string, name: string): { name: string; token: string } {
  const db = openLearningDb(join(dataDir, 'mcp-starter.db'));
  try {
    const { learner, token } = addLearner(db, name);
    return { name: learner.name, token };
  } finally {
    db.close();
  }
}

function revokeLearnerIn(dataDir: string, name: string): void {
  const db = openLearningDb(join(dataDir, 'mcp-starter.db'));
  try {
    revokeLearner(db, name);
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------

describe('an HTTP server on loopback without auth', () => {
  const server = sharedServer();

  describe('tool arguments of the wrong type, missing, or naming unknown things', () => {
    it('rejects start_tutorial without tutorial_id with an isError result that shows an id to send', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'start_tutorial', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /tutorial_id must be a text id such as "what-is-mcp" \(list_tutorials shows them all\)/);
    });

    it('rejects a numeric tutorial_id with an isError result that asks for a text id', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: 42 } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /tutorial_id must be a text id such as "what-is-mcp"/);
    });

    it('rejects an empty tutorial_id with an isError result that says it is empty', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: '   ' } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /tutorial_id is empty: send an id such as "what-is-mcp"/);
    });

    it('answers an unknown tutorial_id with E_UNKNOWN_TUTORIAL and lists every valid id', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const list = await client.callTool({ name: 'list_tutorials', arguments: {} });
      const ids = z
        .object({ tutorials: z.array(z.object({ id: z.string() })) })
        .parse(list.structuredContent)
        .tutorials.map((x) => x.id);
      assert.ok(ids.length > 0);

      const r = await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: 'no-such-tutorial' } });
      assert.equal(r.isError, true);
      const error = toolErrorOf(r);
      assert.equal(error.code, 'E_UNKNOWN_TUTORIAL');
      assert.equal(error.message, 'There is no tutorial "no-such-tutorial".');
      assert.match(textOf(r), /^There is no tutorial "no-such-tutorial"\.\nWhat to do: Use one of these tutorial_id values: /);
      for (const id of ids) assert.ok(textOf(r).includes(`"${id}"`), `the message lists "${id}"`);
    });

    it('rejects get_step with step 0 and says steps are numbered from 1', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'get_step', arguments: { tutorial_id: 'what-is-mcp', step: 0 } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /steps are numbered from 1/);
    });

    it('rejects get_step with step 1.5 and asks for a whole number', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'get_step', arguments: { tutorial_id: 'what-is-mcp', step: 1.5 } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /step must be a whole number such as 1/);
    });

    it('rejects get_step with step "two" and asks for a whole number or no step at all', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'get_step', arguments: { tutorial_id: 'what-is-mcp', step: 'two' } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /step must be a whole number such as 1 \(leave it out for the step you are on\)/);
    });

    it('answers submit_step before start_tutorial with E_NOT_STARTED and says to call start_tutorial', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'submit_step', arguments: { tutorial_id: 'tools' } });
      assert.equal(r.isError, true);
      const error = toolErrorOf(r);
      assert.equal(error.code, 'E_NOT_STARTED');
      assert.equal(textOf(r), 'You have not started "tools" yet.\nWhat to do: Call start_tutorial with tutorial_id "tools" first.');
    });

    it('answers submit_step on a question step without an answer with E_ANSWER_REQUIRED and says how to answer', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const started = await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: 'what-is-mcp' } });
      assertOk(started);
      // Step 1 has no question; step 2 is multiple choice. `step: 1` keeps this repeatable.
      const first = await client.callTool({ name: 'submit_step', arguments: { tutorial_id: 'what-is-mcp', step: 1 } });
      assertOk(first);

      for (const args of [{ tutorial_id: 'what-is-mcp' }, { tutorial_id: 'what-is-mcp', answer: '   ' }]) {
        const r = await client.callTool({ name: 'submit_step', arguments: args });
        assert.equal(r.isError, true);
        const error = toolErrorOf(r);
        assert.equal(error.code, 'E_ANSWER_REQUIRED');
        assert.match(error.message, /^Step 2 asks a question: /);
        assert.equal(error.hint, 'Call submit_step with answer set to the letter of your choice, e.g. "A".');
        assert.match(textOf(r), /\nWhat to do: Call submit_step with answer set to the letter of your choice, e\.g\. "A"\.$/);
      }
    });

    it('rejects a numeric answer with an isError result that asks for text', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'submit_step', arguments: { tutorial_id: 'what-is-mcp', answer: 2 } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /answer must be text, such as "B" or "stdio"/);
    });

    it('answers get_step for a locked future step with E_WRONG_STEP and names the step to finish first', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const started = await client.callTool({ name: 'start_tutorial', arguments: { tutorial_id: 'resources' } });
      assertOk(started);
      const r = await client.callTool({ name: 'get_step', arguments: { tutorial_id: 'resources', step: 3 } });
      assert.equal(r.isError, true);
      const error = toolErrorOf(r);
      assert.equal(error.code, 'E_WRONG_STEP');
      assert.equal(error.message, 'Step 3 of "resources" is not unlocked yet; you are on step 1.');
      assert.equal(error.hint, 'Finish step 1 first (get_step shows it, submit_step completes it).');
    });

    it('refuses reset_progress without arguments and asks for confirm: true', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'reset_progress', arguments: {} });
      assert.equal(r.isError, true);
      const error = toolErrorOf(r);
      assert.equal(error.code, 'E_BAD_PARAMS');
      assert.equal(
        textOf(r),
        'Resetting every tutorial needs confirmation.\nWhat to do: Send tutorial_id to reset one tutorial, or confirm: true to reset all of them.',
      );
      // Nothing was reset: the tutorial started above is still in progress.
      const p = await client.callTool({ name: 'get_progress', arguments: { tutorial_id: 'resources' } });
      assert.equal(GetProgressOutput.parse(p.structuredContent).tutorials[0]?.status, 'in_progress');
    });

    it('rejects an unknown tool name as a protocol error (-32602), and the client keeps working', async (t) => {
      const client = await v2HttpClient(t, server().url);
      await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (err: unknown) => {
        assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
        assert.equal(err.code, -32602);
        assert.match(err.message, /no_such_tool/);
        return true;
      });
      const r = await client.callTool({ name: 'list_tutorials', arguments: {} });
      assertOk(r);
    });

    it('still answers GET /health with 200 after the bad tool arguments', async () => {
      await assertHealthy(server());
    });
  });

  describe('arguments too large', () => {
    // A tutorial nobody starts on this server: the calls below change no progress.
    const oneMegabyteAnswer = toolCallRequest('submit_step', { tutorial_id: 'first-tool', answer: 'x'.repeat(1024 * 1024) });

    it('answers a 1 MB tool argument with 413 and a JSON body that says to send shorter arguments', async () => {
      const { url } = server();
      // The same call with a short answer gets through: only the size differs.
      const small = await postMcp(url, toolCallRequest('submit_step', { tutorial_id: 'first-tool', answer: 'B' }));
      assert.equal(small.status, 200);
      await small.body?.cancel();

      const res = await postMcp(url, oneMegabyteAnswer);
      assert.equal(res.status, 413);
      assert.equal(res.headers.get('connection'), 'close');
      const body = await errorBodyOf(res);
      const bytes = Buffer.byteLength(oneMegabyteAnswer.body);
      assert.equal(body.error.data.message, `The request body (${bytes} bytes) is larger than the 262144-byte limit.`);
      assert.equal(body.error.data.hint, 'Send shorter arguments; answers are a letter or a few words.');
    });

    it('answers a body over the limit sent without Content-Length (chunked) with 413', async () => {
      const res = await postChunkedPastLimit(server().url, oneMegabyteAnswer);
      assert.equal(res.status, 413);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      const body = SdkErrorBody.parse(JSON.parse(res.body));
      assert.match(body.error.message, /262144 bytes/);
    });

    it('tells a chunked oversized body what to do, as it does when Content-Length is given', async () => {
      const res = await postChunkedPastLimit(server().url, oneMegabyteAnswer);
      assert.equal(res.status, 413);
      assert.equal(res.headers.connection, 'close');
      const body = HttpErrorBody.parse(JSON.parse(res.body));
      assert.equal(body.error.data.hint, 'Send shorter arguments; answers are a letter or a few words.');
    });

    it('rejects a 100 KB answer (under the body limit, over the 2000-character answer limit) with an isError result', async (t) => {
      const client = await v2HttpClient(t, server().url);
      const r = await client.callTool({ name: 'submit_step', arguments: { tutorial_id: 'first-tool', answer: 'x'.repeat(100 * 1024) } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /answer is too long: send a letter such as "B", or a word or two/);
    });

    it('still answers GET /health with 200 after the oversized requests', async () => {
      await assertHealthy(server());
    });
  });

  describe('malformed request bodies', () => {
    const headers = toolCallRequest('list_tutorials', {}).headers;
    const cases: Array<{ name: string; init: RequestInit; status: number; code: number; message?: RegExp }> = [
      { name: 'a body that is not JSON ({not json)', init: { headers, body: '{not json' }, status: 400, code: -32700 },
      { name: 'an empty body', init: { headers, body: '' }, status: 400, code: -32700 },
      { name: 'a JSON array of junk', init: { headers, body: '[1, "junk", null, {"foo": 2}]' }, status: 400, code: -32600 },
      { name: 'an empty JSON array', init: { headers, body: '[]' }, status: 400, code: -32600 },
      { name: 'a JSON number', init: { headers, body: '42' }, status: 400, code: -32600 },
      {
        name: 'a text/plain Content-Type (saying to send application/json)',
        init: { headers: { ...headers, 'content-type': 'text/plain' }, body: toolCallRequest('list_tutorials', {}).body },
        status: 415,
        code: -32000,
        message: /Content-Type must be application\/json/,
      },
    ];
    for (const c of cases) {
      it(`answers ${c.name} with ${c.status} and a JSON-RPC error`, async () => {
        const res = await fetch(server().url, { method: 'POST', ...c.init });
        assert.equal(res.status, c.status);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        const body = SdkErrorBody.parse(await res.json());
        assert.equal(body.error.code, c.code);
        if (c.message) assert.match(body.error.message, c.message);
      });
    }

    it('still answers GET /health with 200 after the malformed bodies', async () => {
      await assertHealthy(server());
    });
  });

  describe('Host and Origin checks', () => {
    const call = toolCallRequest('list_tutorials', {});

    it('refuses a Host header that is not a loopback name with 403', async () => {
      const res = await rawPost(server().url, { ...call.headers, host: 'evil.example' }, call.body);
      assert.equal(res.status, 403);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      const body = SdkErrorBody.parse(JSON.parse(res.body));
      assert.match(body.error.message, /evil\.example/);
    });

    it('refuses an Origin that is not a loopback origin with 403', async () => {
      const res = await rawPost(server().url, { ...call.headers, origin: 'http://evil.example' }, call.body);
      assert.equal(res.status, 403);
      const body = SdkErrorBody.parse(JSON.parse(res.body));
      assert.match(body.error.message, /evil\.example/);
    });

    it('tells the operator which setting admits another Host or Origin (allowedHosts / allowedOrigins)', async () => {
      const host = await rawPost(server().url, { ...call.headers, host: 'evil.example' }, call.body);
      assert.equal(host.status, 403);
      assert.match(host.body, /server\.allowedHosts/);
      const origin = await rawPost(server().url, { ...call.headers, origin: 'http://evil.example' }, call.body);
      assert.equal(origin.status, 403);
      assert.match(origin.body, /server\.allowedOrigins/);
    });

    it("serves a request from the loopback Origin http://localhost:PORT (the server's own port)", async () => {
      const { url } = server();
      const res = await rawPost(url, { ...call.headers, origin: `http://localhost:${url.port}` }, call.body);
      assert.equal(res.status, 200);
      assert.match(res.body, /tutorials about MCP/);
    });

    it('refuses a loopback Origin on another port (a page another local program serves) with 403 (issue 11)', async () => {
      const { url } = server();
      for (const origin of ['http://localhost', `http://127.0.0.1:${Number(url.port) + 1}`]) {
        const res = await rawPost(url, { ...call.headers, origin }, call.body);
        assert.equal(res.status, 403, origin);
        const body = HttpErrorBody.parse(JSON.parse(res.body));
        assert.match(body.error.data.message, /Invalid Origin/);
        assert.match(body.error.data.hint, /server\.allowedOrigins/);
      }
    });

    it('serves a request with Host localhost:PORT and the matching Origin', async () => {
      const { url } = server();
      const res = await rawPost(url, { ...call.headers, host: `localhost:${url.port}`, origin: `http://localhost:${url.port}` }, call.body);
      assert.equal(res.status, 200);
    });

    it('still answers GET /health with 200 after the refused Host and Origin', async () => {
      await assertHealthy(server());
    });
  });

  describe('/health and unknown paths', () => {
    it('answers GET /health with status ok, version, uptime, in-flight count, database, tutorials and active learners', async () => {
      const res = await fetch(`${server().base}/health`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const health = HealthBody.parse(await res.json());
      assert.equal(health.status, 'ok');
      assert.equal(health.version, version());
      assert.equal(health.database.ok, true);
      assert.ok((health.tutorials ?? 0) > 0);
      // The earlier groups' tool calls made the local learner active.
      assert.ok(health.activeLearners >= 1);
    });

    it('answers HEAD /health with 200 and no body', async () => {
      const res = await fetch(`${server().base}/health`, { method: 'HEAD' });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '');
    });

    it('answers POST /health with 405, Allow: GET, HEAD and a message saying so', async () => {
      const res = await fetch(`${server().base}/health`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      const body = await errorBodyOf(res);
      assert.equal(body.error.data.message, 'POST is not allowed on /health.');
      assert.equal(body.error.data.hint, 'Use GET or HEAD.');
    });

    it('answers GET /nope with 404 and a JSON message naming /mcp', async () => {
      const res = await fetch(`${server().base}/nope`);
      assert.equal(res.status, 404);
      const body = await errorBodyOf(res);
      assert.equal(body.error.data.message, 'Nothing at /nope.');
      assert.match(body.error.message, /The MCP endpoint is \/mcp/);
    });

    it('still answers GET /health with 200 after the wrong methods and paths', async () => {
      await assertHealthy(server());
    });
  });
});

describe('binding a non-loopback address', () => {
  it('refuses --host 0.0.0.0 without requireAuth: exits with code 2 and names the fix on stderr', async (t) => {
    const dataDir = tempDir(t);
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', SERVER_MAIN, '--transport', 'http', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir],
      { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.after(() => endProcess(proc));
    const stderr = new LineStream(proc.stderr);
    // 'close' (not 'exit') so that stderr has been read to the end.
    const [code, signal] = (await once(proc, 'close', { signal: AbortSignal.timeout(WAIT_MS) })) as [number | null, NodeJS.Signals | null];
    const text = stderr.all.join('\n');
    assert.equal(signal, null);
    assert.equal(code, 2, text);
    assert.match(text, /Refusing to serve on 0\.0\.0\.0 without authentication\./);
    assert.match(text, /"requireAuth": true/);
    assert.match(text, /mcp-starterctl learners add/);
    assert.ok(!stderr.events().some((e) => e['event'] === 'listening'), 'it never listened');
  });

  it('refuses 0.0.0.0 with requireAuth but no allowedHosts, naming the setting (it would refuse every Host)', async (t) => {
    const dataDir = tempDir(t);
    const config = writeConfig(dataDir, { server: { host: '0.0.0.0', requireAuth: true } });
    await assert.rejects(startHttpServer(t, { dataDir, args: ['--config', config] }), /exited with 2[\s\S]*allowedHosts/);
  });

  it('serves a valid token on 0.0.0.0 with requireAuth and the Host listed in allowedHosts', async (t) => {
    const dataDir = tempDir(t);
    const config = writeConfig(dataDir, { server: { host: '0.0.0.0', requireAuth: true, allowedHosts: ['127.0.0.1'] } });
    const server = await startHttpServer(t, { dataDir, args: ['--config', config] });
    const learner = addLearnerTo(dataDir, 'remote-learner');
    const res = await postMcp(new URL(`http://127.0.0.1:${server.url.port}/mcp`), toolCallRequest('list_tutorials', {}, learner.token));
    assert.equal(res.status, 200, await res.text());
  });
});

describe('an HTTP server with requireAuth', () => {
  const server = sharedServer({ server: { requireAuth: true } });

  describe('bearer tokens', () => {
    const call = toolCallRequest('list_tutorials', {});

    it('refuses a request without a token with 401 and says how to get one', async () => {
      const res = await postMcp(server().url, call);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="mcp-starter"');
      const body = await errorBodyOf(res);
      assert.equal(body.error.data.message, 'This server needs a learner token.');
      assert.match(body.error.data.hint, /Authorization: Bearer <token>/);
      assert.match(body.error.data.hint, /mcp-starterctl learners add NAME/);
    });

    it('makes the v2 client fail to connect without a token, naming HTTP 401', async (t) => {
      const client = new Client({ name: 'no-token', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
      t.after(() => client.close());
      await assert.rejects(client.connect(new StreamableHTTPClientTransport(server().url)), /401/);
    });

    it('refuses an unknown token with 401', async () => {
      const res = await postMcp(server().url, { ...call, headers: { ...call.headers, authorization: 'Bearer mcps_not-a-real-token' } });
      assert.equal(res.status, 401);
      const body = await errorBodyOf(res);
      assert.match(body.error.message, /The bearer token was not accepted/);
      assert.match(body.error.data.hint, /mcp-starterctl learners add NAME/);
    });

    it('refuses a header that is not "Bearer <token>" with 401', async () => {
      const res = await postMcp(server().url, { ...call, headers: { ...call.headers, authorization: 'Basic dXNlcjpwYXNz' } });
      assert.equal(res.status, 401);
      assert.match((await errorBodyOf(res)).error.message, /not a "Bearer <token>" header/);
    });

    it('refuses a token with 401 as soon as it is revoked', async () => {
      const { url, dataDir } = server();
      const learner = addLearnerTo(dataDir, 'revoked-learner');
      const accepted = await postMcp(url, toolCallRequest('list_tutorials', {}, learner.token));
      assert.equal(accepted.status, 200);
      await accepted.body?.cancel();

      revokeLearnerIn(dataDir, learner.name);
      const res = await postMcp(url, toolCallRequest('list_tutorials', {}, learner.token));
      assert.equal(res.status, 401);
      assert.match((await errorBodyOf(res)).error.message, /revoked/);
    });

    it('serves a valid token to the v2 client as that learner', async (t) => {
      const { url, dataDir } = server();
      const learner = addLearnerTo(dataDir, 'v2-learner');
      const client = await v2HttpClient(t, url, learner.token);
      const r = await client.callTool({ name: 'get_progress', arguments: {} });
      assertOk(r);
      assert.equal(GetProgressOutput.parse(r.structuredContent).learner, 'v2-learner');
      assert.match(textOf(r), /^Progress for v2-learner: /);
    });

    it('serves a valid token to the v1 client (2025 protocol) as that learner', async (t) => {
      const { url, dataDir } = server();
      const learner = addLearnerTo(dataDir, 'v1-learner');
      const client = await v1HttpClient(t, url, learner.token);
      const r = await client.callTool({ name: 'get_progress', arguments: {} });
      assertOk(r);
      assert.equal(GetProgressOutput.parse(r.structuredContent).learner, 'v1-learner');
      assert.match(textOf(r), /^Progress for v1-learner: /);
    });

    it('still answers GET /health with 200 (no token needed) after the refused tokens', async () => {
      await assertHealthy(server());
    });
  });

  describe('learners with different tokens', () => {
    it("never shows one learner's progress to another", async (t) => {
      const { url, dataDir } = server();
      const ada = addLearnerTo(dataDir, 'ada');
      const grace = addLearnerTo(dataDir, 'grace');
      const a = await v2HttpClient(t, url, ada.token);
      const b = await v2HttpClient(t, url, grace.token);
      const tutorial = { tutorial_id: 'what-is-mcp' };
      const progressOf = async (client: typeof a) => {
        const r = await client.callTool({ name: 'get_progress', arguments: tutorial });
        assertOk(r);
        const p = GetProgressOutput.parse(r.structuredContent);
        assert.equal(p.tutorials.length, 1);
        return { p, row: p.tutorials[0], text: textOf(r) };
      };

      // Ada starts and reaches step 3 (step 1 has no question; step 2's answer is C).
      assert.equal(
        StartTutorialOutput.parse((await a.callTool({ name: 'start_tutorial', arguments: tutorial })).structuredContent).step.step,
        1,
      );
      assertOk(await a.callTool({ name: 'submit_step', arguments: tutorial }));
      const second = await a.callTool({ name: 'submit_step', arguments: { ...tutorial, answer: 'C' } });
      assert.equal(SubmitStepOutput.parse(second.structuredContent).correct, true, textOf(second));
      const adaBefore = await progressOf(a);
      assert.equal(adaBefore.p.learner, 'ada');
      assert.deepEqual([adaBefore.row?.status, adaBefore.row?.step], ['in_progress', 3]);

      // Grace sees the tutorial as not started, and starting it begins at step 1.
      const graceFirst = await progressOf(b);
      assert.equal(graceFirst.p.learner, 'grace');
      assert.deepEqual([graceFirst.row?.status, graceFirst.row?.step], ['not_started', null]);
      assert.match(graceFirst.text, /^Progress for grace: 0 completed, 0 in progress, 1 not started\./);
      const graceStart = await b.callTool({ name: 'start_tutorial', arguments: tutorial });
      const started = StartTutorialOutput.parse(graceStart.structuredContent);
      assert.deepEqual([started.resumed, started.alreadyCompleted, started.step.step], [false, false, 1]);
      assert.match(textOf(graceStart), /^Started "What is MCP\?"\./);
      assertOk(await b.callTool({ name: 'submit_step', arguments: { ...tutorial, step: 1 } }));

      // Grace's start and submit left Ada where she was, and the other way round.
      const adaAfter = await progressOf(a);
      assert.deepEqual([adaAfter.row?.status, adaAfter.row?.step], ['in_progress', 3]);
      assert.match(adaAfter.text, /step 3\/5/);
      const graceAfter = await progressOf(b);
      assert.deepEqual([graceAfter.row?.status, graceAfter.row?.step], ['in_progress', 2]);
      assert.match(graceAfter.text, /step 2\/5/);
    });

    it('lets no learner name another learner in a tool argument', async (t) => {
      const { url, dataDir } = server();
      const mallory = addLearnerTo(dataDir, 'mallory');
      const client = await v2HttpClient(t, url, mallory.token);
      const r = await client.callTool({ name: 'get_progress', arguments: { learner: 'ada' } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /unknown argument "learner"/);
      assert.match(textOf(r), /get_progress takes: tutorial_id/);
      assert.doesNotMatch(textOf(r), /Progress for ada/);
    });

    it('still answers GET /health with 200 after the learners worked side by side', async () => {
      await assertHealthy(server());
    });
  });
});
