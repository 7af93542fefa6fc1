import { z } from 'zod';

/**
 * Backups and the learning database's upkeep (`backup.*`, `db.*`): DESIGN.md, JSON that scripts
 * read. Re-exported by rpc.ts, whose method table uses them.
 */

export const BackupInfo = z.object({ file: z.string(), bytes: z.number().int(), at: z.string(), integrity: z.string() });
export type BackupInfo = z.infer<typeof BackupInfo>;

// Placeholder shapes: the backups work (issue 9) fills these in.
export const BackupCreateResult = BackupInfo;
export const BackupListResult = z.array(BackupInfo);
export const BackupRestoreParams = z.strictObject({ file: z.string().min(1) });
export const BackupRestoreResult = z.object({ restored: BackupInfo, keptAs: z.string() });
export const DbCheckResult = z.object({ ok: z.boolean() });
export const DbOptimizeResult = z.object({ ok: z.boolean() });
