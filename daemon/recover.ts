import { toAppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { DataPaths } from '../shared/paths.js';
import { configStep, databaseStep, diagnosisStep, progressStep, recovered, restoreStep } from '../shared/recover/steps.js';
import type { BackupRestoreResult } from '../shared/schemas/backup.js';
import type { DiagnoseResult } from '../shared/schemas/diagnose.js';
import type { RecoverParams, RecoverResult, RecoverStep } from '../shared/schemas/recover.js';
import type { ChildStatus, HealthResult } from '../shared/schemas/rpc.js';

export interface RecoverDeps {
  paths: DataPaths;
  /** The config file the daemon loads (undefined: defaults and environment). */
  configFile: string | undefined;
  env: NodeJS.ProcessEnv;
  diagnose: () => Promise<DiagnoseResult>;
  /** `restore FILE` through the lifecycle (keeps the replaced file). */
  restore: (file: string) => Promise<BackupRestoreResult>;
  /** Hands the server over to one in minimal mode (debug logging; no jobs, alert command, Prometheus). */
  enterMinimal: () => Promise<ChildStatus>;
  health: () => Promise<HealthResult>;
  log: Logger;
}

const CTL = 'mcp-starterctl';

async function minimalStep(enter: () => Promise<ChildStatus>): Promise<RecoverStep> {
  try {
    const child = await enter();
    const serving = child.state === 'running' || child.state === 'reloading';
    return {
      step: 'minimal',
      status: serving ? 'done' : 'failed',
      summary: serving
        ? `the server runs in minimal mode (pid ${child.pid ?? '?'}): debug logging; no scheduled jobs, alert command or Prometheus`
        : `minimal mode is on, but the server is ${child.state}${child.hint === null ? '' : `: ${child.hint}`}`,
      fix: serving ? null : `${CTL} status`,
      details: child.lastStderr.slice(-5),
    };
  } catch (err) {
    const e = toAppError(err);
    return {
      step: 'minimal',
      status: 'failed',
      summary: `could not start minimal mode: ${e.message}`,
      fix: e.hint ?? `${CTL} status`,
      details: [],
    };
  }
}

async function healthStep(health: () => Promise<HealthResult>): Promise<RecoverStep> {
  try {
    const h = await health();
    const failing = Object.entries(h.checks).filter(([, c]) => c.status !== 'pass');
    return {
      step: 'health',
      status: h.status === 'healthy' ? 'ok' : 'failed',
      summary: h.status === 'healthy' ? 'healthy: every check passes' : `unhealthy: ${failing.map(([name]) => name).join(', ')}`,
      fix: h.status === 'healthy' ? null : `${CTL} health`,
      details: failing.map(([name, c]) => `${name}: ${c.details}${c.hint === undefined ? '' : ` \u2192 ${c.hint}`}`),
    };
  } catch (err) {
    const e = toAppError(err);
    return { step: 'health', status: 'failed', summary: `the health check failed: ${e.message}`, fix: `${CTL} health`, details: [] };
  }
}

/**
 * The manual's minimal recovery (4.2) with the daemon up: a diagnosis; the learning database's
 * integrity (damaged: the newest good backup offered, restored with --yes); the config, checked
 * and never rewritten; progress rebuilt from the answers when asked; the server handed over to
 * one in minimal mode; a full health check. A step that fails says what to do and the next
 * steps still run. `ctl start` leaves minimal mode.
 */
export async function recover(deps: RecoverDeps, params: RecoverParams): Promise<RecoverResult> {
  const t0 = performance.now();
  const yes = params?.yes ?? false;
  const steps: RecoverStep[] = [];
  try {
    steps.push(diagnosisStep(await deps.diagnose()));
  } catch (err) {
    steps.push({
      step: 'diagnose',
      status: 'failed',
      summary: `the diagnosis failed: ${toAppError(err).message}`,
      fix: `${CTL} diagnose`,
      details: [],
    });
  }
  const db = databaseStep(deps.paths);
  steps.push(db.step);
  const restore = await restoreStep(deps.paths, db.damaged, yes, deps.restore);
  steps.push(restore);
  const databaseUsable = !db.damaged || restore.status === 'done';
  steps.push(configStep(deps.configFile, deps.env, true));
  steps.push(progressStep(deps.paths, params?.recomputeProgress ?? false, databaseUsable));
  steps.push(await minimalStep(deps.enterMinimal));
  steps.push(await healthStep(deps.health));
  const ok = recovered(steps);
  const result: RecoverResult = {
    ok,
    offline: false,
    steps,
    next: ok
      ? `${CTL} start   (leaves minimal mode once you are done looking)`
      : (steps.find((s) => s.status === 'failed' || s.status === 'offered')?.fix ?? null),
    ms: performance.now() - t0,
  };
  deps.log.warn(
    { event: 'recover', ok, steps: steps.map((s) => `${s.step}:${s.status}`) },
    ok ? 'recovered (minimal mode)' : 'recover did not finish cleanly',
  );
  return result;
}
