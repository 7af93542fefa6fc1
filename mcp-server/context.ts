import type { Logger } from '../shared/logger.js';
import type { Learner } from '../shared/store/users.js';
import type { ActivityTracker } from './activity.js';
import type { Catalog } from './catalog-loader.js';
import type { Learning } from './learning.js';

/** What the tools, resources and prompts of one MCP server instance use. Built once per process. */
export interface ServerDeps {
  learning: Learning;
  catalog: Catalog;
  locale: string;
  activity: ActivityTracker;
  log: Logger;
}

/** Who is calling, fixed by the transport (stdio: the local learner; HTTP: the bearer token's). */
export interface CallContext {
  learner: Learner;
  transport: 'stdio' | 'http';
  /** The daemon's health probe: served, but not counted as learner activity or in the reports. */
  probe?: boolean;
}
