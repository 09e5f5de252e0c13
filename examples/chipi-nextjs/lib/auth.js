// The example's own end-user auth provider, standing in for Clerk, Auth0, Firebase or
// any OpenID provider: an ES256 key pair made when the server starts, its public half
// published as a JWKS, and short-lived tokens for a demo user. latchkey verifies these
// tokens against the JWKS (the organisation's token issuer) and takes their `sub` as the
// user's externalUserId. A real app uses its auth provider's tokens instead, and never
// issues one without signing the user in.

import { createHash, generateKeyPairSync, sign } from 'node:crypto';

/** The `iss` and `aud` of the tokens: what the organisation's token issuer names. */
export const ISSUER = process.env.DEMO_AUTH_ISSUER || 'latchkey-example-chipi-nextjs';
export const AUDIENCE = process.env.DEMO_AUTH_AUDIENCE || 'latchkey';
/** How long a token lives, in seconds. */
const LIFETIME = 300;

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');

/** The key pair, made once per server process (kept on globalThis across route bundles). */
function keys() {
  if (!globalThis.__chipiExampleAuthKeys) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const kid = createHash('sha256').update(`${jwk.x}.${jwk.y}`).digest('base64url').slice(0, 16);
    globalThis.__chipiExampleAuthKeys = {
      privateKey,
      jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' },
    };
  }
  return globalThis.__chipiExampleAuthKeys;
}

/** The JWKS: the public key only. */
export function jwks() {
  return { keys: [keys().jwk] };
}

/** A signed token for `subject`, valid for a few minutes. */
export function issueToken(subject) {
  const { privateKey, jwk } = keys();
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES256', typ: 'JWT', kid: jwk.kid };
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: subject, iat: now, nbf: now - 5, exp: now + LIFETIME };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  // JWS ES256 signatures are r || s (IEEE P1363), not DER.
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return { token: `${input}.${base64url(signature)}`, expiresAt: claims.exp };
}

/** User ids the demo accepts: what a real provider's `sub` looks like, kept short. */
export function validUserId(id) {
  return typeof id === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(id);
}
