/**
 * What a credential becomes once a strategy has accepted it: who the caller is and what they are
 * counted against. The API-key strategy (api-key-strategy.ts) and the JWT strategy
 * (jwt/token-verifier.ts) each produce one; the shared tail (tail.ts) decides on it alone.
 */
import type { PlaceRules } from '../http/restrictions.js'
import type { AuthContext, KeyRecord, RateLimitRule } from '../types.js'

/**
 * The quota a caller is counted against.
 *
 * @example
 * ```ts
 * const quota: Quota = { key: 'jwt:https://issuer.example:user_42', rules: [], policy: null }
 * ```
 */
export interface Quota {
  /** The limiter key: a key id, or `jwt:` and the token's issuer and subject. Never a secret. */
  readonly key: string
  readonly rules: readonly RateLimitRule[]
  /** The RateLimit-Policy header value, or null without rules. */
  readonly policy: string | null
}

/**
 * An accepted credential. Strategies hand back long-lived, shared objects (a cache entry), so the
 * tail reads a principal and never copies or changes it.
 *
 * @example
 * ```ts
 * if (principal.place !== undefined) placeRefusal(principal.place, headers, originHeaders, client, memo)
 * ```
 */
export interface Principal {
  /** The frozen auth context attached to the request on success. */
  readonly auth: AuthContext
  readonly quota: Quota
  /** Origin and IP rules to enforce; undefined when the credential has none (a JWT). */
  readonly place?: PlaceRules | undefined
  /** The key record, for an API key: its id is the one whose last use is recorded. */
  readonly record?: KeyRecord | undefined
}
