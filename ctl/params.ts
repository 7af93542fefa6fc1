import { z } from 'zod';
import { EmergencyStopParams, HoursParams, JobName, StopParams } from '../shared/schemas/rpc.js';

/**
 * The argv schemas of the commands that take flags or arguments: argv (flags, and positionals by
 * name) → the command's params. Strict, so a flag a command does not take is a usage error that
 * names it. Loaded only by the commands that use them: zod is not on `status`'s path (issue 7).
 */

function seconds(flag: string) {
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/, `--${flag} takes a number of seconds, e.g. --${flag} 30.`)
    .transform(Number)
    .refine((s) => s <= 3600, `--${flag} can be at most 3600 seconds (one hour).`)
    .transform((s) => Math.round(s * 1000));
}

export const StopArgs = z
  .strictObject({ timeout: seconds('timeout').optional(), force: z.boolean().optional() })
  .transform((a): z.input<typeof StopParams> => ({ timeoutMs: a.timeout, force: a.force }))
  .pipe(StopParams.unwrap());

export const EmergencyStopArgs = z
  .strictObject({ reason: z.string().max(500, '--reason can be at most 500 characters.').optional() })
  .transform((a): z.input<typeof EmergencyStopParams> => ({ reason: a.reason }))
  .pipe(EmergencyStopParams.unwrap());

export const LearnerName = z.strictObject({
  name: z.string({ error: 'Say which learner: NAME, e.g. alice.' }),
});
export type LearnerName = z.output<typeof LearnerName>;

export const ConnectArgs = z
  .strictObject({
    url: z.string().min(1, '--url needs the server\u2019s address, e.g. http://127.0.0.1:8000/mcp').optional(),
    token: z.string().min(1, '--token needs the token `learners add` printed').optional(),
    'token-file': z.string().min(1, '--token-file needs a file that holds the token').optional(),
  })
  .refine((a) => a.token === undefined || a['token-file'] === undefined, {
    error: 'Give the token one way: --token-file FILE (or MCP_STARTER_TOKEN), not with --token as well.',
  });
export type ConnectArgs = z.output<typeof ConnectArgs>;

export const ConfigValidateArgs = z.strictObject({
  file: z.string().min(1, 'FILE needs a path, e.g. /etc/mcp-starter.json').optional(),
});
export type ConfigValidateArgs = z.output<typeof ConfigValidateArgs>;

/** The longest window `metrics.analyze` and `metrics.history` take (HoursParams): ten years. */
const MAX_HOURS = 24 * 3_650;

export const HoursArgs = z
  .strictObject({
    hours: z
      .string()
      .regex(/^\d+(\.\d+)?$/, '--hours takes a number of hours, e.g. --hours 24 (or 0.5 for half an hour).')
      .transform(Number)
      .refine((h) => h > 0, '--hours must be more than 0.')
      .refine((h) => h <= MAX_HOURS, `--hours can be at most ${MAX_HOURS} (ten years).`)
      .optional(),
  })
  .transform((a): z.input<typeof HoursParams> => ({ hours: a.hours ?? 24 }))
  .pipe(HoursParams.unwrap());
export type HoursArgs = z.output<typeof HoursArgs>;

export const TopArgs = z
  .strictObject({
    once: z.boolean().optional(),
    count: z
      .string()
      .regex(/^\d+$/, '--count takes a whole number of samples, e.g. --count 5.')
      .transform(Number)
      .refine((n) => n >= 1, '--count must be at least 1.')
      .refine((n) => n <= 1_000_000_000, '--count can be at most 1000000000.')
      .optional(),
  })
  .refine((a) => a.once !== true || a.count === undefined, { error: 'Give --once or --count N, not both.' })
  .transform((a) => ({ once: a.once === true, count: a.count }));
export type TopArgs = z.output<typeof TopArgs>;

export const JobRunArgs = z.strictObject({
  name: z.enum(JobName.options, { error: `Say which job: NAME, one of ${JobName.options.join(', ')}.` }),
});
export type JobRunArgs = z.output<typeof JobRunArgs>;
