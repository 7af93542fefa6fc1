import { z } from 'zod';
import { ReportWeeklyParams } from '../shared/schemas/weekly.js';
import { dateFlag } from './params-report.js';

/** `report weekly [--date YYYY-MM-DD]` → `report.weekly`'s params. Loaded only when the command runs. */
export const ReportWeeklyArgs = z
  .strictObject({ date: dateFlag('--date takes the week\u2019s last day as YYYY-MM-DD, e.g. --date 2026-11-28.').optional() })
  .transform((a): z.input<typeof ReportWeeklyParams> => (a.date === undefined ? {} : { date: a.date }))
  .pipe(ReportWeeklyParams.unwrap());

/** `recover [--recompute-progress] [--yes]` → `recover`'s params. */
export const RecoverArgs = z
  .strictObject({ 'recompute-progress': z.boolean().optional(), yes: z.boolean().optional() })
  .transform((a) => ({ recomputeProgress: a['recompute-progress'] === true, yes: a.yes === true }));
export type RecoverArgs = z.output<typeof RecoverArgs>;
