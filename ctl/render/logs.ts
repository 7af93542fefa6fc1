import type { LogsRotateResult } from '../../shared/schemas/rpc.js';
import { bytes, paint, plural } from './format.js';

const name = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** `ctl logs rotate`: where the file went, what was compressed and deleted, and the room all logs take now. */
export function renderLogsRotate(r: LogsRotateResult): string {
  const head = r.rotated
    ? paint('green', `\u2713 rotated ${name(r.file)} (${bytes(r.bytes)}) to ${name(r.rotatedTo ?? '')}`)
    : `nothing to rotate: ${r.file} is empty`;
  const lines = [head];
  if (r.compressed.length > 0) lines.push(`  compressed  ${r.compressed.map(name).join(', ')}`);
  if (r.deleted.length > 0) lines.push(`  deleted     ${plural(r.deleted.length, 'old file')}: ${r.deleted.map(name).join(', ')}`);
  lines.push(`  logs now take ${bytes(r.totalBytes)} in ${r.file.slice(0, r.file.lastIndexOf('/'))}`);
  return lines.join('\n');
}
