import { OAuthError, OAuthErrorCode, verifyBearerToken, type AuthInfo, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import type { Learner, UsersStore } from '../shared/store/users.js';
import { hashToken, sameHash } from '../shared/tokens.js';

/** Far enough ahead that a token stays valid until revoked (the SDK insists on an expiry). */
const NO_EXPIRY_S = 4_102_444_800; // 2100-01-01

export type AuthOutcome = { ok: true; authInfo: AuthInfo } | { ok: false; status: 401; message: string; hint: string };

function authInfoFor(learner: Learner, token: string): AuthInfo {
  return {
    token,
    clientId: `learner:${learner.name}`,
    scopes: ['learn'],
    expiresAt: NO_EXPIRY_S,
    extra: { learnerId: learner.id, learnerName: learner.name },
  };
}

/**
 * Who is calling over HTTP. A bearer token names a learner (tokens are stored hashed, issued by
 * `mcp-starterctl learners add`); without one, the local learner, unless tokens are required.
 */
export class HttpAuthenticator {
  private readonly verifier: OAuthTokenVerifier;

  constructor(
    private readonly users: UsersStore,
    private readonly localLearner: Learner,
    private readonly requireToken: boolean,
    probeToken: string | undefined = process.env['MCP_STARTER_PROBE_TOKEN'],
  ) {
    this.probeHash = probeToken ? hashToken(probeToken) : undefined;
    this.verifier = {
      verifyAccessToken: (token) => {
        const learner = users.findByTokenHash(hashToken(token));
        if (!learner) return Promise.reject(new OAuthError(OAuthErrorCode.InvalidToken, 'unknown or revoked token'));
        return Promise.resolve(authInfoFor(learner, token));
      },
    };
  }

  /** The daemon's probe token (from MCP_STARTER_PROBE_TOKEN), as a hash. */
  private readonly probeHash: string | undefined;

  /** Whether a learner's token still names a learner: false once `mcp-starterctl learners revoke` ran (from any process). */
  isStillValid(token: string): boolean {
    return this.users.findByTokenHash(hashToken(token)) !== undefined;
  }

  async authenticate(header: string | undefined): Promise<AuthOutcome> {
    const probe = this.probeHash !== undefined && header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (probe !== undefined && this.probeHash !== undefined && sameHash(hashToken(probe), this.probeHash)) {
      return {
        ok: true,
        authInfo: {
          ...authInfoFor(this.localLearner, ''),
          clientId: 'mcp-starterd-probe',
          extra: { learnerId: this.localLearner.id, learnerName: this.localLearner.name, probe: true },
        },
      };
    }
    if (header === undefined || header === '') {
      if (!this.requireToken) return { ok: true, authInfo: authInfoFor(this.localLearner, '') };
      return {
        ok: false,
        status: 401,
        message: 'This server needs a learner token.',
        hint: 'Send the header "Authorization: Bearer <token>"; the operator creates a token with `mcp-starterctl learners add NAME`.',
      };
    }
    try {
      return { ok: true, authInfo: await verifyBearerToken(header, { verifier: this.verifier }) };
    } catch {
      // Which check failed (malformed header, unknown or revoked token) is not told to the caller.
      return {
        ok: false,
        status: 401,
        message: 'The bearer token was not accepted (mistyped, revoked, or not a "Bearer <token>" header).',
        hint: 'Check the Authorization header of your client; the operator can issue a new token with `mcp-starterctl learners add NAME`.',
      };
    }
  }
}

/** The daemon's probe: served from the reserved room, never counted as a learner. */
export function isProbe(authInfo: AuthInfo): boolean {
  return authInfo.extra?.['probe'] === true;
}

/**
 * The learner a bearer token named (the key of per-learner limits), or undefined for the
 * tokenless local learner and the probe.
 */
export function tokenLearnerOf(authInfo: AuthInfo): string | undefined {
  if (authInfo.token === '' || isProbe(authInfo)) return undefined;
  const id = authInfo.extra?.['learnerId'];
  return typeof id === 'number' ? `learner:${id}` : authInfo.clientId;
}
