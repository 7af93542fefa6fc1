import type { StepFacts } from '../../shared/store/answers.js';
import { ProgressStore as ProgressTable } from '../../shared/store/progress.js';
import type { Db } from '../../shared/sqlite.js';
import type { DiskGuard } from './disk-guard.js';

export type { ProgressRow } from '../../shared/store/progress.js';

/**
 * `user_progress` (and the `user_answers` row of each submitted step) as the server writes it.
 * Every write is one statement or one transaction on a synchronous=FULL database, so what a tool
 * call acknowledges is on disk before the answer leaves. Writes go through the disk guard: one the
 * disk refuses is rolled back whole and becomes the learner's "not saved, your progress is safe"
 * error; the hint and wrong-answer counters (with a wrong answer's row) are best effort.
 */
export class ProgressStore extends ProgressTable {
  constructor(
    db: Db,
    private readonly guard: DiskGuard,
  ) {
    super(db);
  }

  override start(user: number, tutorial: string, now: string): boolean {
    return this.guard.write(() => super.start(user, tutorial, now));
  }

  override advance(user: number, tutorial: string, facts: StepFacts, now: string): boolean {
    return this.guard.write(() => super.advance(user, tutorial, facts, now));
  }

  override complete(user: number, tutorial: string, facts: StepFacts, now: string): boolean {
    return this.guard.write(() => super.complete(user, tutorial, facts, now));
  }

  override recordWrongAnswer(user: number, tutorial: string, facts: StepFacts, now: string): void {
    this.guard.soft(() => super.recordWrongAnswer(user, tutorial, facts, now), undefined);
  }

  override recordHint(user: number, tutorial: string, now: string): void {
    this.guard.soft(() => super.recordHint(user, tutorial, now), undefined);
  }

  override reset(user: number, tutorial: string | undefined, now: string): number {
    return this.guard.write(() => super.reset(user, tutorial, now));
  }
}
