import { z } from 'zod';
import { ReportDateParam, ReportLearningParams } from '../shared/schemas/reports.js';

/** `--date D`: a real day as YYYY-MM-DD; `usage` says what the day means for the command. */
export function dateFlag(usage: string) {
  return z
    .string({ error: usage })
    .refine((d) => ReportDateParam.safeParse(d).success, { error: (i) => `--date ${String(i.input)} is not a day. ${usage}` });
}

/** `report learning [--date YYYY-MM-DD]` → `report.learning`'s params. Loaded only when the command runs. */
export const ReportLearningArgs = z
  .strictObject({ date: dateFlag('--date takes a day as YYYY-MM-DD, e.g. --date 2026-11-25.').optional() })
  .transform((a): z.input<typeof ReportLearningParams> => (a.date === undefined ? {} : { date: a.date }))
  .pipe(ReportLearningParams.unwrap());
export type ReportLearningArgs = z.output<typeof ReportLearningArgs>;
