import { Cron as CronPattern } from 'croner';
import { z } from 'zod';

/**
 * The configuration: one JSON file, every key defaulted, unknown keys rejected by name.
 * Defaults follow the operations manual (thresholds, drain, log rotation, schedule).
 * `etc/mcp-starter.schema.json` is generated from this schema (`npm run gen:schema`).
 */

const Port = z.number().int().min(0).max(65535);
const PositiveMs = z.number().int().min(1);
const Percent = z.number().min(1).max(100);
const Cron = z
  .string()
  .trim()
  .regex(/^(\S+\s+){4,5}\S+$/, 'use a 5- or 6-field cron pattern, e.g. "0 2 * * *" for 02:00 every day')
  .check((ctx) => {
    // croner, which runs the jobs, is the judge of a pattern: "99 * * * *" has the right shape and no time.
    try {
      new CronPattern(ctx.value).stop();
    } catch (err) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `${(err as Error).message.replace(/^CronPattern: /, '')}; e.g. "0 2 * * *" is 02:00 every day`,
      });
    }
  });

const Server = z
  .strictObject({
    /** Address the HTTP transport binds; a non-loopback address requires `requireAuth`. */
    host: z.string().trim().min(1).default('127.0.0.1'),
    port: Port.default(8000),
    /** Extra Host header names accepted (DNS-rebinding protection); loopback names are always accepted on a loopback bind. */
    allowedHosts: z.array(z.string().trim().min(1)).default([]),
    /** Extra Origin host names accepted from browsers; loopback origins are always accepted on a loopback bind. */
    allowedOrigins: z.array(z.string().trim().min(1)).default([]),
    /** Require a learner's bearer token on every MCP request, even on loopback. */
    requireAuth: z.boolean().default(false),
    /** Largest request body accepted; larger ones get 413. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(256 * 1024),
    /**
     * Learners' requests started at once (the outer bound; the probe and /health are not counted);
     * a slot frees at the end of the event-loop turn its request ended in, so this also bounds the
     * work of one turn and keeps the server quick to take connections and probes. More wait in
     * arrival order (`maxQueuedRequests`, `maxQueueWaitMs`).
     */
    maxConcurrentRequests: z.number().int().min(1).max(10_000).default(32),
    /** Learners' open SSE response streams at once (the outer bound); more get 503 with Retry-After. */
    maxOpenStreams: z.number().int().min(1).max(10_000).default(64),
    /** Requests in progress on one connection (pipelined, or with a body still arriving); more get 429. */
    maxRequestsPerConnection: z.number().int().min(1).max(1_000).default(4),
    /** Open streams on one connection; more get 429. */
    maxStreamsPerConnection: z.number().int().min(1).max(1_000).default(1),
    /**
     * Requests in progress for one learner (named by a bearer token; the tokenless local learner
     * is bounded per connection instead), bodies still arriving and waiting ones included; more get 429.
     */
    maxRequestsPerLearner: z.number().int().min(1).max(10_000).default(16),
    /** Open streams of one learner (named by a bearer token); more get 429. */
    maxStreamsPerLearner: z.number().int().min(1).max(10_000).default(4),
    /** Requests waiting (in arrival order) for one of `maxConcurrentRequests`; more get 503 with Retry-After at once. */
    maxQueuedRequests: z.number().int().min(1).max(100_000).default(1024),
    /**
     * Longest wait for a free slot: a request that cannot start within it gets 503 with Retry-After,
     * at once when the queue shows it cannot. Unset: `thresholds.responseTimeMs` (the manual's 2 s).
     */
    maxQueueWaitMs: PositiveMs.optional(),
    /** Requests of the daemon's probe served at once beside the learners' caps (its reserved room). */
    reservedRequests: z.number().int().min(1).max(100).default(4),
    /** While no server can take a connection (a restart), it waits in the daemon's queue this long, then gets 503. */
    queueTimeoutMs: PositiveMs.default(30_000),
    /** Connections waiting in that queue at most; more get 503 with Retry-After at once. */
    maxQueuedConnections: z.number().int().min(1).max(100_000).default(1024),
    /** Body timeout: a request body not complete this long after its headers gets 408 and the connection is closed. */
    requestTimeoutMs: PositiveMs.default(30_000),
    /** Header timeout: a connection whose request headers are not complete this long after they began gets 408 and is closed. */
    headersTimeoutMs: PositiveMs.default(10_000),
    /**
     * Idle timeout: a keep-alive connection with no request for this long is closed. Responses
     * advertise it (`Keep-Alive: timeout=`), and clients that honour that (undici, so the TS SDK)
     * retire an idle connection a second before, so this closes none that a client is about to
     * use. It is also the longest an idle client holds up a restart.
     */
    keepAliveTimeoutMs: PositiveMs.default(2_000),
    /**
     * Unset (the default): in a restart or reload idle keep-alive connections end at the idle
     * timeout, as their clients expect. Set: they are closed once idle this long, for quicker
     * restarts, at the risk of meeting a request already on its way (HTTP/1.1 cannot tell a
     * client to stop using a connection). Measured, 10 restarts and 5 reloads under 8 busy
     * clients: 200 ms failed 3 to 8 calls, 500 ms 1 to 2, 1000 ms 0 to 3, 2000 ms 0 to 1; unset, none.
     */
    drainIdleCloseMs: PositiveMs.optional(),
    /** How often the tokens of learners' open requests and streams are checked again; a revoked learner's are closed. */
    authRecheckMs: PositiveMs.default(5_000),
  })
  .prefault({});

const Learner = z
  .strictObject({
    /** The learner used over stdio, and over loopback HTTP without a token. */
    localName: z.string().trim().min(1).max(64).default('local'),
    /** Locale of tutorial text; falls back to "en" where a tutorial has no translation. */
    locale: z
      .string()
      .regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'use a language tag such as "en" or "ja"')
      .default('en'),
  })
  .prefault({});

const Sessions = z
  .strictObject({
    /** A learner idle this long ends a working session (`session_end`); the next activity starts one. */
    idleMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(30),
    /** Session rows idle longer than this are removed by daily maintenance. */
    ttlHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .default(24),
    /** `user_sessions.last_activity` is written at most this often per learner. */
    activityWriteIntervalMs: PositiveMs.default(60_000),
  })
  .prefault({});

const Stats = z
  .strictObject({
    /** How often the server reports in-flight requests and timings to the daemon. */
    intervalMs: z.number().int().min(100).default(5_000),
  })
  .prefault({});

const Thresholds = z
  .strictObject({
    cpuPercent: Percent.default(80),
    memoryPercent: Percent.default(75),
    responseTimeMs: PositiveMs.default(2_000),
    diskPercent: Percent.default(85),
  })
  .prefault({});

const Drain = z
  .strictObject({
    /** How long a stop waits for in-flight requests and active learners. */
    timeoutMs: z.number().int().min(0).default(30_000),
    /** After SIGTERM, how long before SIGKILL. */
    killTimeoutMs: PositiveMs.default(5_000),
  })
  .prefault({});

const Restart = z
  .strictObject({
    backoffInitialMs: z.number().int().min(0).default(100),
    backoffMaxMs: PositiveMs.default(30_000),
    /** A child up this long resets the backoff. */
    stableAfterMs: PositiveMs.default(60_000),
    /** More restarts than this within `windowMs` is a crash loop: the child stays down (`fatal`). */
    maxRestarts: z.number().int().min(1).default(5),
    windowMs: PositiveMs.default(60_000),
    /** How long a starting child may take to report ready. */
    readyTimeoutMs: PositiveMs.default(15_000),
    /**
     * A server whose resident memory stays above this many MB for `maxMemoryForMs` is restarted
     * gracefully through the lifecycle (PM2's max_memory_restart); 0 = never.
     */
    maxMemoryMb: z.number().int().min(0).max(1_048_576).default(0),
    /** How long the server's memory must stay over `maxMemoryMb` (a short peak is not a leak). */
    maxMemoryForMs: PositiveMs.default(60_000),
  })
  .prefault({});

const Probe = z
  .strictObject({
    intervalMs: PositiveMs.default(10_000),
    timeoutMs: PositiveMs.default(5_000),
    /** Consecutive failed probes before the child is restarted. */
    failuresBeforeRestart: z.number().int().min(1).default(3),
    /**
     * A connection handed to the server and not taken within this long means its event loop is
     * stuck: it is probed at once and, if that fails too, restarted (the connections it never took
     * go to the replacement).
     */
    handoffTimeoutMs: PositiveMs.default(5_000),
  })
  .prefault({});

const Logs = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    /** A log file larger than this is rotated (manual: 100 MB). */
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(100 * 1024 * 1024),
    /** Rotated files kept (manual: 7): `.1` plain, older ones gzip-compressed (`.2.gz` …). */
    keep: z.number().int().min(1).max(100).default(7),
    /**
     * All log files together (the current one and the rotated ones); past it the oldest rotated
     * files are deleted first, never the current one. At least `maxBytes`.
     */
    maxTotalBytes: z
      .number()
      .int()
      .min(1024 * 1024)
      .default(1024 * 1024 * 1024),
  })
  .check((ctx) => {
    if (ctx.value.maxTotalBytes >= ctx.value.maxBytes) return;
    ctx.issues.push({
      code: 'custom',
      input: ctx.value.maxTotalBytes,
      path: ['maxTotalBytes'],
      message: `logs.maxTotalBytes (${ctx.value.maxTotalBytes}) is smaller than logs.maxBytes (${ctx.value.maxBytes}), so the current file alone could pass it; make it at least logs.maxBytes`,
    });
  })
  .prefault({});

const Schedule = z
  .strictObject({
    healthReport: Cron.default('0 * * * *'),
    rotateLogs: Cron.default('0 1 * * *'),
    dailyMaintenance: Cron.default('0 2 * * *'),
    weeklyReport: Cron.default('0 3 * * 0'),
    optimizeDb: Cron.default('30 3 * * 0'),
    /** IANA timezone the patterns are read in (e.g. "Europe/Berlin"); the machine's local time when absent. */
    timezone: z
      .string()
      .trim()
      .min(1)
      .check((ctx) => {
        try {
          new Intl.DateTimeFormat(undefined, { timeZone: ctx.value });
        } catch {
          ctx.issues.push({
            code: 'custom',
            input: ctx.value,
            message: `unknown timezone "${ctx.value}"; use an IANA name such as "Europe/Berlin" or "UTC", or leave it out for local time`,
          });
        }
      })
      .optional(),
  })
  .prefault({});

const Control = z
  .strictObject({
    /** Control-socket connections open at once (ctl calls, subscribers); more are told and closed. */
    maxConnections: z.number().int().min(1).max(10_000).default(64),
    /** A connection that sends nothing and subscribes to nothing is closed after this long. */
    idleTimeoutMs: PositiveMs.default(60_000),
    /** Longest control message (one JSON line); longer ones are answered with an error and skipped. */
    maxLineBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /** Unsent bytes a subscriber may fall behind by before it is told and dropped. */
    maxSubscriberBufferBytes: z
      .number()
      .int()
      .min(16 * 1024)
      .default(1024 * 1024),
  })
  .prefault({});

const Metrics = z
  .strictObject({
    /** How often the daemon samples the machine, the server process and the server's figures; 0 = off. */
    sampleIntervalMs: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .refine((ms) => ms === 0 || ms >= 1_000, 'use 0 (off) or at least 1000 ms')
      .default(10_000),
    /** Samples are kept at full resolution this long, then as hourly averages (manual: analysis over 24 h). */
    retentionDays: z.number().int().min(1).max(3_650).default(30),
    /**
     * Hourly averages (and probe results, health checks, closed alerts, job runs — each job keeps its
     * latest — and availability intervals — never inside the 7-day window) are kept this long.
     */
    hourlyRetentionDays: z.number().int().min(1).max(3_650).default(365),
  })
  .prefault({});

const Alerts = z
  .strictObject({
    /** The alert rules look at this many minutes of the latest samples (the manual's shares: CPU, memory 10 %, response 5 %). */
    windowMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(15),
    /**
     * Hysteresis: a raised alert clears only once its share of samples over the line falls to this
     * fraction of the rule's share (a disk alert: once the disk is 2 points under its line), so it does not flap.
     */
    clearRatio: z.number().min(0).max(1).default(0.5),
    /**
     * A program run for every alert raised or cleared, with the alert as one JSON line on stdin
     * (argv form, no shell): e.g. ["/usr/local/bin/notify-ops"]. Empty: none.
     */
    command: z.array(z.string().min(1)).max(64).default([]),
    /** The command is ended (SIGKILL) after this long; its failure is logged. */
    commandTimeoutMs: PositiveMs.max(300_000).default(10_000),
  })
  .prefault({});

const Prometheus = z
  .strictObject({
    /** Port of the Prometheus `/metrics` endpoint; 0 = off (the default). */
    port: Port.default(0),
    /** Address it binds: a loopback address unless you mean to expose it. */
    host: z.string().trim().min(1).default('127.0.0.1'),
  })
  .prefault({});

const Backups = z
  .strictObject({
    keep: z.number().int().min(1).max(1000).default(14),
  })
  .prefault({});

export const Config = z.strictObject({
  /** Lets editors find etc/mcp-starter.schema.json; ignored otherwise. */
  $schema: z.string().optional(),
  server: Server,
  learner: Learner,
  sessions: Sessions,
  stats: Stats,
  thresholds: Thresholds,
  drain: Drain,
  restart: Restart,
  probe: Probe,
  logs: Logs,
  schedule: Schedule,
  backups: Backups,
  control: Control,
  metrics: Metrics,
  alerts: Alerts,
  prometheus: Prometheus,
});

export type Config = z.infer<typeof Config>;
export type ConfigInput = z.input<typeof Config>;
