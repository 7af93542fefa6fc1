import type {
  LearnerInfo,
  LearnersAddResult,
  LearnersListResult,
  LearnersResetSessionsResult,
  LearnersRevokeResult,
} from '../../shared/schemas/learners.js';
import { localTime, paint, relative, table } from './format.js';

function tokenState(learner: LearnerInfo): string {
  if (learner.revokedAt !== null) return paint('red', 'revoked');
  return learner.hasToken ? 'valid' : 'none (local learner)';
}

export function renderLearners(result: LearnersListResult): string {
  if (result.learners.length === 0) return 'No learners yet. Add one: mcp-starterctl learners add NAME';
  const nowMs = Date.now();
  const body = result.learners.map((l) => [
    l.name,
    tokenState(l),
    localTime(l.createdAt),
    l.lastActivity === null ? 'never' : `${relative(l.lastActivity, nowMs)} (${localTime(l.lastActivity)})`,
  ]);
  return table(['NAME', 'TOKEN', 'ADDED', 'LAST ACTIVITY'], body);
}

export function renderLearnerAdded(result: LearnersAddResult): string {
  return [
    `Added learner "${result.learner.name}". Their access token:`,
    '',
    `  ${result.token}`,
    '',
    paint('yellow', '\u26a0 This token is shown only once: copy it now. Only its hash is stored, so it cannot be shown again.'),
    paint(
      'yellow',
      `  If it is lost, revoke it (mcp-starterctl learners revoke ${result.learner.name}) and add the learner under a new name.`,
    ),
    '  The learner\u2019s MCP client sends it as the header "Authorization: Bearer <token>";',
    '  a stdio-only client runs: mcp-starterctl connect, with MCP_STARTER_TOKEN=<token> in its env (or --token-file FILE)',
  ].join('\n');
}

export function renderLearnerRevoked(result: LearnersRevokeResult): string {
  return `Revoked learner "${result.learner.name}": their token no longer works. Their progress is kept.`;
}

/** `learners reset-sessions`: what was removed and what was kept. */
export function renderSessionsReset(r: LearnersResetSessionsResult): string {
  const kept = r.kept > 0 ? `\n  kept ${r.kept} open within the idle gap (learners working now)` : '';
  return `\u2713 ${r.removed} session${r.removed === 1 ? '' : 's'} idle since before ${r.cutoff} removed, ${r.orphansRemoved} of missing learners removed${kept}`;
}
