import { z } from 'zod';

/**
 * `ctl diagnose` / RPC `diagnose` (DESIGN.md; issue 10, Troubleshooting). Re-exported by rpc.ts.
 */

// Placeholder shape: the diagnose work (issue 10) fills this in.
export const DiagnoseResult = z.object({ ok: z.boolean() });
export type DiagnoseResult = z.infer<typeof DiagnoseResult>;
