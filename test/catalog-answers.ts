import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHOICE_LETTERS } from '../mcp-server/answers.js';
import { TutorialFile } from '../shared/schemas/catalog.js';
import { ROOT } from './helpers.js';

/** A tutorial as its file says, for tests that walk it: the right and a wrong answer per step. */
export function tutorialAnswers(id: string): { steps: Array<{ right?: string; wrong?: string }>; file: TutorialFile } {
  const file = TutorialFile.parse(JSON.parse(readFileSync(join(ROOT, 'mcp-server', 'catalog', 'en', `${id}.json`), 'utf8')));
  const steps = file.steps.map((s) => {
    const q = s.question;
    if (!q) return {};
    if (q.kind === 'choice') {
      const wrong = q.answer === 0 ? 1 : 0;
      return { right: CHOICE_LETTERS[q.answer] ?? '', wrong: CHOICE_LETTERS[wrong] ?? '' };
    }
    return { right: q.accept[0] ?? '', wrong: 'definitely not this' };
  });
  return { steps, file };
}
