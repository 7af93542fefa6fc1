/** One named step of a job that runs several (daily-maintenance): resolves to what it did, or throws. */
export interface JobStep {
  name: string;
  run: (signal: AbortSignal) => Promise<string>;
}

/**
 * Runs the steps in order, each reported with what it did. A failing step does not stop the
 * others; the run then fails with an error that names each failed step and why, followed by what
 * every step did. A run aborted (time limit, shutdown) starts no further step.
 */
export async function runSteps(steps: readonly JobStep[], signal: AbortSignal): Promise<string> {
  const done: string[] = [];
  const failed: string[] = [];
  for (const step of steps) {
    signal.throwIfAborted();
    try {
      done.push(`${step.name}: ${await step.run(signal)}`);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      done.push(`${step.name}: FAILED (${why})`);
      failed.push(`${step.name} (${why})`);
    }
  }
  const report = done.join('; ');
  if (failed.length === 0) return report;
  throw new Error(`${failed.length} of ${steps.length} steps failed: ${failed.join('; ')}. All steps: ${report}`);
}
