import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AppError } from './errors.js';
import { Config } from './schemas/config.js';
import type { ConfigProblem } from './schemas/config-validate.js';
import { editDistance } from './edit-distance.js';

export const ENV_PREFIX = 'MCP_STARTER_';

/** The daemon hands its child the parsed config in this variable (JSON), so the child never reads the file again. */
export const CHILD_CONFIG_ENV = 'MCP_STARTER_CHILD_CONFIG';

/** Environment variables that are not config keys (they choose where things are, not how they behave). */
const NON_CONFIG_ENV = new Set([
  'MCP_STARTER_DATA_DIR',
  'MCP_STARTER_CONFIG',
  'MCP_STARTER_PROBE_TOKEN',
  'MCP_STARTER_CTL_TIMEOUT_MS',
  'MCP_STARTER_TOKEN',
  CHILD_CONFIG_ENV,
]);

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; items?: JsonSchema };

interface EnvKey {
  path: string[];
  type: string;
}

/** `server.maxBodyBytes` → `MCP_STARTER_SERVER_MAX_BODY_BYTES`. */
export function envNameFor(path: readonly string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

let envKeysCache: Map<string, EnvKey> | undefined;

/** Every leaf of the config, by the environment variable that overrides it. */
export function configEnvKeys(): Map<string, EnvKey> {
  if (envKeysCache) return envKeysCache;
  const schema = z.toJSONSchema(Config, { io: 'input' }) as JsonSchema;
  const keys = new Map<string, EnvKey>();
  const walk = (node: JsonSchema, path: string[]): void => {
    if (node.properties) {
      for (const [k, child] of Object.entries(node.properties)) if (k !== '$schema') walk(child, [...path, k]);
      return;
    }
    const type = Array.isArray(node.type) ? (node.type[0] ?? 'string') : (node.type ?? 'string');
    keys.set(envNameFor(path), { path, type });
  };
  walk(schema, []);
  envKeysCache = keys;
  return keys;
}

function coerceEnv(name: string, raw: string, type: string): unknown {
  switch (type) {
    case 'integer':
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new AppError('E_CONFIG_INVALID', `${name}="${raw}" is not a number.`, { hint: `Set ${name} to a number, or unset it.` });
      return n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new AppError('E_CONFIG_INVALID', `${name}="${raw}" is not a boolean.`, { hint: `Set ${name} to true or false.` });
    }
    case 'array':
      return raw.trim().startsWith('[')
        ? parseJson(raw, name)
        : raw
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '');
    default:
      return raw;
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError('E_CONFIG_INVALID', `${where} is not valid JSON: ${(err as Error).message}.`, {
      hint: 'Fix the JSON syntax (a trailing comma or a missing quote is the usual cause); `mcp-starterctl config validate FILE` checks it.',
      cause: err,
    });
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

/** Applies `MCP_STARTER_<KEY>` variables onto a raw config object; an unknown MCP_STARTER_ variable is an error that names it. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const keys = configEnvKeys();
  const out = structuredClone(raw);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NON_CONFIG_ENV.has(name) || value === undefined) continue;
    const key = keys.get(name);
    if (!key) {
      throw new AppError('E_CONFIG_INVALID', `Unknown environment variable ${name}.`, {
        hint: `Config overrides are named after the key, e.g. ${envNameFor(['server', 'port'])}; see etc/mcp-starter.example.json. Unset ${name} or fix its name.`,
      });
    }
    setPath(out, key.path, coerceEnv(name, value, key.type));
  }
  return out;
}

/** One line per problem: `server.port: Too big: expected number to be <=65535`. */
export function formatIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (issue.path.length > 0 ? `${where}.${k}` : k));
        return `${source}: unknown key ${keys.map((k) => `"${k}"`).join(', ')} (check the spelling against etc/mcp-starter.example.json)`;
      }
      return `${source}: ${where}: ${issue.message}`;
    })
    .join('\n');
}

/** Validates a raw config object (file contents plus env overrides). */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = Config.safeParse(raw);
  if (!result.success) {
    throw new AppError('E_CONFIG_INVALID', `Invalid configuration:\n${formatIssues(result.error, source)}`, {
      hint: 'Fix the values named above; every key is optional, so deleting a line restores its default.',
    });
  }
  return result.data;
}

export interface LoadConfigOptions {
  /** A JSON config file; none means all defaults. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Reads, overrides from the environment and validates the configuration. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  let raw: unknown = {};
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw new AppError(
        'E_CONFIG_INVALID',
        `Cannot read config file ${options.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`,
        {
          hint: 'Check the path given to --config; without --config every setting has a default.',
          cause: err,
        },
      );
    }
    raw = parseJson(text, `Config file ${options.file}`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new AppError('E_CONFIG_INVALID', `Config file ${options.file} must hold a JSON object ({ ... }).`, {
        hint: 'Start from etc/mcp-starter.example.json.',
      });
    }
  }
  const withEnv = applyEnvOverrides(raw as Record<string, unknown>, env);
  return parseConfig(withEnv, options.file ?? 'environment');
}

/** `--port` wins over the file and the environment; the one place it is applied. */
export function applyPortOverride(config: Config, port: number | undefined): Config {
  return port === undefined ? config : { ...config, server: { ...config.server, port } };
}

/** The config the daemon handed its child (CHILD_CONFIG_ENV), validated like any file; undefined when there is none. */
export function inheritedConfig(env: NodeJS.ProcessEnv = process.env): Config | undefined {
  const raw = env[CHILD_CONFIG_ENV];
  if (raw === undefined || raw === '') return undefined;
  return parseConfig(parseJson(raw, CHILD_CONFIG_ENV), CHILD_CONFIG_ENV);
}

/** The JSON Schema for editors, generated from the zod schema. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(Config, { io: 'input' }) as Record<string, unknown>),
    title: 'mcp-starter configuration',
  };
}

/** The results of `checkConfig`: every problem, and the config when there is none. */
export interface ConfigCheck {
  config: Config | undefined;
  problems: ConfigProblem[];
  /** The MCP_STARTER_<KEY> variables that were applied. */
  envOverrides: string[];
}

type SchemaNode = JsonSchema & { default?: unknown; additionalProperties?: unknown };

let inputSchemaCache: SchemaNode | undefined;

/** The JSON Schema node at a key path, for its default and its keys. */
function schemaNodeAt(path: ReadonlyArray<PropertyKey>): SchemaNode | undefined {
  inputSchemaCache ??= z.toJSONSchema(Config, { io: 'input' }) as SchemaNode;
  let node: SchemaNode | undefined = inputSchemaCache;
  for (const key of path) node = typeof key === 'number' ? node?.items : node?.properties?.[String(key)];
  return node;
}

function unknownKeyHint(parent: ReadonlyArray<PropertyKey>, key: string): string {
  const known = Object.keys(schemaNodeAt(parent)?.properties ?? {}).filter((k) => k !== '$schema');
  const nearest = known.map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  const where = parent.length > 0 ? `"${parent.join('.')}"` : 'the top level';
  const suggestion = nearest !== undefined && nearest.d <= Math.max(2, Math.floor(key.length / 3)) ? `Did you mean "${nearest.k}"? ` : '';
  return `${suggestion}Keys allowed in ${where}: ${known.join(', ')} (etc/mcp-starter.example.json shows them all).`;
}

function valueHint(path: ReadonlyArray<PropertyKey>, envName: string | undefined): string {
  if (envName !== undefined) return `The value comes from the environment: fix ${envName} or unset it.`;
  const fallback = schemaNodeAt(path)?.default;
  if (fallback !== undefined) return `Fix the value, or delete the key to use the default (${JSON.stringify(fallback)}).`;
  return 'Fix the value; etc/mcp-starter.example.json shows one that works.';
}

function problemFrom(err: unknown, path: string): ConfigProblem {
  if (err instanceof AppError) return { path, message: err.message, hint: err.hint ?? 'See etc/mcp-starter.example.json.' };
  throw err;
}

/**
 * What `loadConfig` would make of a file and the environment, as a list of problems instead of
 * the first error: every unknown key, bad value and bad environment variable, each with its key
 * path and what to do (`mcp-starterctl config validate`). Without `env` the file alone is checked.
 * It finds a problem exactly when `loadConfig` would throw.
 */
export function checkConfig(options: { file?: string | undefined; env?: NodeJS.ProcessEnv | undefined } = {}): ConfigCheck {
  const problems: ConfigProblem[] = [];
  let raw: Record<string, unknown> = {};
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      const hint =
        code === 'ENOENT'
          ? 'Check the path; without a config file every setting has its default.'
          : 'Check that the file is readable by this user.';
      return {
        config: undefined,
        problems: [{ path: '', message: `Cannot read config file ${options.file}: ${code}.`, hint }],
        envOverrides: [],
      };
    }
    let parsed: unknown;
    try {
      parsed = parseJson(text, `Config file ${options.file}`);
    } catch (err) {
      return { config: undefined, problems: [problemFrom(err, '')], envOverrides: [] };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      const message = `Config file ${options.file} must hold a JSON object ({ ... }).`;
      return { config: undefined, problems: [{ path: '', message, hint: 'Start from etc/mcp-starter.example.json.' }], envOverrides: [] };
    }
    raw = structuredClone(parsed as Record<string, unknown>);
  }
  const fromEnv = new Map<string, string>();
  const keys = configEnvKeys();
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || NON_CONFIG_ENV.has(name) || value === undefined) continue;
    const key = keys.get(name);
    if (!key) {
      problems.push({
        path: name,
        message: `Unknown environment variable ${name}.`,
        hint: `${unknownKeyHint([], name)} Overrides are named after the key, e.g. ${envNameFor(['server', 'port'])}; unset ${name} or fix its name.`,
      });
      continue;
    }
    try {
      setPath(raw, key.path, coerceEnv(name, value, key.type));
      fromEnv.set(key.path.join('.'), name);
    } catch (err) {
      problems.push(problemFrom(err, key.path.join('.')));
    }
  }
  const result = Config.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) {
          problems.push({ path: [...issue.path, k].join('.'), message: `Unknown key "${k}".`, hint: unknownKeyHint(issue.path, k) });
        }
        continue;
      }
      const path = issue.path.join('.');
      const envName = fromEnv.get(path);
      const message = envName === undefined ? `${issue.message}.` : `${issue.message} (from ${envName}).`;
      problems.push({ path, message, hint: valueHint(issue.path, envName) });
    }
  }
  return {
    config: result.success && problems.length === 0 ? result.data : undefined,
    problems,
    envOverrides: [...fromEnv.values()],
  };
}
