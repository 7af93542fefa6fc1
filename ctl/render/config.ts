import type { ConfigValidation } from '../config-validate.js';
import { bytes, duration, paint, plural, rows } from './format.js';

function source(v: ConfigValidation): string {
  return v.result.file ?? 'The configuration (no config file: defaults and environment)';
}

function summary(v: ConfigValidation): string[] {
  const c = v.config;
  if (c === undefined) return [];
  const facts: Array<[string, string]> = [
    ['server', `http://${c.server.host}:${c.server.port}/mcp${c.server.requireAuth ? ' (token required)' : ''}`],
    ['drain', `${duration(c.drain.timeoutMs)}, then SIGTERM; SIGKILL after ${duration(c.drain.killTimeoutMs)}`],
    ['ready', `${duration(c.restart.readyTimeoutMs)} for a new server to be ready`],
    ['logs', `${c.logs.level}, rotated at ${bytes(c.logs.maxBytes)}, ${c.logs.keep} kept, ${bytes(c.logs.maxTotalBytes)} at most in all`],
  ];
  if (v.envOverrides.length > 0) facts.push(['environment', v.envOverrides.join(', ')]);
  return [rows(facts)];
}

/** "✓ FILE is valid." with the settings that matter most, or every problem with its hint. */
export function renderConfigValidate(v: ConfigValidation): string {
  const out: string[] = [];
  if (v.result.valid) {
    out.push(`${paint('green', '\u2713')} ${source(v)} is valid.`, ...summary(v));
  } else {
    out.push(`${paint('red', '\u2717')} ${source(v)} has ${plural(v.result.problems.length, 'problem')}:`);
    for (const p of v.result.problems) {
      out.push(`  ${paint('bold', p.path === '' ? '(file)' : p.path)}: ${p.message}`, `    \u2192 ${p.hint}`);
    }
  }
  if (v.envIgnored.length > 0) {
    out.push(
      paint(
        'dim',
        `  Not applied: ${v.envIgnored.join(', ')} (FILE is checked as written; run \`mcp-starterctl config validate\` without FILE to include them).`,
      ),
    );
  }
  return out.join('\n');
}
