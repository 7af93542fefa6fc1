import { basename } from 'node:path';
import type { LogsRotateResult } from '../../shared/schemas/rpc.js';

/** `rotate-logs` (manual 2.3, 01:00): the rotation `logs.rotate` does, and what it did. */
export async function rotateLogs(rotate: () => Promise<LogsRotateResult>): Promise<string> {
  const r = await rotate();
  if (!r.rotated) return `nothing to rotate: ${basename(r.file)} is empty`;
  const extra = [
    r.compressed.length > 0 ? `${r.compressed.length} compressed` : '',
    r.deleted.length > 0 ? `${r.deleted.length} old deleted` : '',
  ].filter((s) => s !== '');
  return `rotated ${basename(r.file)} (${r.bytes} bytes) to ${basename(r.rotatedTo ?? '')}${extra.length > 0 ? `; ${extra.join(', ')}` : ''}`;
}
