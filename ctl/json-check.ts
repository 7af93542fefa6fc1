/**
 * A checker for the part of JSON Schema that `z.toJSONSchema(schema, {io: 'input'})` emits for
 * the control API's results. ctl validates every answer with it instead of zod because loading
 * zod and building the schemas was most of `ctl status`'s wall time (issue 7; bench/ctl.ts).
 * The schemas it reads are generated from shared/schemas/rpc.ts (ctl/rpc-schemas.generated.ts),
 * and test/ctl.test.ts proves that it accepts, rejects and outputs what zod does for them.
 * Like zod's `z.object`, it drops unknown keys unless the object is strict
 * (`additionalProperties: false`), and fills in `default`s.
 */

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

export interface JsonSchema {
  $schema?: string;
  type?: JsonType | readonly JsonType[];
  properties?: { readonly [key: string]: JsonSchema };
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  enum?: readonly unknown[];
  const?: unknown;
  anyOf?: readonly JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  /** An annotation here: zod emits a `pattern` beside every `format` it checks. */
  format?: string;
  default?: unknown;
  description?: string;
}

/** Every keyword this checker understands; a test fails when a generated schema uses another. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  '$schema',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'items',
  'enum',
  'const',
  'anyOf',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'format',
  'default',
  'description',
]);

export interface Issue {
  path: ReadonlyArray<string | number>;
  message: string;
}

export type CheckResult = { ok: true; value: unknown } | { ok: false; issues: Issue[] };

type Path = ReadonlyArray<string | number>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function hasType(type: JsonType, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
  }
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Size and range limits of one value that already has the right type. */
function limits(schema: JsonSchema, value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `expected a number >= ${schema.minimum}, got ${value}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `expected a number <= ${schema.maximum}, got ${value}`;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
      return `expected a number > ${schema.exclusiveMinimum}, got ${value}`;
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum)
      return `expected a number < ${schema.exclusiveMaximum}, got ${value}`;
  }
  if (typeof value === 'string') {
    // JSON Schema counts code points; so does zod's length check on the strings it gets here.
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) return `expected at least ${schema.minLength} characters`;
    if (schema.maxLength !== undefined && length > schema.maxLength) return `expected at most ${schema.maxLength} characters`;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) return `expected text matching ${schema.pattern}`;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return `expected at least ${schema.minItems} items`;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return `expected at most ${schema.maxItems} items`;
  }
  return undefined;
}

function checkObject(schema: JsonSchema, value: Record<string, unknown>, path: Path, issues: Issue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  // In the schema's key order, as zod reports its issues.
  for (const [key, property] of Object.entries(properties)) {
    if (Object.hasOwn(value, key) && value[key] !== undefined) out[key] = walk(property, value[key], [...path, key], issues);
    else if (property.default !== undefined) out[key] = structuredClone(property.default);
    else if (required.has(key)) issues.push({ path: [...path, key], message: 'required' });
  }
  const extra = schema.additionalProperties;
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(properties, key)) continue;
    if (extra === false) issues.push({ path: [...path, key], message: 'unknown key' });
    else if (typeof extra === 'object') {
      if (schema.propertyNames !== undefined) walk(schema.propertyNames, key, [...path, key], issues);
      out[key] = walk(extra, value[key], [...path, key], issues);
    }
    // Otherwise an unknown key is dropped, as z.object drops it.
  }
  return out;
}

function walk(schema: JsonSchema, value: unknown, path: Path, issues: Issue[]): unknown {
  for (const key of Object.keys(schema)) {
    if (!KEYWORDS.has(key)) throw new Error(`json-check: unsupported keyword "${key}" at ${path.join('.') || '(root)'}`);
  }
  if (schema.anyOf !== undefined) {
    for (const option of schema.anyOf) {
      const attempt: Issue[] = [];
      const out = walk(option, value, path, attempt);
      if (attempt.length === 0) return out;
    }
    issues.push({ path, message: `no allowed shape matches ${show(value)}` });
    return value;
  }
  if (schema.const !== undefined && value !== schema.const) {
    issues.push({ path, message: `expected ${show(schema.const)}, got ${show(value)}` });
    return value;
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    issues.push({ path, message: `expected one of ${schema.enum.map(show).join(', ')}, got ${show(value)}` });
    return value;
  }
  const types = schema.type === undefined ? undefined : typeof schema.type === 'string' ? [schema.type] : schema.type;
  if (types !== undefined && !types.some((t) => hasType(t, value))) {
    issues.push({ path, message: `expected ${types.join(' or ')}, got ${typeOf(value)}` });
    return value;
  }
  const limit = limits(schema, value);
  if (limit !== undefined) {
    issues.push({ path, message: limit });
    return value;
  }
  if (isPlainObject(value) && (schema.properties !== undefined || schema.additionalProperties !== undefined)) {
    return checkObject(schema, value, path, issues);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    const items = schema.items;
    return Array.from(value, (item, i) => walk(items, item, [...path, i], issues));
  }
  return value;
}

/** Checks `value` against `schema`; on success the value as zod would output it (unknown keys dropped, defaults filled). */
export function checkJson(schema: JsonSchema, value: unknown): CheckResult {
  const issues: Issue[] = [];
  const out = walk(schema, value, [], issues);
  return issues.length === 0 ? { ok: true, value: out } : { ok: false, issues };
}
