// Writes etc/mcp-starter.schema.json from the zod config schema (a test fails when it is stale).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchema } from '../shared/config.js';
import { packageRoot } from '../shared/paths.js';

const file = join(packageRoot(), 'etc', 'mcp-starter.schema.json');
writeFileSync(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file}`);
