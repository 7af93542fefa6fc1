import type { ChildState, ChildStatus, Operation, OperationName, StatusResult } from '../../shared/schemas/rpc.js';
import { duration, localTime, paint, plural, relative, rows, type Color } from './format.js';

const LOOK: Record<ChildState, { symbol: string; color: Color; says: string }> = {
  running: { symbol: '\u25cf', color: 'green', says: 'serving learners' },
  starting: { symbol: '\u25d0', color: 'yellow', says: 'starting up, not serving yet' },
  reloading: { symbol: '\u25d2', color: 'yellow', says: 'handing over to a new server process; the old one serves until then' },
  draining: { symbol: '\u25d1', color: 'yellow', says: 'finishing requests before it stops' },
  stopped: { symbol: '\u25cb', color: 'dim', says: 'not running' },
  backoff: { symbol: '\u21bb', color: 'yellow', says: 'crashed; waiting to restart' },
  fatal: { symbol: '\u2717', color: 'red', says: 'kept crashing, so it stays down until you start it' },
};

const STDERR_LINES = 8;

function headline(child: ChildStatus, nowMs: number): string {
  const look = LOOK[child.state];
  const facts = [look.says];
  if (child.pid !== null) facts.push(`pid ${child.pid}`);
  if (child.state === 'running' && child.startedAt !== null) facts.push(`up ${duration(nowMs - Date.parse(child.startedAt))}`);
  facts.push(plural(child.restarts, 'restart'));
  return `${paint(look.color, `${look.symbol} ${child.state}`)}  ${facts.join(' \u00b7 ')}`;
}

function lastExit(child: ChildStatus, nowMs: number): string | undefined {
  const exit = child.lastExit;
  if (exit === null) return undefined;
  const how = exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code ?? '?'}`;
  return `${how} (${exit.reason}) at ${localTime(exit.at)}, ${relative(exit.at, nowMs)}`;
}

function isTroubled(child: ChildStatus): boolean {
  return child.state === 'stopped' || child.state === 'backoff' || child.state === 'fatal';
}

/** Why a child is down: its last exit and, in backoff, when it is tried again. */
function troubleFacts(child: ChildStatus, nowMs: number): Array<[string, string]> {
  if (!isTroubled(child)) return [];
  const facts: Array<[string, string]> = [];
  const exit = lastExit(child, nowMs);
  if (exit !== undefined) facts.push(['last exit', exit]);
  if (child.state === 'backoff' && child.nextStartAt !== null) facts.push(['next start', relative(child.nextStartAt, nowMs)]);
  return facts;
}

/** What it printed before it died, and what to do. */
function troubleNotes(child: ChildStatus): string[] {
  if (!isTroubled(child)) return [];
  const out: string[] = [];
  const stderr = child.lastStderr.slice(-STDERR_LINES);
  if (stderr.length > 0) out.push(`  last stderr lines:\n${stderr.map((l) => `    ${paint('dim', '\u2502')} ${l}`).join('\n')}`);
  if (child.hint !== null) out.push(`  \u2192 ${child.hint}`);
  else if (child.state !== 'backoff') out.push('  \u2192 Start it: mcp-starterctl start');
  return out;
}

/** The child's state on its own (the answer to `start`, and part of `restart`). */
export function renderChild(child: ChildStatus, nowMs = Date.now()): string {
  const facts = troubleFacts(child, nowMs);
  return [headline(child, nowMs), ...(facts.length > 0 ? [rows(facts)] : []), ...troubleNotes(child)].join('\n');
}

const DOING: Record<OperationName, string> = {
  start: 'start',
  stop: 'stop',
  restart: 'restart',
  reload: 'reload (handover to a new server process)',
  'emergency-stop': 'emergency stop',
  'crash-restart': 'restart after a crash',
  'probe-restart': 'restart after failed health probes',
  'memory-restart': 'restart of the server over its memory limit',
  shutdown: 'daemon shutdown',
  restore: 'restore of a backup (the server is stopped, the backup swapped in, the server started)',
};

/** "reload (handover …) in progress for 2.1 s (since 2026-11-25 14:03)" */
function operation(op: NonNullable<Operation>, nowMs: number): string {
  const since = Date.parse(op.since);
  const age = Number.isNaN(since) ? '' : ` for ${duration(nowMs - since)} (since ${localTime(op.since)})`;
  return `${paint('yellow', DOING[op.name])} in progress${age}`;
}

/** The operation in progress, active alerts, and other server processes alive (a reload's new one, old ones still draining). */
function activityFacts(status: StatusResult, nowMs: number): Array<[string, string]> {
  const facts: Array<[string, string]> = [];
  if (status.mode === 'minimal') {
    facts.push([
      'mode',
      `${paint('yellow', 'minimal (recovery)')}: the server logs at debug; no scheduled jobs, alert command or Prometheus \u2192 \`mcp-starterctl start\` returns to normal`,
    ]);
  }
  if (status.operation !== null) facts.push(['operation', operation(status.operation, nowMs)]);
  for (const alert of status.alerts) {
    facts.push(['alert', `${paint('red', alert.message)} (${alert.rule}, since ${relative(alert.since, nowMs)}) \u2192 ${alert.hint}`]);
  }
  const others = status.child.otherPids;
  if (others.length > 0) facts.push(['also alive', `${others.map((pid) => `pid ${pid}`).join(', ')} (handing over or draining)`]);
  return facts;
}

/** Rounded down, so that a figure just under the goal never shows as the goal itself. */
function percent(share: number): string {
  if (share >= 1) return '100 %';
  return `${(Math.floor(share * 10_000 + 1e-9) / 100).toFixed(2)} %`;
}

/** "99 %", "99.5 %": the goal as configured, without trailing zeros. */
function goalPercent(goal: number): string {
  return `${Number((goal * 100).toFixed(2))} %`;
}

/** One window's figure; one below the goal is marked (✗, and red on a terminal). */
function windowFigure(share: number | null, window: string, goal: number): string {
  if (share === null) return `not measured yet (${window})`;
  const text = `${percent(share)} (${window})`;
  return share < goal ? paint('red', `\u2717 ${text} below the goal`) : text;
}

/** "99.95 % (24 h), ✗ 98.10 % (7 d) below the goal, goal 99 %" (DESIGN.md, Data: availability; the manual's 99 %). */
export function renderAvailability(a: StatusResult['availability']): string {
  if (a.h24 === null && a.d7 === null) return `not measured yet (the first health probe has not run), goal ${goalPercent(a.goal)}`;
  return `${windowFigure(a.h24, '24 h', a.goal)}, ${windowFigure(a.d7, '7 d', a.goal)}, goal ${goalPercent(a.goal)}`;
}

function timeouts(t: StatusResult['daemon']['timeouts']): string {
  return `drain ${duration(t.drainMs)} \u00b7 kill ${duration(t.killMs)} \u00b7 ready ${duration(t.readyMs)}`;
}

export function renderStatus(status: StatusResult): string {
  const nowMs = Date.now();
  const { daemon } = status;
  const facts: Array<[string, string]> = [
    ...activityFacts(status, nowMs),
    ...troubleFacts(status.child, nowMs),
    ['url', status.url],
    ['learners', `${status.activeLearners} active \u00b7 ${plural(status.inFlight, 'request')} in flight`],
    ['availability', renderAvailability(status.availability)],
    ['daemon', `mcp-starterd ${daemon.version} \u00b7 pid ${daemon.pid} \u00b7 up ${duration(daemon.uptimeMs)}`],
    ['timeouts', timeouts(daemon.timeouts)],
    ['data dir', daemon.dataDir],
  ];
  return [headline(status.child, nowMs), rows(facts), ...troubleNotes(status.child)].join('\n');
}
