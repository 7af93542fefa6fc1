import { z } from 'zod';
import { LogLevelName, MAX_TAIL_LINES } from '../shared/schemas/logs.js';

/**
 * The argv schema of `logs` (flags → params), loaded only when it runs, like params.ts: zod is not
 * on `status`'s path (issue 7). It needs only the log schemas, not the whole RPC table that
 * params.ts loads, which keeps `ctl logs` quick (`logs analyze` takes params.ts's HoursArgs).
 */

/** `ctl logs` without -n: a screenful. */
export const DEFAULT_TAIL_LINES = 50;

const LEVELS = LogLevelName.options.join(', ');

export const LogsArgs = z
  .strictObject({
    lines: z
      .string()
      .regex(/^\d+$/, '-n takes a number of lines, e.g. -n 100.')
      .transform(Number)
      .refine((n) => n >= 1, '-n must be at least 1.')
      .refine((n) => n <= MAX_TAIL_LINES, `-n can be at most ${MAX_TAIL_LINES}.`)
      .optional(),
    level: z
      .string()
      .transform((s) => s.toLowerCase())
      // The manual's grep counts WARNING lines: the word works here too.
      .transform((s) => (s === 'warning' ? 'warn' : s))
      .pipe(z.enum(LogLevelName.options, { error: `--level takes one of ${LEVELS} (shows that level and above).` }))
      .optional(),
    follow: z.boolean().optional(),
  })
  .transform((a) => ({ lines: a.lines ?? DEFAULT_TAIL_LINES, level: a.level, follow: a.follow === true }));
export type LogsArgs = z.output<typeof LogsArgs>;
