import { checkConfig, type ConfigCheck } from '../../shared/config.js';
import { fileChecks } from '../../shared/diagnose/file-checks.js';
import { INTEGRITY_MAX_BYTES } from '../../shared/diagnose/learning-checks.js';
import { liveChecks, type LiveState } from '../../shared/diagnose/live.js';
import { LogView } from '../../shared/diagnose/log-checks.js';
import { diagnoseResult, runChecks } from '../../shared/diagnose/run.js';
import type { DataPaths } from '../../shared/paths.js';
import type { Config } from '../../shared/schemas/config.js';
import type { DiagnoseResult, MetricsAnalyzeResult, StatusResult } from '../../shared/schemas/rpc.js';
import type { ControlServer } from '../control-server.js';
import { MIN_SAMPLES } from '../metrics/alerts.js';

export interface DiagnoseDeps {
  paths: DataPaths;
  /** The file the daemon loaded its config from (undefined: defaults and environment). */
  configFile: string | undefined;
  /** The config in force now (a reload may have changed it). */
  config: () => Config;
  status: () => StatusResult;
  analyze: (hours: number) => MetricsAnalyzeResult;
  /** The serving server's latest figures. */
  stats: () => { inFlight: number; openStreams: number } | undefined;
  queuedConnections: () => number;
  controlConnections: () => number;
}

/**
 * `diagnose` with the daemon up: the checks of the files (shared with ctl's offline diagnosis)
 * after the live ones (exported for `recover`, which starts from a diagnosis). Its SQLite work is bounded (quick_check only up to a size; a 250 ms lock
 * wait), because it runs on the daemon's event loop.
 */
export async function diagnose(deps: DiagnoseDeps): Promise<DiagnoseResult> {
  const startedMs = performance.now();
  const nowMs = Date.now();
  const config = deps.config();
  const log = new LogView(deps.paths, nowMs);
  let checked: ConfigCheck | undefined;
  const status = deps.status();
  const state = (): LiveState => ({
    child: status.child,
    alerts: status.alerts,
    analysis: deps.analyze(config.alerts.windowMinutes / 60).analysis,
    minSamples: MIN_SAMPLES,
    stats: deps.stats(),
    queuedConnections: deps.queuedConnections(),
    controlConnections: deps.controlConnections(),
    config,
    url: status.url,
    log,
  });
  let live: LiveState | undefined;
  const files = fileChecks({
    paths: deps.paths,
    config,
    configFile: deps.configFile,
    // The file as it is now, with the daemon's environment: what a reload or a restart would load.
    configCheck: () => (checked ??= checkConfig({ file: deps.configFile, env: process.env })),
    daemonUp: true,
    log,
    nowMs,
    integrityMaxBytes: INTEGRITY_MAX_BYTES.daemon,
    serverHoldsDb: status.child.state === 'running' || status.child.state === 'reloading',
  });
  try {
    const { checks, findings } = await runChecks([...liveChecks(() => (live ??= state())), ...files.checks]);
    return diagnoseResult({
      daemon: 'running',
      dataDir: deps.paths.dataDir,
      startedMs,
      checks,
      findings,
      recentErrors: log.recentErrors(),
    });
  } finally {
    files.close();
  }
}

/** The `diagnose` method: concurrent callers share one run. */
export function registerDiagnose(control: ControlServer, deps: DiagnoseDeps): void {
  let running: Promise<DiagnoseResult> | undefined;
  control.method('diagnose', () => {
    running ??= diagnose(deps).finally(() => (running = undefined));
    return running;
  });
}
