import type { Command } from './command-kit.js';

/** `diagnose` (and, later, `recover`). */
export const DIAGNOSE_COMMANDS: readonly Command[] = [];
