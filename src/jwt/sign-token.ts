import { SignJWT } from 'jose'
import { randomBase62 } from '../internal/base62.js'
import type { JwtConfig } from './jwt-options.js'
import type { Keyring } from './keyring.js'
import { ownClaims, type TokenIdentity } from './token-claims.js'

/**
 * What one signature needs besides the identity: the token type, who it is for, how long it lives.
 *
 * @example
 * ```ts
 * const spec: TokenSpec = { typ: 'at+jwt', audience: 'api', ttl: 900, sessionId: 's1', authTime: 1_795_000_000, jti: randomId() }
 * ```
 */
export interface TokenSpec {
  typ: string
  audience: string
  /** Lifetime in seconds. */
  ttl: number
  sessionId: string
  /** When the user authenticated (OIDC `auth_time`), epoch seconds: bounds the session's age. */
  authTime: number
  jti: string
}

/**
 * A fresh random identifier for a token or a session: 22 base62 characters, 131 bits.
 *
 * @example
 * ```ts
 * randomId() // 'd3Kq0r...'
 * ```
 */
export function randomId(): string {
  return randomBase62(22)
}

/**
 * Signs one of keyward's tokens with the configured signing key.
 *
 * @example
 * ```ts
 * const accessToken = await signToken(config, keyring, identity, spec, Date.now())
 * ```
 */
export async function signToken(
  config: JwtConfig,
  keyring: Keyring,
  identity: TokenIdentity,
  spec: TokenSpec,
  now: number,
): Promise<string> {
  const { key, alg, kid } = await keyring.signer()
  const issuedAt = Math.floor(now / 1000)
  return new SignJWT({ ...ownClaims(identity, spec.sessionId), auth_time: spec.authTime })
    .setProtectedHeader({ alg, kid, typ: spec.typ })
    .setIssuer(config.issuer)
    .setAudience(spec.audience)
    .setSubject(identity.subject)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + spec.ttl)
    .setJti(spec.jti)
    .sign(key)
}
