import { z } from 'zod';
import { ReportDateParam, ReportLearningParams } from '../shared/schemas/reports.js';

const DATE_USAGE = '--date takes a day as YYYY-MM-DD, e.g. --date 2026-11-25.';

/** `report learning [--date YYYY-MM-DD]` → `report.learning`'s params. Loaded only when the command runs. */
export const ReportLearningArgs = z
  .strictObject({
    date: z
      .string({ error: DATE_USAGE })
      .refine((d) => ReportDateParam.safeParse(d).success, { error: (i) => `--date ${String(i.input)} is not a day. ${DATE_USAGE}` })
      .optional(),
  })
  .transform((a): z.input<typeof ReportLearningParams> => (a.date === undefined ? {} : { date: a.date }))
  .pipe(ReportLearningParams.unwrap());
export type ReportLearningArgs = z.output<typeof ReportLearningArgs>;
