import { z } from 'zod';

/**
 * The log methods' params and results (`logs.tail`, `logs.analyze`) and the `logs` topic's
 * notification: DESIGN.md, JSON that scripts read. Re-exported by rpc.ts, whose method table uses them.
 */

export const LogLevelName = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
export type LogLevelName = z.infer<typeof LogLevelName>;

/** The most lines one `logs.tail` answers (its answer must fit one control-socket line as well). */
export const MAX_TAIL_LINES = 10_000;

export const LogsTailParams = z
  .strictObject({
    /** The last this many lines (that pass `level`). */
    lines: z.number().int().min(1).max(MAX_TAIL_LINES).default(50),
    /** Only lines at this level or above (`warn`: warn, error, fatal); lines that are not JSON always pass. */
    level: LogLevelName.optional(),
  })
  .prefault({});
export type LogsTailParams = z.output<typeof LogsTailParams>;

/**
 * One log line: the JSON object in the file, key for key. A line that is not a JSON object is
 * `{raw}`; a line longer than 16 KiB is cut: its `level`, `time`, `name`, `component`, `event`
 * when its start has them, `raw` (its first 16 Ki characters) and `truncated` (its size in bytes).
 */
export const LogEntry = z.record(z.string(), z.unknown());

export const LogsTailResult = z.object({
  /** Oldest first. */
  lines: z.array(LogEntry),
  /** Lines cut because they were longer than 16 KiB. */
  cutLines: z.number().int().min(0),
  /** Fewer lines than asked for: more would not fit in one answer (1 MiB); ask for fewer, or filter with `level`. */
  sizeLimited: z.boolean(),
});
export type LogsTailResult = z.infer<typeof LogsTailResult>;

/** The `logs` topic: every line the daemon writes to its log, as written. */
export const LogsNotification = z.object({ line: z.string() });
export type LogsNotification = z.infer<typeof LogsNotification>;

export const LogsAnalyzeParams = z
  .strictObject({
    hours: z
      .number()
      .positive()
      .max(24 * 3_650)
      .default(24),
  })
  .prefault({});
export type LogsAnalyzeParams = z.output<typeof LogsAnalyzeParams>;

const Count = z.number().int().min(0);

export const ToolLatency = z.object({
  tool: z.string(),
  calls: Count,
  /** Calls that answered with an error (`ok: false`). */
  failed: Count,
  /** Latency percentiles in ms, from a log-scale histogram (within 2.5 %); null when no call logged its `ms`. */
  p50_ms: z.number().min(0).nullable(),
  p95_ms: z.number().min(0).nullable(),
  max_ms: z.number().min(0).nullable(),
});
export type ToolLatency = z.infer<typeof ToolLatency>;

export const LogFileRead = z.object({
  file: z.string(),
  bytes: Count,
  compressed: z.boolean(),
  /** Why the file could not be read to its end (a corrupt `.gz`): its lines up to there are counted. */
  error: z.string().nullable(),
});

export const LogsAnalyzeResult = z.object({
  // The manual's figures (DESIGN.md fixes these keys).
  hours: z.number(),
  /** Lines at level error or fatal. */
  errors: Count,
  /** Lines at level warn. */
  warnings: Count,
  /** The most frequent errors, grouped by their message with ids, numbers, paths, quoted text and times replaced by placeholders. */
  top_errors: z.array(
    z.object({
      message: z.string(),
      count: z.number().int().min(1),
      /** One message of the group as it was logged. */
      example: z.string(),
    }),
  ),
  /** `tool_call` events of learners (the daemon's probe's are left out). */
  tool_calls: Count,
  resource_accesses: Count,
  new_learners: Count,
  // Ours.
  /** The window: lines whose `time` is from `from` on. */
  from: z.string(),
  to: z.string(),
  /** Per tool, most calls first. */
  tools: z.array(ToolLatency),
  /** `tool_call` events of the daemon's probe, not counted above. */
  probe_calls: Count,
  /** Lines in the files read, in the window or not. */
  lines_read: Count,
  /** Lines in the window. */
  lines_in_window: Count,
  /** Lines that are not JSON objects with a `time`: not counted (a crash dump, a hand edit). */
  unparsed_lines: Count,
  /** Lines longer than 1 MiB: skipped unread. */
  oversize_lines: Count,
  /** Errors not grouped because 1000 groups were already tracked (they are in `errors`). */
  ungrouped_errors: Count,
  /** The files read, oldest first. */
  files_read: z.array(LogFileRead),
  /** Older rotated files left unread: their last line is older than the window. */
  files_skipped: Count,
  bytes_read: Count,
  ms: z.number().min(0),
});
export type LogsAnalyzeResult = z.infer<typeof LogsAnalyzeResult>;
