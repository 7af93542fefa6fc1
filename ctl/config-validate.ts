import { resolve } from 'node:path';
import { checkConfig, configEnvKeys } from '../shared/config.js';
import type { ConfigValidateResult } from '../shared/schemas/config-validate.js';
import type { Config } from '../shared/schemas/config.js';
import type { Context } from './commands.js';
import type { ConfigValidateArgs } from './params.js';

/** `config validate`'s answer: the `--json` result, and what the human summary adds. */
export interface ConfigValidation {
  result: ConfigValidateResult;
  /** The valid config, for the summary. */
  config: Config | undefined;
  /** MCP_STARTER_<KEY> variables that were applied. */
  envOverrides: string[];
  /** MCP_STARTER_<KEY> variables set here but not applied (FILE was given: the file alone is checked). */
  envIgnored: string[];
}

/**
 * Checks a config without the daemon (and without better-sqlite3): FILE as written, or else what
 * mcp-starterd would load (--config / MCP_STARTER_CONFIG, then the environment's overrides).
 */
export function validateConfig(params: ConfigValidateArgs, ctx: Pick<Context, 'configFile' | 'env'>): Promise<ConfigValidation> {
  const explicit = params.file !== undefined;
  const given = params.file ?? ctx.configFile;
  const file = given === undefined ? undefined : resolve(given);
  const check = checkConfig({ file, env: explicit ? undefined : ctx.env });
  const envIgnored = explicit ? Object.keys(ctx.env).filter((name) => configEnvKeys().has(name)) : [];
  return Promise.resolve({
    result: { file: file ?? null, valid: check.problems.length === 0, problems: check.problems },
    config: check.config,
    envOverrides: check.envOverrides,
    envIgnored,
  });
}
