import { z } from 'zod';

/**
 * The log methods' params and results (`logs.tail`, `logs.analyze`): DESIGN.md, JSON that scripts
 * read. Re-exported by rpc.ts, whose method table uses them.
 */

export const LogLevelName = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
export type LogLevelName = z.infer<typeof LogLevelName>;

// Placeholder shapes: the logs work (issue 9) fills these in.
export const LogsTailParams = z
  .strictObject({ lines: z.number().int().min(1).max(10_000).default(100), level: LogLevelName.optional() })
  .optional();
export const LogsTailResult = z.object({ lines: z.array(z.record(z.string(), z.unknown())) });
export type LogsTailResult = z.infer<typeof LogsTailResult>;

export const LogsAnalyzeParams = z
  .strictObject({
    hours: z
      .number()
      .positive()
      .max(24 * 3_650)
      .default(24),
  })
  .optional();
export const LogsAnalyzeResult = z.object({
  hours: z.number(),
  errors: z.number().int().min(0),
  warnings: z.number().int().min(0),
  top_errors: z.array(z.object({ message: z.string(), count: z.number().int().min(1) })),
  tool_calls: z.number().int().min(0),
  resource_accesses: z.number().int().min(0),
  new_learners: z.number().int().min(0),
});
export type LogsAnalyzeResult = z.infer<typeof LogsAnalyzeResult>;
