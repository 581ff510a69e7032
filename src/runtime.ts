import type { LRUCache } from 'lru-cache'
import type { KeyHasher } from './keys/hashing.js'
import type { CachedKey } from './verify/cached-key.js'
import type { KeyCache } from './verify/key-cache.js'
import type { Environment } from './keys/format.js'
import type { TokenVerifier } from './jwt/token-verifier.js'
import type { LockoutGate } from './verify/lockout-gate.js'
import type { LockoutPolicy, RateLimiter } from './limiters/rate-limiter.js'
import type { ResolvedSharedQuota } from './limiters/shared-quotas.js'
import type { ParseMemo, RestrictionMode } from './http/restrictions.js'
import type { TokenStore } from './stores/token-store.js'
import type { KeyRecord, RateLimitRule } from './types.js'
import type { UsageRecorder } from './verify/usage-recorder.js'

/**
 * Everything the pipeline and the key manager share. Internal.
 *
 * @example
 * ```ts
 * const decision = await runtime.limiter.limit({ key: id, rules, now: runtime.now() })
 * ```
 */
export interface Runtime {
  prefixes: readonly string[]
  environment: Environment
  store: TokenStore
  limiter: RateLimiter
  hash: KeyHasher
  now: () => number
  expandScopes: (granted: readonly string[]) => string[]
  cache: KeyCache<CachedKey>
  lockout: LockoutPolicy | false
  /** The refusal codes that count toward lockout (`lockout.count`). */
  lockoutCounts: ReadonlySet<string>
  defaultRateLimit: readonly RateLimitRule[]
  /** Whether the grant ceiling covers `allowedIps` and `allowedOrigins` (createKeyward's `grantRestrictions`). */
  grantRestrictions: boolean
  /** Whether the limiter spends credits (`limiter.credits` and `adjustCredits`), read once. */
  limiterSpendsCredits: boolean
  /** createKeyward's `onBackgroundError`: told once when a key with credits meets a limiter without them. */
  reportError: (error: unknown) => void
  /**
   * Says a guarantee does not hold in this deployment: to `onBackgroundError` when the app gave
   * one, else `console.warn` (a no-op default would make the warning silent).
   */
  warn: (message: string) => void
  /** Whether credits are kept per process (MemoryRateLimiter) while the store is shared: they multiply. */
  creditsPerProcess: boolean
  /** createKeyward's `sharedQuotas`, checked; empty when none. */
  sharedQuotas: readonly ResolvedSharedQuota[]
  usage: UsageRecorder | undefined
  credentialHeaders: readonly string[]
  originHeaders: readonly string[]
  restrictionMode: RestrictionMode
  /** Addresses this process has seen blocked, until when: refused before any store lookup. */
  blocked: LRUCache<string, number>
  /** Attempts in flight per address against the failure budget; undefined when lockout is off. */
  gate: LockoutGate | undefined
  memo: ParseMemo
  /** `store.findById` and `buildCachedKey`, bound once so a cache miss allocates no closures. */
  loadKey: (id: string) => Promise<KeyRecord | null>
  buildKey: (record: KeyRecord) => CachedKey
  /** The JWT verifier, when the `jwt` option is set. */
  tokens: TokenVerifier | undefined
}
