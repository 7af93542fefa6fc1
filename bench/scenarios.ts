/** What each measured cell calls, and the per-client setup it needs first. */
import type { BenchClient, ToolCallOutcome } from './load.js';

export type TargetId = 'bare echo' | 'ours get_progress' | 'ours submit_step';

export interface Target {
  id: TargetId;
  server: 'bare' | 'ours';
  tool: string;
  /** Runs once per client before the warm-up. */
  setup?: (client: BenchClient, index: number) => Promise<void>;
  call: (client: BenchClient) => Promise<ToolCallOutcome>;
}

/*
 * submit_step: every tutorial opens with a reading step and "what-is-mcp" (the first in the
 * catalogue) has a multiple-choice question as step 2 whose answer is C. Each client starts the
 * tutorial and submits step 1 (over HTTP without a token every client is the same local learner,
 * so only the first of these advances; the rest are "already done" no-ops), then keeps answering
 * step 2 with "A". A wrong answer is a real write (wrong_answers + 1 in SQLite, synchronous=FULL)
 * and leaves the learner on step 2, so every call in every cell, round and client kind does the
 * same work. `step: 2` makes the server refuse (isError, counted) if the state ever drifted.
 */
const TUTORIAL = 'what-is-mcp';
const WRONG_ANSWER = { tutorial_id: TUTORIAL, step: 2, answer: 'A' };

async function submitSetup(client: BenchClient, index: number): Promise<void> {
  const started = await client.call('start_tutorial', { tutorial_id: TUTORIAL });
  if (started.isError) throw new Error(`start_tutorial failed: ${started.text}`);
  const first = await client.call('submit_step', { tutorial_id: TUTORIAL, step: 1 });
  if (first.isError) throw new Error(`submitting the reading step failed: ${first.text}`);
  if (index > 0) return;
  const probe = await client.call('submit_step', WRONG_ANSWER);
  if (probe.isError || probe.structured?.['correct'] !== false) {
    throw new Error(
      `the bench expects answer "A" to step 2 of ${TUTORIAL} to be a wrong answer; got ${probe.isError ? probe.text : JSON.stringify(probe.structured)}. ` +
        'The catalogue changed: update WRONG_ANSWER in bench/scenarios.ts.',
    );
  }
}

export const TARGETS: Record<TargetId, Target> = {
  'bare echo': { id: 'bare echo', server: 'bare', tool: 'echo', call: (c) => c.call('echo', { msg: 'hello' }) },
  'ours get_progress': { id: 'ours get_progress', server: 'ours', tool: 'get_progress', call: (c) => c.call('get_progress', {}) },
  'ours submit_step': {
    id: 'ours submit_step',
    server: 'ours',
    tool: 'submit_step',
    setup: submitSetup,
    call: (c) => c.call('submit_step', WRONG_ANSWER),
  },
};
