import type { Environment } from './keys/format.js'

/**
 * How a rule counts (see docs/rate-limits-and-lockout.md for each guarantee, exactly):
 * - `gcra` (default): a bucket of `limit` refilling continuously; a steady client gets `limit` per window.
 * - `fixed-window`: at most `limit` per window, windows aligned to the epoch (UTC hours, days...);
 *   resets at the window's end. Up to twice `limit` can pass across one window boundary.
 * - `sliding-window`: at most `limit` in any interval of `windowMs` (a log of call times, exact;
 *   `limit` at most 1000, as every counted call's time is kept for a window).
 *
 * @example
 * ```ts
 * const algorithm: RateLimitAlgorithm = 'fixed-window'
 * ```
 */
export type RateLimitAlgorithm = 'gcra' | 'fixed-window' | 'sliding-window'

/**
 * One rate-limit rule: at most `limit` successful calls per `windowMs`, counted by `algorithm`
 * (GCRA unless told).
 *
 * @example
 * ```ts
 * const hourly: RateLimitRule = { limit: 5000, windowMs: 3_600_000 }
 * const perClockHour: RateLimitRule = { limit: 3, windowMs: 3_600_000, algorithm: 'fixed-window' }
 * ```
 */
export interface RateLimitRule {
  limit: number
  windowMs: number
  /** Name used in the `RateLimit-Policy` header; defaults to `default` (or `w<seconds>` for several rules). */
  name?: string
  /** How the rule counts; default `gcra`. */
  algorithm?: RateLimitAlgorithm
}

/**
 * A key's credit refill: at the start of every `intervalMs` (intervals aligned to the epoch, so a
 * day is a UTC day), the balance is set to `amount`, whatever was left.
 *
 * @example
 * ```ts
 * const daily: CreditRefill = { amount: 1000, intervalMs: 86_400_000 }
 * ```
 */
export interface CreditRefill {
  amount: number
  intervalMs: number
}

/**
 * A key's usage credits as its record holds them: the balance set by the last create or update
 * (the running balance lives in the limiter), the refill, and `epoch`, a counter that grows by
 * one on every set or removal, so that the limiter takes a new balance once and never goes back
 * to an older one (no clock is involved).
 *
 * @example
 * ```ts
 * const credits: KeyCredits = { remaining: 500, refill: null, epoch: 3 }
 * ```
 */
export interface KeyCredits {
  remaining: number
  refill: CreditRefill | null
  epoch: number
  /**
   * True once the credits were removed (`kw.keys.update(id, { credits: null })`): the key spends
   * none, and the record keeps the epoch so that credits set again later are newer than any the
   * limiter holds. Shown as `credits: null` in `KeyInfo`.
   */
  removed?: true
}

/**
 * A key's credits as {@link KeyInfo} shows them: `remaining` is the live balance where keyward
 * read it from the limiter (`kw.keys.get`, `auth.key` in a request), else the balance last set.
 *
 * @example
 * ```ts
 * const info = await kw.keys.get(id)
 * if (info?.credits) console.log(info.credits.remaining)
 * ```
 */
export interface CreditsInfo {
  remaining: number
  refill: CreditRefill | null
}

/**
 * A key as a {@link TokenStore} keeps it. Holds the hash of the key, never the key.
 * Times are epoch milliseconds so every backend can store them as they are.
 *
 * @example
 * ```ts
 * const record = await store.findById('4fTq9ZkA') // KeyRecord | null
 * if (record?.revokedAt !== null) console.log('revoked')
 * ```
 */
export interface KeyRecord {
  /** The key id: 8 base62 characters, the lookup key. Not secret. */
  id: string
  prefix: string
  environment: Environment
  /** Lowercase hex SHA-256 (or HMAC-SHA256 with the pepper) of the whole key. */
  hash: string
  orgId: string
  name: string
  description: string | null
  projects: string[]
  scopes: string[]
  allowedOrigins: string[]
  allowedIps: string[]
  rateLimit: RateLimitRule[]
  metadata: Record<string, unknown>
  expiresAt: number | null
  createdAt: number
  updatedAt: number
  lastUsedAt: number | null
  revokedAt: number | null
  rotatedFrom: string | null
  rotatedTo: string | null
  /**
   * Bumped by the store on every {@link TokenStore.update}: lifecycle changes are written only
   * if the version is still the one read (see `UpdateCondition`). A new record starts at 0.
   */
  version: number
  /**
   * The first key of the rotation chain this key belongs to, or null for a key created directly
   * (its own id is then the root). Rate-limit state is counted under it, so a successor shares
   * its predecessor's quota and rotating never refills one.
   */
  rootId: string | null
  /** Usage credits, or null for a key that spends none (see docs/credits.md). Absent in records from before credits: null. */
  credits: KeyCredits | null
}

/**
 * What management calls return about a key: everything but the secret and its hash.
 *
 * @example
 * ```ts
 * const info = await kw.keys.get('4fTq9ZkA')
 * console.log(info?.displayPrefix) // 'bsk_live_4fTq9ZkA'
 * ```
 */
export interface KeyInfo {
  id: string
  /** The non-secret start of the key, for dashboards: `bsk_live_4fTq9ZkA`. */
  displayPrefix: string
  environment: Environment
  orgId: string
  name: string
  description: string | null
  projects: string[]
  scopes: string[]
  allowedOrigins: string[]
  allowedIps: string[]
  /** The key's own rules; empty means the server's `defaultRateLimit` applies. */
  rateLimit: RateLimitRule[]
  metadata: Record<string, unknown>
  expiresAt: Date | null
  createdAt: Date
  updatedAt: Date
  lastUsedAt: Date | null
  revokedAt: Date | null
  rotatedFrom: string | null
  rotatedTo: string | null
  /** Usage credits, or null: a key without credits spends none. */
  credits: CreditsInfo | null
}

/**
 * Who a request authenticated as: an API key ({@link ApiKeyAuthContext}) or a user token
 * ({@link JwtAuthContext}). Attached to the request by the adapters. Narrow on `type` to reach the
 * fields of one kind; `auth.keyId` and `auth.subject` can be read without narrowing (each is
 * `undefined` on the other kind), so `auth.subject ?? auth.keyId` names any caller.
 *
 * @example
 * ```ts
 * if (result.ok && result.auth.type === 'api_key') console.log(result.auth.keyId, result.auth.key.name)
 * if (result.ok && result.auth.type === 'jwt') console.log(result.auth.subject, result.auth.mfa)
 * ```
 */
export type AuthContext = ApiKeyAuthContext | JwtAuthContext

/** What every caller has, whatever its credential. */
interface AuthContextBase {
  org: string
  /** Effective scopes, hierarchy applied: a key granted `admin` shows `['admin', 'write', 'read']`. */
  scopes: readonly string[]
  projects: readonly string[]
  environment: Environment
}

/**
 * A request made with an API key.
 *
 * @example
 * ```ts
 * function describeKey(auth: ApiKeyAuthContext): string {
 *   return `${auth.key.name} (${auth.keyId})`
 * }
 * ```
 */
export interface ApiKeyAuthContext extends AuthContextBase {
  type: 'api_key'
  /** The key id: 8 base62 characters, not secret. */
  keyId: string
  /**
   * The key's stored information (never its secret or hash). Frozen and shared by the requests
   * made with this key while it is cached; its Dates are built afresh on each read, so a handler
   * that changes one (`setTime()`) changes nothing another request or keyward sees.
   */
  key: KeyInfo
  /** For a key with credits: its balance after this request. Absent for a key without credits. */
  credits?: number
  // The JWT fields, declared absent: reading them on the union needs no narrowing, and an object
  // mixing both kinds does not type-check.
  subject?: never
  mfa?: never
  issuer?: never
  sessionId?: never
  claims?: never
}

/**
 * A request made with a JWT: keyward's own access token or a trusted issuer's.
 *
 * @example
 * ```ts
 * function describeUser(auth: JwtAuthContext): string {
 *   return `${auth.subject} via ${auth.issuer}${auth.mfa ? ' (2FA)' : ''}`
 * }
 * ```
 */
export interface JwtAuthContext extends AuthContextBase {
  type: 'jwt'
  /** The `sub` claim. */
  subject: string
  /** True when the token was minted after a second factor (`amr` holds `mfa`). */
  mfa: boolean
  /** The `iss` claim, keyward's own issuer or a trusted third party. */
  issuer: string
  /** For keyward's own JWTs: the login session (refresh family) the token belongs to. */
  sessionId?: string
  /** Every verified claim, frozen. */
  claims: Readonly<Record<string, unknown>>
  keyId?: never
  key?: never
  credits?: never
}
