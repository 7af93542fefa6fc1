import { diagnoseOffline } from '../diagnose/offline.js';
import { toAppError } from '../errors.js';
import type { DataPaths } from '../paths.js';
import { restoreOffline } from '../restore.js';
import type { RecoverParamsInput, RecoverResult, RecoverStep } from '../schemas/recover.js';
import { configStep, databaseStep, diagnosisStep, progressStep, recovered, restoreStep } from './steps.js';

export interface RecoverOfflineOptions {
  paths: DataPaths;
  configFile: string | undefined;
  env: NodeJS.ProcessEnv;
}

/** The exact command that starts the daemon in minimal mode on this data dir and config (ctl never starts a daemon itself). */
export function minimalCommand(o: RecoverOfflineOptions): string {
  const quote = (s: string): string => (/^[\w./@:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  return [
    'mcp-starterd',
    '--data-dir',
    quote(o.paths.dataDir),
    ...(o.configFile === undefined ? [] : ['--config', quote(o.configFile)]),
    '--minimal',
  ].join(' ');
}

/**
 * `ctl recover` with the daemon down: the diagnosis and the steps on files (database, restore
 * with --yes, config, progress); the server is not started — the result says the exact command
 * that starts the daemon in minimal mode.
 */
export async function recoverOffline(o: RecoverOfflineOptions, params: RecoverParamsInput): Promise<RecoverResult> {
  const t0 = performance.now();
  const steps: RecoverStep[] = [];
  try {
    steps.push(diagnosisStep(await diagnoseOffline(o)));
  } catch (err) {
    steps.push({
      step: 'diagnose',
      status: 'failed',
      summary: `the diagnosis failed: ${toAppError(err).message}`,
      fix: 'mcp-starterctl diagnose',
      details: [],
    });
  }
  const db = databaseStep(o.paths);
  steps.push(db.step);
  const restore = await restoreStep(o.paths, db.damaged, params?.yes ?? false, (file) => restoreOffline(o.paths, file));
  steps.push(restore);
  steps.push(configStep(o.configFile, o.env, false));
  steps.push(progressStep(o.paths, params?.recomputeProgress ?? false, !db.damaged || restore.status === 'done'));
  const next = minimalCommand(o);
  const skipped = (step: RecoverStep['step'], summary: string): RecoverStep => ({
    step,
    status: 'skipped',
    summary,
    fix: next,
    details: [],
  });
  steps.push(skipped('minimal', 'mcp-starterd is not running: start it in minimal mode with the command below'));
  steps.push(skipped('health', 'runs once the daemon is up: `mcp-starterctl health`'));
  const ok = recovered(steps);
  const blocking = steps.find((s) => (s.status === 'failed' && (s.step !== 'database' || !ok)) || s.status === 'offered');
  return {
    ok,
    offline: true,
    steps,
    next: ok ? next : (steps.find((s) => s.status === 'offered')?.fix ?? blocking?.fix ?? next),
    ms: performance.now() - t0,
  };
}
