import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'mcps_';

/** A new bearer token: 256 random bits, shown once to the operator and stored only as a hash. */
export function newToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Tokens are long random strings, so one SHA-256 is enough (no salt or slow hash is needed
 * against guessing, unlike passwords); the hash is the lookup key.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function looksLikeToken(token: string): boolean {
  return token.startsWith(PREFIX) && token.length >= PREFIX.length + 40 && token.length <= 200;
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
