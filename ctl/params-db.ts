import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { BackupRestoreParams } from '../shared/schemas/rpc.js';

/**
 * `restore FILE`: a path is made absolute here (the daemon does not share ctl's working folder);
 * a bare name that is not a file here is sent as it is, for the daemon to find in the backups folder.
 */
export const RestoreArgs = z
  .strictObject({
    file: z.string({ error: 'Say which backup: FILE, a path or a name from `mcp-starterctl backups`.' }).min(1, 'FILE needs a path.'),
  })
  .transform((a) => ({ file: a.file.includes('/') || existsSync(a.file) ? resolve(a.file) : a.file }))
  .pipe(BackupRestoreParams);
export type RestoreArgs = z.output<typeof RestoreArgs>;
