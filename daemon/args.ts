import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AppError } from '../shared/errors.js';

export const USAGE = `Usage: mcp-starterd [--config FILE] [--data-dir DIR] [--port N] [--foreground]

Supervises mcp-starter-server: starts it, restarts it on a crash, drains it on stop, and answers
mcp-starterctl on <data-dir>/mcp-starterd.sock. Runs in the foreground (systemd's way).

  --config FILE    JSON config (every key optional; see etc/mcp-starter.example.json)
  --data-dir DIR   databases, socket, logs, backups (default: see README)
  --port N         HTTP port for MCP clients (default 8000)`;

const DaemonArgs = z.strictObject({
  config: z.string().min(1).optional(),
  'data-dir': z.string().min(1).optional(),
  port: z
    .string()
    .regex(/^\d{1,5}$/, '--port must be a number from 0 to 65535')
    .transform(Number)
    .refine((n) => n <= 65535, '--port must be a number from 0 to 65535')
    .optional(),
  foreground: z.boolean().default(true),
  help: z.boolean().default(false),
  version: z.boolean().default(false),
});
export type DaemonArgs = z.infer<typeof DaemonArgs>;

export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        foreground: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw new AppError('E_USAGE', (err as Error).message, { hint: USAGE });
  }
  const parsed = DaemonArgs.safeParse(values);
  if (!parsed.success) throw new AppError('E_USAGE', parsed.error.issues.map((i) => i.message).join('; '), { hint: USAGE });
  return parsed.data;
}
