// Learners who really write: each one works through the catalogue with real MCP tool calls
// (start_tutorial, submit_step with the right answer) through the supervised server, and every
// call answered without an error is an acknowledged write whose effect a database must hold.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { addLearner } from '../shared/learners.js';
import { openLearningDb } from '../shared/learning-db.js';
import { tutorialAnswers } from './catalog-answers.js';
import { ROOT, v2HttpClient } from './helpers.js';

/** What an acknowledged call left in the database: the learner is at least at `step` of `tutorial` (or done). */
export interface Ack {
  learner: string;
  tutorial: string;
  step: number;
  completed: boolean;
  /** performance.now() when the answer arrived. */
  at: number;
}

export interface Learner {
  name: string;
  token: string;
}

const TUTORIALS = readdirSync(join(ROOT, 'mcp-server', 'catalog', 'en'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

/** Adds learners with tokens to the data dir's learning database (as `ctl learners add` does), before the daemon starts. */
export function addLearners(learningDb: string, count: number): Learner[] {
  const db = openLearningDb(learningDb);
  try {
    return Array.from({ length: count }, (_, i) => {
      const name = `writer-${i}`;
      return { name, token: addLearner(db, name).token };
    });
  } finally {
    db.close();
  }
}

/** Learners working through the catalogue in parallel until stopped (or done). */
export class LearnerWriters {
  readonly acks: Ack[] = [];
  /** Calls answered with a tool error or not answered: not acknowledged, so nothing is owed for them. */
  readonly refused: string[] = [];
  private stopped = false;
  private readonly loops: Array<Promise<void>> = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(
    private readonly t: TestContext,
    private readonly url: URL,
    private readonly learners: readonly Learner[],
  ) {}

  start(): void {
    for (const learner of this.learners) this.loops.push(this.work(learner));
  }

  private ack(a: Omit<Ack, 'at'>): void {
    this.acks.push({ ...a, at: performance.now() });
    this.waiters = this.waiters.filter((w) => {
      if (this.acks.length < w.n) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `n` calls have been acknowledged (or every learner is done). */
  async acknowledged(n: number): Promise<void> {
    if (this.acks.length >= n) return;
    await Promise.race([new Promise<void>((resolve) => this.waiters.push({ n, resolve })), Promise.all(this.loops)]);
  }

  private async work(learner: Learner): Promise<void> {
    const client = await v2HttpClient(this.t, this.url, learner.token);
    const call = async (name: string, args: Record<string, unknown>): Promise<boolean> => {
      try {
        const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content?: Array<{ text?: string }> };
        if (r.isError === true) this.refused.push(`${learner.name} ${name}: ${r.content?.[0]?.text ?? ''}`);
        return r.isError !== true;
      } catch (err) {
        this.refused.push(`${learner.name} ${name}: ${(err as Error).message}`);
        return false;
      }
    };
    for (const tutorial of TUTORIALS) {
      if (this.stopped) return;
      if (!(await call('start_tutorial', { tutorial_id: tutorial }))) continue;
      this.ack({ learner: learner.name, tutorial, step: 0, completed: false });
      const { steps } = tutorialAnswers(tutorial);
      let refusals = 0;
      for (let i = 0; i < steps.length && refusals < 3; i++) {
        if (this.stopped) return;
        const right = steps[i]?.right;
        // A refused call is not acknowledged; the learner tries the same step again (a few times).
        if (!(await call('submit_step', { tutorial_id: tutorial, ...(right === undefined ? {} : { answer: right }) }))) {
          refusals++;
          i--;
          continue;
        }
        refusals = 0;
        this.ack({ learner: learner.name, tutorial, step: i + 1, completed: i + 1 === steps.length });
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

/** The acknowledged writes `file` does not hold (read-only; the progress of a learner only moves forward here). */
export function missingAcks(file: string, acks: readonly Ack[]): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare(
      'SELECT p.status, p.current_step AS step FROM user_progress p JOIN users u ON u.id = p.user_id WHERE u.name = ? AND p.tutorial_id = ?',
    );
    const missing: string[] = [];
    for (const a of acks) {
      const r = row.get(a.learner, a.tutorial) as { status: string; step: number } | undefined;
      const held = r !== undefined && (r.status === 'completed' || (!a.completed && r.status === 'in_progress' && r.step >= a.step));
      if (!held)
        missing.push(`${a.learner} ${a.tutorial} step ${a.step}${a.completed ? ' (completed)' : ''}: found ${JSON.stringify(r ?? null)}`);
    }
    return missing;
  } finally {
    db.close();
  }
}
