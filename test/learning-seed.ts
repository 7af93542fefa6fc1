import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openLearningDb } from '../shared/learning-db.js';
import type { Db } from '../shared/sqlite.js';
import type { StepFacts } from '../shared/store/answers.js';
import { ProgressStore } from '../shared/store/progress.js';
import { tempDir } from './helpers.js';

/**
 * A learning database with a small catalogue of known shape, for the maintenance and report tests:
 * alpha (a0 asks, a1 does not, a2 asks), beta (b0 asks, b1 does not), gamma (g0 does not).
 */
export const CATALOG = {
  alpha: [
    { key: 'a0', asked: true, title: 'Alpha one' },
    { key: 'a1', asked: false, title: 'Alpha two' },
    { key: 'a2', asked: true, title: 'Alpha three' },
  ],
  beta: [
    { key: 'b0', asked: true, title: 'Beta one' },
    { key: 'b1', asked: false, title: 'Beta two' },
  ],
  gamma: [{ key: 'g0', asked: false, title: 'Gamma one' }],
} as const;
export type TutorialId = keyof typeof CATALOG;

export interface Seeded {
  dir: string;
  file: string;
  db: Db;
  progress: ProgressStore;
}

export function seededDb(t: TestContext): Seeded {
  const dir = tempDir(t);
  const file = join(dir, 'mcp-starter.db');
  const db = openLearningDb(file);
  t.after(() => db.close());
  const tutorial = db.prepare(
    "INSERT INTO tutorials (id, position, level, estimated_minutes, title, step_count, content_hash) VALUES (?, ?, 'beginner', 5, ?, ?, 'x')",
  );
  const step = db.prepare(
    "INSERT INTO tutorial_steps (tutorial_id, locale, position, step_key, title, body, hint) VALUES (?, 'en', ?, ?, ?, 'b', 'h')",
  );
  Object.entries(CATALOG).forEach(([id, steps], i) => {
    tutorial.run(id, i, id[0]?.toUpperCase() + id.slice(1), steps.length);
    steps.forEach((s, position) => step.run(id, position, s.key, s.title));
  });
  return { dir, file, db, progress: new ProgressStore(db) };
}

/** Adds a learner created at `createdAt`; returns its id. */
export function addLearner(db: Db, name: string, createdAt: string): number {
  return Number(db.prepare('INSERT INTO users (name, created_at) VALUES (?, ?)').run(name, createdAt).lastInsertRowid);
}

/** What the server passes for step `index` of a seeded tutorial. */
export function facts(tutorial: TutorialId, index: number): StepFacts {
  const steps = CATALOG[tutorial];
  const s = steps[index];
  if (!s) throw new Error(`${tutorial} has no step ${index}`);
  return { step: index, stepKey: s.key, totalSteps: steps.length, asked: s.asked };
}

/** Passes step `index` as the server does: the last step completes the tutorial. */
export function pass(p: ProgressStore, user: number, tutorial: TutorialId, index: number, at: string): boolean {
  const f = facts(tutorial, index);
  return index === f.totalSteps - 1 ? p.complete(user, tutorial, f, at) : p.advance(user, tutorial, f, at);
}

/** Starts a tutorial and passes its steps at the given times (all of them: completed). */
export function walk(p: ProgressStore, user: number, tutorial: TutorialId, startedAt: string, passedAt: readonly string[]): void {
  p.start(user, tutorial, startedAt);
  passedAt.forEach((at, i) => pass(p, user, tutorial, i, at));
}

/** An ISO time `hours` before `nowMs`. */
export function hoursBefore(nowMs: number, hours: number): string {
  return new Date(nowMs - hours * 3_600_000).toISOString();
}
