import { z } from 'zod';

/**
 * `ctl diagnose` / RPC `diagnose` (DESIGN.md; issue 10, Troubleshooting): the manual's 4.1
 * categories, each finding with its cause and the command that fixes it, most serious first,
 * and every check that ran, so a healthy answer still says what was looked at. Re-exported by rpc.ts.
 */

/**
 * The manual's 4.1 categories (接続エラー, パフォーマンス低下, 学習データ不整合), and ours for
 * what is wrong with the install itself (config, data dir, permissions, the daemon).
 */
export const DiagnoseCategory = z.enum(['connection', 'slowdown', 'learning_data', 'installation']);
export type DiagnoseCategory = z.infer<typeof DiagnoseCategory>;

/** `critical`: learners cannot work (or data is at risk); `error`: something is broken; `warning`: heading there. */
export const DiagnoseSeverity = z.enum(['critical', 'error', 'warning']);
export type DiagnoseSeverity = z.infer<typeof DiagnoseSeverity>;

export const DiagnoseFinding = z.object({
  /** Stable name of the problem, for scripts (`port_taken`, `progress_step_past_end`, …; docs in the README). */
  id: z.string(),
  /** The check that found it (`DiagnoseCheck.id`). */
  check: z.string(),
  category: DiagnoseCategory,
  severity: DiagnoseSeverity,
  /** One line: what is wrong. */
  title: z.string(),
  /** Why, with the figures that show it. */
  cause: z.string(),
  /** The exact command that fixes it (or, where no one command can, that shows what to fix). */
  fix: z.string(),
  /** Examples, counts, the last lines: what the cause summarises. */
  details: z.array(z.string()),
});
export type DiagnoseFinding = z.infer<typeof DiagnoseFinding>;

/** `error`: the check itself could not run (its finding says why); `skipped`: it does not apply here. */
export const DiagnoseCheckStatus = z.enum(['pass', 'fail', 'skipped', 'error']);
export type DiagnoseCheckStatus = z.infer<typeof DiagnoseCheckStatus>;

export const DiagnoseCheck = z.object({
  id: z.string(),
  category: DiagnoseCategory,
  status: DiagnoseCheckStatus,
  /** What was found, in a line (a passing check says what it looked at). */
  summary: z.string(),
  ms: z.number().min(0),
});
export type DiagnoseCheck = z.infer<typeof DiagnoseCheck>;

/** One error line of the daemon's log (its own, or the server's it wrote). */
export const DiagnoseLogLine = z.object({
  time: z.string().nullable(),
  level: z.string(),
  /** `mcp-starterd`, `mcp-starter-server`, with the component when the line names one. */
  source: z.string(),
  event: z.string().nullable(),
  message: z.string(),
});
export type DiagnoseLogLine = z.infer<typeof DiagnoseLogLine>;

export const DiagnoseResult = z.object({
  /** No finding at all. */
  ok: z.boolean(),
  checkedAt: z.string(),
  /** Who answered: the daemon (`running`), or ctl from the files (`down`; `not_answering`: its process lives but its socket does not answer). */
  daemon: z.enum(['running', 'down', 'not_answering']),
  dataDir: z.string(),
  /** How long the whole diagnosis took. */
  ms: z.number().min(0),
  /** Most serious first (critical, error, warning), then in the order the checks ran. */
  findings: z.array(DiagnoseFinding),
  checks: z.array(DiagnoseCheck),
  /** The last error lines of the log, newest first (at most 20; `ctl diagnose --errors` prints them). */
  recentErrors: z.array(DiagnoseLogLine),
});
export type DiagnoseResult = z.infer<typeof DiagnoseResult>;
