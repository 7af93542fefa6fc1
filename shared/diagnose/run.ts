import type {
  DiagnoseCategory,
  DiagnoseCheck,
  DiagnoseFinding,
  DiagnoseLogLine,
  DiagnoseResult,
  DiagnoseSeverity,
} from '../schemas/diagnose.js';

/**
 * How a diagnosis runs: a list of checks, one after the other, each bounded by a timeout, each
 * turning what it finds into findings with a cause and a fix. A check that throws or runs out of
 * time becomes a finding of its own ("could not check …"), never a failed diagnosis.
 */

/** A finding as a check states it: the check and its category are filled in by the runner. */
export type NewFinding = Omit<DiagnoseFinding, 'check' | 'category' | 'details'> & {
  category?: DiagnoseCategory;
  details?: string[];
};

/** What a check found: a summary line, its findings (none: it passed), or that it does not apply. */
export interface Outcome {
  summary: string;
  findings?: NewFinding[];
  skipped?: boolean;
}

export interface CheckSpec {
  /** Stable name (`DiagnoseCheck.id`). */
  id: string;
  category: DiagnoseCategory;
  /** What it looks at, for the "could not check" finding. */
  what: string;
  /** Longest it may take; sync work cannot be cut short, so checks keep that bounded themselves. */
  timeoutMs?: number;
  run(): Outcome | Promise<Outcome>;
}

const DEFAULT_TIMEOUT_MS = 3_000;
const SEVERITY_RANK: Record<DiagnoseSeverity, number> = { critical: 0, error: 1, warning: 2 };

/** The exact ctl command for a fix. */
export const ctlCommand = (args: string): string => `mcp-starterctl ${args}`;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    // Not unref'd: a check that waits on nothing else must still end in its finding, not in an exit.
    timer = setTimeout(() => reject(new Error(`it did not finish within ${(ms / 1000).toFixed(1)} s`)), ms);
  });
  return Promise.race([work, guard]).finally(() => clearTimeout(timer));
}

function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

async function runOne(spec: CheckSpec): Promise<{ check: DiagnoseCheck; findings: DiagnoseFinding[] }> {
  const t0 = performance.now();
  const ms = (): number => Math.round((performance.now() - t0) * 10) / 10;
  try {
    const outcome = await withTimeout(
      Promise.resolve().then(() => spec.run()),
      spec.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    const findings = (outcome.findings ?? []).map((f): DiagnoseFinding => ({
      ...f,
      check: spec.id,
      category: f.category ?? spec.category,
      details: f.details ?? [],
    }));
    const status = outcome.skipped ? 'skipped' : findings.length > 0 ? 'fail' : 'pass';
    return { check: { id: spec.id, category: spec.category, status, summary: outcome.summary, ms: ms() }, findings };
  } catch (err) {
    const reason = reasonOf(err);
    return {
      check: { id: spec.id, category: spec.category, status: 'error', summary: `could not check: ${reason}`, ms: ms() },
      findings: [
        {
          id: 'check_failed',
          check: spec.id,
          category: spec.category,
          severity: 'error',
          title: `Could not check ${spec.what}`,
          cause: `The check failed: ${reason}. What it looks for may be wrong without being reported.`,
          fix: ctlCommand('diagnose --errors'),
          details: [],
        },
      ],
    };
  }
}

/** Runs the checks in order (sequentially, so one's sync work never eats another's timeout). */
export async function runChecks(specs: readonly CheckSpec[]): Promise<{ checks: DiagnoseCheck[]; findings: DiagnoseFinding[] }> {
  const checks: DiagnoseCheck[] = [];
  const findings: DiagnoseFinding[] = [];
  for (const spec of specs) {
    const r = await runOne(spec);
    checks.push(r.check);
    findings.push(...r.findings);
  }
  return { checks, findings };
}

/** Most serious first; within a severity, in the order the checks ran (a stable sort). */
export function sortFindings(findings: readonly DiagnoseFinding[]): DiagnoseFinding[] {
  return [...findings].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
}

export function diagnoseResult(parts: {
  daemon: DiagnoseResult['daemon'];
  dataDir: string;
  startedMs: number;
  checks: DiagnoseCheck[];
  findings: DiagnoseFinding[];
  recentErrors: DiagnoseLogLine[];
}): DiagnoseResult {
  const findings = sortFindings(parts.findings);
  return {
    ok: findings.length === 0,
    checkedAt: new Date().toISOString(),
    daemon: parts.daemon,
    dataDir: parts.dataDir,
    ms: Math.round(performance.now() - parts.startedMs),
    findings,
    checks: parts.checks,
    recentErrors: parts.recentErrors,
  };
}
