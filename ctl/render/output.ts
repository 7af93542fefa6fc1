import { describeError, type AppError } from '../../shared/errors.js';

/**
 * The only place ctl writes to the terminal. stdout carries the answer (one JSON document with
 * --json); stderr carries errors and notes in human mode, and notes only with --json.
 */

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function printText(text: string): void {
  console.log(text);
}

export function printNote(text: string): void {
  console.error(`mcp-starterctl: ${text}`);
}

/** `--json`: `{"error":{code,message,hint}}` on stdout; else "mcp-starterctl: message\n  → hint" on stderr. */
export function printError(err: AppError, json: boolean, usage?: string): void {
  if (json) {
    printJson({ error: { code: err.code, message: err.message, hint: err.hint ?? null } });
    return;
  }
  console.error(`mcp-starterctl: ${describeError(err)}`);
  if (usage !== undefined) console.error(`\n${usage}`);
}

/** The stack of an unexpected error (a bug), for the report. */
export function printStack(err: unknown): void {
  if (err instanceof Error && err.stack !== undefined) console.error(err.stack);
}
