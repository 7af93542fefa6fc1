import { existsSync } from 'node:fs';
import { checkConfig, parseConfig, type ConfigCheck } from '../config.js';
import type { DataPaths } from '../paths.js';
import type { DiagnoseResult } from '../schemas/diagnose.js';
import { fileChecks, restartCommand, startCommand } from './file-checks.js';
import { INTEGRITY_MAX_BYTES } from './learning-checks.js';
import { LogView } from './log-checks.js';
import { fieldText, type LogEntry } from './log-tail.js';
import { machineCheck } from './machine.js';
import { checkPortOffline } from './network.js';
import { pidFromFile, processInfo } from './proc.js';
import { diagnoseResult, runChecks, type CheckSpec, type NewFinding, type Outcome } from './run.js';

/**
 * `ctl diagnose` with the daemon down (or not answering): what mcp-starterd would have checked
 * from the files, and what only its absence explains — that it is down and why, a server left
 * without it, the port it would need.
 */

export interface OfflineOptions {
  paths: DataPaths;
  /** The config file mcp-starterd would load (--config, MCP_STARTER_CONFIG). */
  configFile: string | undefined;
  env: NodeJS.ProcessEnv;
}

const isDaemonCommand = (command: string): boolean => /mcp-starterd|daemon\/main\.(ts|js)/.test(command);
const isServerCommand = (command: string): boolean => /mcp-starter-server|mcp-server\/main\.(ts|js)/.test(command);

function lastLines(log: LogView, n: number): string[] {
  return log
    .recentErrors()
    .slice(0, n)
    .map((l) => `${l.time ?? '?'} ${l.source}: ${l.message}`);
}

/** What the log says about how the daemon went away. */
function whyDown(log: LogView, pidLeft: number | undefined): { cause: string; details: string[] } {
  let tail;
  try {
    tail = log.get();
  } catch (err) {
    return { cause: `Its log could not be read (${(err as Error).message}).`, details: [] };
  }
  const details: string[] = [];
  const exit = tail.entries.find((e) => e.event === 'child_exit');
  const state = tail.entries.find((e) => e.event === 'child_state');
  if (state && (state.fields['state'] === 'fatal' || state.fields['state'] === 'backoff')) {
    details.push(`The MCP server was in ${fieldText(state.fields, 'state') ?? '?'} when the daemon stopped (${state.time ?? '?'}).`);
  }
  if (exit) details.push(`The server's last exit: ${describeExit(exit)}.`);
  details.push(...lastLines(log, 3));
  if (pidLeft !== undefined) {
    return {
      cause: `It did not stop cleanly: its pid file still names pid ${pidLeft}, which is gone (it crashed or was killed).`,
      details,
    };
  }
  const newest = (event: string): number => tail.entries.findIndex((e) => e.event === event);
  const started = newest('daemon_start');
  const stop = tail.entries.find((e) => e.event === 'daemon_stop');
  const exited = tail.entries.find((e) => e.event === 'daemon_exit');
  const stopIndex = Math.max(newest('daemon_stop'), newest('daemon_exit'));
  // Entries are newest first: a start logged after the last stop was never followed by one.
  if (started >= 0 && (stopIndex < 0 || started < stopIndex)) {
    return { cause: `It started at ${tail.entries[started]?.time ?? '?'} and never logged a stop: it crashed or was killed.`, details };
  }
  if (stop ?? exited) {
    const reason = stop === undefined ? undefined : fieldText(stop.fields, 'reason');
    return { cause: `It stopped at ${(exited ?? stop)?.time ?? '?'}${reason === undefined ? '' : ` (${reason})`}.`, details };
  }
  if (tail.files.length === 0) return { cause: 'It has not run with this data dir (there is no log yet).', details };
  return { cause: 'The log does not say why it stopped.', details };
}

function describeExit(e: LogEntry): string {
  const signal = fieldText(e.fields, 'signal');
  const how = signal !== undefined ? `signal ${signal}` : `code ${fieldText(e.fields, 'code') ?? '?'}`;
  return `${fieldText(e.fields, 'reason') ?? 'crash'}, ${how}, at ${e.time ?? '?'}`;
}

/** The daemon: down, or alive but not answering on its socket. */
function daemonCheck(o: OfflineOptions, log: LogView, state: { daemon: DiagnoseResult['daemon'] }): CheckSpec {
  return {
    id: 'daemon',
    category: 'installation',
    what: 'whether mcp-starterd runs',
    run: (): Outcome => {
      const pid = pidFromFile(o.paths.daemonPidFile);
      const info = pid === undefined ? undefined : processInfo(pid);
      if (pid !== undefined && info && isDaemonCommand(info.command)) {
        state.daemon = 'not_answering';
        const socketGone = !existsSync(o.paths.socket);
        return {
          summary: `pid ${pid} runs but does not answer`,
          findings: [
            {
              id: 'daemon_not_answering',
              severity: 'critical',
              title: `mcp-starterd (pid ${pid}) runs but does not answer`,
              cause: socketGone
                ? `Its control socket ${o.paths.socket} is gone (removed by hand?), so no ctl command reaches it; a restart makes a new one.`
                : `Nothing answered on ${o.paths.socket}: the daemon is hung or overloaded. Learners may still be served; control is lost until it restarts.`,
              fix: restartCommand(pid),
              details: [info.command],
            },
          ],
        };
      }
      const why = whyDown(log, pid);
      return {
        summary: 'not running',
        findings: [
          {
            id: 'daemon_down',
            category: 'connection',
            severity: 'critical',
            title: 'mcp-starterd is not running: learners cannot connect',
            cause: why.cause,
            fix: startCommand(o.paths, o.configFile),
            details: why.details,
          },
        ],
      };
    },
  };
}

/** A server left running without its daemon (it kept the port's handle, or was started by hand). */
function orphanCheck(o: OfflineOptions, portFindings: () => readonly NewFinding[]): CheckSpec {
  return {
    id: 'server',
    category: 'connection',
    what: 'a server process left without its daemon',
    run: (): Outcome => {
      const pid = pidFromFile(o.paths.childPidFile);
      const info = pid === undefined ? undefined : processInfo(pid);
      if (pid === undefined || !info || !isServerCommand(info.command)) return { summary: 'no server process runs' };
      // The port check already names it when it holds the port.
      if (portFindings().some((f) => f.fix === `kill ${pid}`)) return { summary: `pid ${pid} runs (it holds the port: see port)` };
      return {
        summary: `pid ${pid} runs without its daemon`,
        findings: [
          {
            id: 'server_orphaned',
            severity: 'error',
            title: `An MCP server (pid ${pid}) runs without its daemon`,
            cause:
              'Nobody supervises it: it is not restarted, probed or stopped safely, and the next daemon start cannot replace it cleanly.',
            fix: `kill ${pid}`,
            details: [info.command],
          },
        ],
      };
    },
  };
}

export async function diagnoseOffline(o: OfflineOptions): Promise<DiagnoseResult> {
  const startedMs = performance.now();
  const nowMs = Date.now();
  let checked: ConfigCheck | undefined;
  const configResult = (): ConfigCheck => (checked ??= checkConfig({ file: o.configFile, env: o.env }));
  // An invalid config is a finding of its own; the other checks go on with the defaults.
  const config = configResult().config ?? parseConfig({});
  const log = new LogView(o.paths, nowMs);
  const state: { daemon: DiagnoseResult['daemon'] } = { daemon: 'down' };
  let portFindings: readonly NewFinding[] = [];
  const files = fileChecks({
    paths: o.paths,
    config,
    configFile: o.configFile,
    configCheck: configResult,
    daemonUp: false,
    log,
    nowMs,
    integrityMaxBytes: INTEGRITY_MAX_BYTES.offline,
    serverHoldsDb: false,
  });
  const port: CheckSpec = {
    id: 'port',
    category: 'connection',
    what: `the port ${config.server.host}:${config.server.port}`,
    run: async () => {
      if (state.daemon === 'not_answering') return { summary: 'held by the daemon that does not answer (see daemon)', skipped: true };
      const outcome = await checkPortOffline(config.server.host, config.server.port);
      portFindings = outcome.findings ?? [];
      return outcome;
    },
  };
  try {
    const [configSpec, ...rest] = files.checks;
    const specs = [
      daemonCheck(o, log, state),
      ...(configSpec ? [configSpec] : []),
      port,
      orphanCheck(o, () => portFindings),
      ...rest,
      machineCheck(config.thresholds),
    ];
    const { checks, findings } = await runChecks(specs);
    return diagnoseResult({
      daemon: state.daemon,
      dataDir: o.paths.dataDir,
      startedMs,
      checks,
      findings,
      recentErrors: log.recentErrors(),
    });
  } finally {
    files.close();
  }
}
