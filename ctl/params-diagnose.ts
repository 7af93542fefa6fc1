import { z } from 'zod';

/** `diagnose [--errors]`: the flag only changes what is printed (the result always carries the error lines). Loaded only when the command runs. */
export const DiagnoseArgs = z.strictObject({ errors: z.boolean().optional() }).transform((a) => ({ errors: a.errors === true }));
export type DiagnoseArgs = z.output<typeof DiagnoseArgs>;
