import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { AppError } from './errors.js';

/** `--port N` as it arrives on a command line: digits, 0 to 65535. */
export const PortArg = z
  .string()
  .regex(/^\d{1,5}$/, '--port must be a number from 0 to 65535')
  .transform(Number)
  .refine((n) => n <= 65535, '--port must be a number from 0 to 65535');

/** Parses a program's flags with node:util and validates them with its zod schema; any problem is E_USAGE with the usage text. */
export function parseFlags<S extends z.ZodType>(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  schema: S,
  usage: string,
): z.output<S> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new AppError('E_USAGE', (err as Error).message, { hint: usage });
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw new AppError('E_USAGE', parsed.error.issues.map((i) => i.message).join('; '), { hint: usage });
  return parsed.data;
}
