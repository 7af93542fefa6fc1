import { z } from 'zod';

/** One thing wrong with a configuration: where, what, and what to do about it. */
export const ConfigProblem = z.object({
  /**
   * The key path (`server.port`, `drain.timeoutMs`); the environment variable for one that is not
   * a config key (`MCP_STARTER_SERVR_PORT`); "" for the file as a whole (unreadable, not JSON).
   */
  path: z.string(),
  message: z.string(),
  hint: z.string(),
});
export type ConfigProblem = z.infer<typeof ConfigProblem>;

/** `mcp-starterctl config validate [FILE] --json`. */
export const ConfigValidateResult = z.object({
  /** The file checked (absolute); null when there is none and only the defaults and the environment apply. */
  file: z.string().nullable(),
  valid: z.boolean(),
  problems: z.array(ConfigProblem),
});
export type ConfigValidateResult = z.infer<typeof ConfigValidateResult>;
