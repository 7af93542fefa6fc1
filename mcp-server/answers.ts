import type { Question } from '../shared/schemas/catalog.js';

/** Case, width, spacing and punctuation do not matter: "Tools/Call " matches "tools/call". */
export function normaliseAnswer(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

export const CHOICE_LETTERS = 'ABCDEF';

/** The choice a learner meant: a letter ("b", "B)"), a number from 1, or the choice's own text. */
export function choiceIndex(answer: string, choices: readonly string[]): number | undefined {
  const a = normaliseAnswer(answer);
  if (/^[a-f]$/.test(a)) {
    const i = a.charCodeAt(0) - 'a'.charCodeAt(0);
    return i < choices.length ? i : undefined;
  }
  if (/^\d+$/.test(a)) {
    const i = Number(a) - 1;
    return i >= 0 && i < choices.length ? i : undefined;
  }
  const i = choices.findIndex((c) => normaliseAnswer(c) === a);
  return i >= 0 ? i : undefined;
}

export type AnswerCheck = { correct: true } | { correct: false; understood: boolean };

/** Checks an answer; `understood: false` means it named no choice at all (worth a format hint). */
export function checkAnswer(question: Question, answer: string): AnswerCheck {
  if (question.kind === 'choice') {
    const i = choiceIndex(answer, question.choices);
    if (i === undefined) return { correct: false, understood: false };
    return i === question.answer ? { correct: true } : { correct: false, understood: true };
  }
  const a = normaliseAnswer(answer);
  return question.accept.some((x) => normaliseAnswer(x) === a) ? { correct: true } : { correct: false, understood: true };
}
