import { z } from 'zod';

/** A tutorial or step id: lower-case words joined by dashes, safe in URIs and file names. */
export const Slug = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'use lower-case letters, digits and single dashes, e.g. "first-tool"')
  .max(64);

const Text = z.string().trim().min(1);

/** A multiple-choice question: the learner answers with the letter, the number, or the choice's text. */
export const ChoiceQuestion = z
  .object({
    kind: z.literal('choice'),
    prompt: Text,
    choices: z.array(Text).min(2).max(6),
    /** 0-based index into `choices`. */
    answer: z.number().int().min(0),
    /** Shown after a right answer: why it is right. */
    explanation: Text,
  })
  .strict()
  .refine((q) => q.answer < q.choices.length, { message: 'answer must be an index into choices' });

/** A short-answer question: the answer is compared after normalising case, spaces and punctuation. */
export const TextQuestion = z
  .object({
    kind: z.literal('text'),
    prompt: Text,
    /** Every accepted answer; normalised before comparison. */
    accept: z.array(Text).min(1),
    explanation: Text,
  })
  .strict();

export const Question = z.union([ChoiceQuestion, TextQuestion]);
export type Question = z.infer<typeof Question>;

export const TutorialStep = z
  .object({
    id: Slug,
    title: Text,
    /** Markdown the learner reads. */
    body: Text,
    question: Question.optional(),
    /** Given on a wrong answer and by `get_hint`. */
    hint: Text,
  })
  .strict();
export type TutorialStep = z.infer<typeof TutorialStep>;

/** One tutorial in one locale: the content of `mcp-server/catalog/<locale>/<id>.json`. */
export const TutorialFile = z
  .object({
    id: Slug,
    /** Position in the catalogue, 1 first. */
    order: z.number().int().min(1),
    level: z.enum(['beginner', 'intermediate']),
    estimatedMinutes: z.number().int().min(1).max(240),
    title: Text,
    summary: Text,
    steps: z.array(TutorialStep).min(1).max(50),
  })
  .strict()
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    for (const [i, s] of t.steps.entries()) {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${s.id}"` });
      seen.add(s.id);
    }
  });
export type TutorialFile = z.infer<typeof TutorialFile>;
