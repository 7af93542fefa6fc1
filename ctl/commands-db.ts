import type { Command } from './command-kit.js';

/** `backup`, `backups`, `restore FILE`, `db check`, `db optimize`. */
export const DB_COMMANDS: readonly Command[] = [];
