import { z } from 'zod';

/**
 * The body of every HTTP error the project sends itself (the daemon's listener and the server's
 * transport): a JSON-RPC error, so an MCP client shows its message, with the message and what to
 * do apart in `data` for scripts.
 */
export const HttpErrorBody = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.null(),
  error: z.object({
    code: z.number().int(),
    message: z.string(),
    data: z.object({ message: z.string(), hint: z.string() }),
  }),
});
export type HttpErrorBody = z.infer<typeof HttpErrorBody>;
