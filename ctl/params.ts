import { z } from 'zod';
import { EmergencyStopParams, StopParams } from '../shared/schemas/rpc.js';

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
