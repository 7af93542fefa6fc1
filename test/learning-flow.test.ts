import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { z } from 'zod';
import {
  GetHintOutput,
  GetProgressOutput,
  GetStepOutput,
  ResetProgressOutput,
  StartTutorialOutput,
  SubmitStepOutput,
} from '../shared/schemas/tools.js';
import { tutorialAnswers } from './catalog-answers.js';
import { ROOT, SERVER_MAIN, startHttpServer, tempDir, textOf, v1HttpClient, v2HttpClient } from './helpers.js';
import { RecordingStdioTransport } from './stdio-recorder.js';

/** The calls both SDK generations share; results are checked structurally. */
interface AnyClient {
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  listTools(): Promise<{ tools: Array<{ name: string }> }>;
  listResources(): Promise<{ resources: Array<{ uri: string }> }>;
  listResourceTemplates(): Promise<{ resourceTemplates: Array<{ uriTemplate: string }> }>;
  readResource(params: { uri: string }): Promise<{ contents: Array<{ uri: string; text?: unknown }> }>;
  listPrompts(): Promise<{ prompts: Array<{ name: string }> }>;
  getPrompt(params: { name: string; arguments?: Record<string, string> }): Promise<{ messages: Array<{ content: unknown }> }>;
}

type Structured = Record<string, unknown> & { structuredContent?: unknown; isError?: boolean };

async function call(client: AnyClient, name: string, args: Record<string, unknown> = {}): Promise<Structured> {
  return (await client.callTool({ name, arguments: args })) as Structured;
}

/** A success result's `structuredContent`, parsed with the tool's shared output schema. */
function data<S extends z.ZodType>(schema: S, result: Structured): z.output<S> {
  assert.ok(result.structuredContent, `no structuredContent in ${JSON.stringify(result)}`);
  return schema.parse(result.structuredContent);
}

async function checkSurface(client: AnyClient): Promise<void> {
  const tools = (await client.listTools()).tools.map((t) => t.name).sort();
  assert.deepEqual(tools, ['get_hint', 'get_progress', 'get_step', 'list_tutorials', 'reset_progress', 'start_tutorial', 'submit_step']);
  const resources = (await client.listResources()).resources.map((r) => r.uri);
  assert.ok(resources.includes('tutorials://catalog'), resources.join());
  assert.ok(resources.includes('progress://me'), resources.join());
  assert.ok(resources.includes('tutorial://what-is-mcp'), 'the tutorial template lists each tutorial');
  assert.deepEqual(
    (await client.listResourceTemplates()).resourceTemplates.map((r) => r.uriTemplate),
    ['tutorial://{id}'],
  );
  assert.deepEqual((await client.listPrompts()).prompts.map((p) => p.name).sort(), ['explain_concept', 'quiz_me']);
  const prompt = await client.getPrompt({ name: 'explain_concept', arguments: { concept: 'resources' } });
  assert.match(JSON.stringify(prompt.messages), /resources/);
  const quiz = await client.getPrompt({ name: 'quiz_me', arguments: { tutorial_id: 'tools' } });
  assert.match(JSON.stringify(quiz.messages), /one question at a time/);
  const tutorial = await client.readResource({ uri: 'tutorial://tools' });
  assert.match(String(tutorial.contents[0]?.text), /## Step 1/);
}

/** Walks a whole tutorial: a wrong answer first (hint, no progress), then every right answer to completion. */
async function walkTutorial(client: AnyClient, id: string): Promise<void> {
  const { steps } = tutorialAnswers(id);
  const started = data(StartTutorialOutput, await call(client, 'start_tutorial', { tutorial_id: id }));
  assert.equal(started.step.step, 1);
  let triedWrong = false;
  for (const [i, s] of steps.entries()) {
    if (s.right !== undefined && !triedWrong) {
      const wrong = await call(client, 'submit_step', { tutorial_id: id, answer: s.wrong });
      assert.equal(wrong.isError, undefined, 'a wrong answer is an answer, not an error');
      assert.equal(data(SubmitStepOutput, wrong).correct, false);
      assert.match(textOf(wrong), /Hint:/);
      const still = data(GetStepOutput, await call(client, 'get_step', { tutorial_id: id }));
      assert.equal(still.step.step, i + 1, 'a wrong answer does not advance');
      triedWrong = true;
    }
    const r = data(
      SubmitStepOutput,
      await call(client, 'submit_step', { tutorial_id: id, ...(s.right !== undefined ? { answer: s.right } : {}) }),
    );
    assert.equal(r.correct, true, `step ${i + 1}: ${JSON.stringify(r)}`);
    if (i === steps.length - 1) assert.equal(r.completed, true);
    else assert.equal(r.next?.step, i + 2);
  }
  assert.ok(triedWrong, `${id} has a question step`);
  const progress = data(GetProgressOutput, await call(client, 'get_progress'));
  const row = progress.tutorials.find((x) => x.id === id);
  assert.equal(row?.status, 'completed');
  const me = await client.readResource({ uri: 'progress://me' });
  const fromResource = GetProgressOutput.parse(JSON.parse(String(me.contents[0]?.text)));
  assert.equal(fromResource.tutorials.find((x) => x.id === id)?.status, 'completed');
  assert.ok(fromResource.completed >= 1);
  const catalog = await client.readResource({ uri: 'tutorials://catalog' });
  assert.match(String(catalog.contents[0]?.text), new RegExp(`"id": "${id}"[^}]*"status": "completed"`, 's'));
}

async function v2Stdio(t: TestContext, dataDir: string): Promise<{ client: Client; transport: RecordingStdioTransport }> {
  const transport = RecordingStdioTransport.spawn(t, dataDir);
  const client = new Client({ name: 'test-v2-stdio', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(transport);
  return { client, transport };
}

describe('a learner completes a tutorial', () => {
  test('with the v2 client (2026-07-28) over stdio, and stdout carries only JSON-RPC', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const { client, transport } = await v2Stdio(t, dir);
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    await checkSurface(client);
    await walkTutorial(client, 'what-is-mcp');
    await client.close();
    assert.equal(transport.proc.exitCode, 0, 'closing stdin ends the server cleanly');
    assert.ok(transport.stdout.all.length > 10);
    for (const line of transport.stdout.all) {
      const msg = JSON.parse(line) as { jsonrpc?: string };
      assert.equal(msg.jsonrpc, '2.0', `stdout line is not JSON-RPC: ${line}`);
    }
    assert.ok(
      transport.stderr.events().some((e) => e['event'] === 'tool_call'),
      'logs go to stderr',
    );
  });

  test('with the v1 client (2025 protocol, initialize) over stdio', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const client = new V1Client({ name: 'test-v1-stdio', version: '1.0.0' });
    await client.connect(
      new V1StdioTransport({
        command: process.execPath,
        args: ['--import', 'tsx', SERVER_MAIN, '--data-dir', dir],
        cwd: ROOT,
        stderr: 'ignore',
      }),
    );
    t.after(() => client.close());
    await checkSurface(client);
    await walkTutorial(client, 'tools');
  });

  test('with the v2 client (2026-07-28) and the v1 client over Streamable HTTP, sharing progress', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const server = await startHttpServer(t, { dataDir: dir });
    const v2 = await v2HttpClient(t, server.url);
    assert.equal(v2.getNegotiatedProtocolVersion(), '2026-07-28');
    await checkSurface(v2);
    await walkTutorial(v2, 'resources');
    const v1 = await v1HttpClient(t, server.url);
    await checkSurface(v1);
    // Both are the local learner on loopback: v1 sees what v2 did.
    const p = data(GetProgressOutput, await call(v1, 'get_progress', { tutorial_id: 'resources' }));
    assert.equal(p.completed, 1);
    await walkTutorial(v1, 'prompts');
    const events = server.stderr.events();
    assert.ok(events.some((e) => e['event'] === 'tool_call' && e['tool'] === 'submit_step' && e['ok'] === true));
    assert.ok(events.some((e) => e['event'] === 'resource_access' && e['uri'] === 'progress://me'));
    assert.equal(events.filter((e) => e['event'] === 'new_learner').length, 1, 'the local learner is new once');
    assert.equal(events.filter((e) => e['event'] === 'session_start').length, 1, 'one working session');
  });
});

describe('progress rules', () => {
  test('a completed tutorial can be reset and done again; steps ahead stay locked', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const { client } = await v2Stdio(t, dir);
    t.after(() => client.close());
    await call(client, 'start_tutorial', { tutorial_id: 'what-is-mcp' });
    const locked = await call(client, 'get_step', { tutorial_id: 'what-is-mcp', step: 3 });
    assert.equal(locked.isError, true);
    assert.match(textOf(locked), /not unlocked yet/);
    const hint = data(GetHintOutput, await call(client, 'get_hint', { tutorial_id: 'what-is-mcp' }));
    assert.equal(hint.step, 1);
    const resumed = data(StartTutorialOutput, await call(client, 'start_tutorial', { tutorial_id: 'what-is-mcp' }));
    assert.equal(resumed.resumed, true);
    // A repeated submit of a step already done changes nothing.
    await call(client, 'submit_step', { tutorial_id: 'what-is-mcp' });
    const again = data(SubmitStepOutput, await call(client, 'submit_step', { tutorial_id: 'what-is-mcp', step: 1 }));
    assert.equal(again.alreadyDone, true);
    const p = data(GetProgressOutput, await call(client, 'get_progress', { tutorial_id: 'what-is-mcp' }));
    assert.equal(p.tutorials[0]?.step, 2);
    assert.equal(p.tutorials[0]?.hintsUsed, 1);
    const reset = data(ResetProgressOutput, await call(client, 'reset_progress', { tutorial_id: 'what-is-mcp' }));
    assert.equal(reset.reset, 1);
    const after = data(GetProgressOutput, await call(client, 'get_progress', { tutorial_id: 'what-is-mcp' }));
    assert.equal(after.notStarted, 1);
  });
});
