import { LRUCache } from 'lru-cache'
import { DEFAULT_CREDENTIAL_HEADERS } from './http/credentials.js'
import { withGrantSettings } from './internal/grant-settings.js'
import { createEmitter, keepAlive, verifyFailedEvent, type EventHook } from './events.js'
import { createKeyHasher } from './keys/hashing.js'
import { KeyCache, type CacheOptions } from './verify/key-cache.js'
import { assertValidPrefix, type Environment } from './keys/format.js'
import { resolveJwtOptions, type JwtOptions } from './jwt/jwt-options.js'
import { Keyring } from './jwt/keyring.js'
import { createTokenManager, keepsRefreshFamilies, type TokenManager } from './jwt/token-manager.js'
import { TokenVerifier } from './jwt/token-verifier.js'
import { createKeyManager, type KeyManager } from './keys/manager.js'
import { MemoryRateLimiter } from './limiters/memory-rate-limiter.js'
import { RATE_LIMIT_ALGORITHMS, ruleAlgorithmIssue } from './limiters/quota-algorithms.js'
import { resolveSharedQuotas, type SharedQuotaOption } from './limiters/shared-quotas.js'
import { LockoutGate } from './verify/lockout-gate.js'
import type { RateLimiter } from './limiters/rate-limiter.js'
import { LOCKOUT_OPTION, resolveLockout, type LockoutOptions } from './verify/lockout-options.js'
import { isValidPolicyName } from './http/rate-limit-headers.js'
import { ParseMemo, type RestrictionMode } from './http/restrictions.js'
import type { Runtime } from './runtime.js'
import { createScopeExpander, DEFAULT_SCOPE_HIERARCHY, type ScopeHierarchy } from './keys/scopes.js'
import { MemoryTokenStore } from './stores/memory-token-store.js'
import type { TokenStore } from './stores/token-store.js'
import type { RateLimitRule } from './types.js'
import {
  checkedElsewhere,
  checkOptions,
  func,
  integer,
  nested,
  oneOf,
  optionError,
  orFalse,
  required,
  withMethods,
  type OptionRule,
  type OptionRules,
} from './internal/options.js'
import { UsageRecorder } from './verify/usage-recorder.js'
import { buildCachedKey } from './verify/cached-key.js'
import { Interner } from './verify/interner.js'
import { verifyNow, verifyRequest, type VerifyInput, type VerifyResult } from './verify/verify.js'
import { withVerifyNow } from './internal/verify-now.js'

/**
 * Options of {@link createKeyward}. Validated at once: a bad option is a TypeError at start-up,
 * never a surprise at the first request.
 *
 * @example
 * ```ts
 * const options: KeywardOptions = { prefix: ['bsk'], environment: 'test', lockout: false }
 * ```
 */
export interface KeywardOptions {
  /** Key prefix(es) this server issues and accepts; the first is used for new keys. */
  prefix: string | readonly string[]
  /** Keys of the other environment are invalid here. Default `'live'`. */
  environment?: Environment
  /** Default `new MemoryTokenStore()`. */
  store?: TokenStore
  /** Default `new MemoryRateLimiter()`. */
  limiter?: RateLimiter
  /** Secret for HMAC-SHA256 key hashing (at least 16 bytes). Keep it out of the database. */
  pepper?: string | Uint8Array
  /**
   * Failed attempts per client address before it is blocked. Default `{ maxFailures: 10, windowMs: 300_000 }`; false disables.
   * `count` names the refusals that count (default `['invalid_token', 'origin_forbidden', 'ip_forbidden']`).
   */
  lockout?: LockoutOptions | false
  /** The quota of keys that have none of their own. Default: none. */
  defaultRateLimit?: RateLimitRule | readonly RateLimitRule[]
  /**
   * The grant ceiling on `allowedIps` and `allowedOrigins` (docs/delegation.md): `'within'`, an
   * API-key caller held to addresses or origins grants only keys held within them; `'any'`, such a
   * caller may give a key other restrictions or none (a CI key minting a website's key). Default `'within'`.
   */
  grantRestrictions?: 'within' | 'any'

  /**
   * Quotas a group of keys shares (every key of an org, or any group `by` names), checked and
   * counted in the same limiter call as a key's own rules: all must allow, then all count.
   * Needs a limiter with `sharedQuotas` (memory; Redis but not on a Cluster; Durable Object with `shards: 1`). Default: none.
   */
  sharedQuotas?: readonly SharedQuotaOption[]
  /** The verified-key cache; false disables it (every request reads the store). */
  cache?: CacheOptions | false
  /** Which scopes imply which. Default: admin > write > read. */
  scopes?: ScopeHierarchy
  /** Headers a credential is read from, lowercase. Default `['authorization', 'x-api-key', 'api-key']`. */
  credentialHeaders?: readonly string[]
  /** Headers the request origin is read from, first present wins. Default `['origin']`; TokenKit-style APIs add `'x-origin'`. */
  originHeaders?: readonly string[]
  /**
   * How a key's origin and IP lists combine. Default `'strict'`: an IP list binds whatever Origin
   * is claimed. `'origin-or-ip'` is TokenKit's rule, weaker: a request with an Origin is checked
   * against the origin list only, one without against the IP list only, an empty list passes
   * (docs/origin-and-ip.md says what it re-opens).
   */
  restrictionMode?: RestrictionMode
  /** How often last-used times are written, in ms. Default 60,000; false never records them. */
  usageFlushMs?: number | false
  /** The clock, epoch ms. Default `Date.now`. Tests pass their own. */
  now?: () => number
  /**
   * Called with errors of background work (last-used writes, a failing `onEvent`), and once when a
   * key with credits is verified on a limiter that cannot spend them. Never receives a secret.
   */
  onBackgroundError?: (error: unknown) => void
  /** Audit hook: key created / updated / rotated / revoked, and every refused `verify()`. Never receives a secret. Default: none. */
  onEvent?: EventHook
  /** User tokens (JWT): what keyward issues and which tokens `verify()` accepts. Default: none, only API keys. */
  jwt?: JwtOptions
}

/**
 * A configured keyward: `verify()` for requests, `keys` for management.
 *
 * @example
 * ```ts
 * const result = await kw.verify({ headers: req.headers, ip: req.socket.remoteAddress })
 * ```
 */
export interface Keyward {
  /** Runs the verification pipeline. Never throws: failures are `{ ok: false, error }`. */
  verify(input: VerifyInput): Promise<VerifyResult>
  keys: KeyManager
  /** JWT access and refresh tokens and two-factor logins. Throws a TypeError when the `jwt` option is not set. */
  tokens: TokenManager
  /** The accepted prefixes, the first one issued. */
  readonly prefixes: readonly string[]
  readonly environment: Environment
  /** Writes pending last-used times now. */
  flushUsage(): Promise<void>
  /** Flushes usage and stops listening to the store. The instance must not be used afterwards. */
  close(): Promise<void>
}

// kw.tokens without the jwt option: every call says what is missing instead of failing later.
const noTokens = () => Promise.reject(new TypeError('keyward: kw.tokens needs the jwt option of createKeyward()'))
const NO_TOKENS: TokenManager = Object.freeze({
  issue: noTokens,
  refresh: noTokens,
  revoke: noTokens,
  revokeSession: noTokens,
  login: noTokens,
  pendingLogin: noTokens,
  jwks: noTokens,
})

const RULE_OPTIONS: OptionRules = {
  limit: required(integer({ min: 1, message: 'must be a positive integer' })),
  windowMs: required((value, path) => {
    if (!Number.isSafeInteger(value) || (value as number) < 1000 || (value as number) % 1000 !== 0)
      optionError(`${path} must be a whole number of seconds in ms (at least 1000)`)
  }),
  name: (value, path) => {
    if (!isValidPolicyName(value as string)) optionError(`${path} must be 1-32 letters, digits, - or _`)
  },
  algorithm: oneOf(RATE_LIMIT_ALGORITHMS),
}

function checkRule(rule: RateLimitRule, where: string): void {
  checkOptions(rule, RULE_OPTIONS, { path: where, notObject: `${where} must be { limit, windowMs }` })
  const issue = ruleAlgorithmIssue(rule.algorithm, rule.limit)
  if (issue !== undefined) optionError(`${where}.${issue.field} ${issue.message}`)
}

const headerNames: OptionRule = (names, path) => {
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && /^[a-z0-9-]+$/.test(n))) {
    optionError(`${path} must be a non-empty list of lowercase header names`)
  }
}

const cacheSize = integer({ min: 1, message: 'must be a positive integer' })
const cacheTtl = integer({ min: 0, message: 'must be a non-negative integer' })
const positiveTtl = integer({ min: 1, message: 'must be a positive integer (ms)' })
/**
 * While degraded, a cached key is trusted this long. Below 1 s on purpose: a read just before the
 * commit plus the store's delays measured 1,015 ms with 1 s here, and the promise is "within 1 s".
 */
const DEGRADED_TTL_MS = 800

// Every option createKeyward knows. A name not listed is a TypeError: `lockOut: false` must not
// silently leave lockout on.
const KEYWARD_OPTIONS: OptionRules = {
  prefix: checkedElsewhere,
  environment: oneOf(['live', 'test']),
  store: withMethods(['findById', 'insert', 'update', 'listByOrg', 'touch'], 'a TokenStore'),
  limiter: withMethods(['limit', 'recordFailure'], 'a RateLimiter'),
  pepper: checkedElsewhere,
  lockout: LOCKOUT_OPTION,
  // Checked in createKeyward, which also needs the limiter to count them.
  sharedQuotas: checkedElsewhere,
  defaultRateLimit: (value, path) => {
    const list = Array.isArray(value) ? value : [value]
    list.forEach((rule, i) => checkRule(rule as RateLimitRule, Array.isArray(value) ? `${path}[${i}]` : path))
  },
  cache: orFalse(nested({ ttlMs: cacheTtl, max: cacheSize, negativeTtlMs: cacheTtl, negativeMax: cacheSize, degradedTtlMs: positiveTtl })),
  scopes: checkedElsewhere,
  credentialHeaders: headerNames,
  originHeaders: headerNames,
  restrictionMode: oneOf(['strict', 'origin-or-ip']),
  grantRestrictions: oneOf(['within', 'any']),
  usageFlushMs: orFalse(integer({ min: 100, message: 'must be false or an integer of at least 100' })),
  now: func('returning epoch milliseconds'),
  onBackgroundError: func('(error) => void'),
  onEvent: func('(event) => void'),
  jwt: checkedElsewhere,
}

/**
 * Creates a keyward instance. Everything but `prefix` has a default: an in-memory store and
 * limiter, lockout after 10 failures in 5 minutes, a 30 s verified-key cache.
 *
 * @example
 * ```ts
 * import { createKeyward } from 'keyward'
 *
 * const kw = createKeyward({ prefix: 'bsk', environment: 'live' })
 * const { key } = await kw.keys.create({ name: 'Website', orgId: 'org_1', projects: ['prod-site'] })
 * const result = await kw.verify({ headers: { authorization: `Bearer ${key}` }, project: 'prod-site' })
 * ```
 */
export function createKeyward(options: KeywardOptions): Keyward {
  checkOptions(options, KEYWARD_OPTIONS, { notObject: 'createKeyward needs an options object with at least { prefix }' })
  const prefixes = Object.freeze(typeof options.prefix === 'string' ? [options.prefix] : [...(options.prefix ?? [])])
  if (prefixes.length === 0) optionError('prefix is required')
  prefixes.forEach(assertValidPrefix)
  const environment = options.environment ?? 'live'
  const now = options.now ?? Date.now
  const { policy: lockout, counts: lockoutCounts } = resolveLockout(options.lockout)
  const defaults =
    options.defaultRateLimit === undefined
      ? []
      : Array.isArray(options.defaultRateLimit)
        ? options.defaultRateLimit
        : [options.defaultRateLimit as RateLimitRule]
  const defaultRateLimit = Object.freeze(defaults.map((rule) => ({ ...rule })))
  const limiter = options.limiter ?? new MemoryRateLimiter()
  const sharedQuotas = options.sharedQuotas === undefined ? [] : resolveSharedQuotas(options.sharedQuotas, checkRule)
  // A group budget the limiter would ignore is no budget: refuse rather than run without it.
  if (sharedQuotas.length > 0 && limiter.sharedQuotas !== true)
    optionError("sharedQuotas needs a limiter that counts them with a key's rules in one call (limiter.sharedQuotas is not true)")
  const usageFlushMs = options.usageFlushMs ?? 60_000
  const cacheOptions = options.cache ?? {}
  const store = options.store ?? new MemoryTokenStore()
  const onBackgroundError = options.onBackgroundError ?? (() => {})
  const emit = createEmitter(options.onEvent, onBackgroundError, now)

  // Bounded like the cache whose entries share its values (with the cache off, entries live one request).
  const interner = new Interner(cacheOptions === false ? 0 : (cacheOptions.max ?? 10_000))
  const rt: Runtime = {
    prefixes,
    environment,
    store,
    limiter,
    hash: createKeyHasher(options.pepper),
    now,
    expandScopes: createScopeExpander(options.scopes ?? DEFAULT_SCOPE_HIERARCHY),
    cache: new KeyCache(cacheOptions, now),
    lockout,
    lockoutCounts,
    defaultRateLimit,
    grantRestrictions: options.grantRestrictions !== 'any',
    limiterSpendsCredits: limiter.credits === true && typeof limiter.adjustCredits === 'function',
    reportError: onBackgroundError,
    warn: options.onBackgroundError === undefined ? (message) => console.warn(message) : (message) => onBackgroundError(new Error(message)),
    // Only a MemoryTokenStore is as per-process as the limiter; any other store is read by other instances and restarts.
    creditsPerProcess: limiter instanceof MemoryRateLimiter && !(store instanceof MemoryTokenStore),
    sharedQuotas,
    usage: usageFlushMs === false ? undefined : new UsageRecorder(store, usageFlushMs, onBackgroundError),
    // Private copies, not frozen: a frozen array leaves V8's fast for-of path, and these are read on
    // every request (a frozen list cost the malformed-key refusal ~9 % of its instructions).
    credentialHeaders: [...(options.credentialHeaders ?? DEFAULT_CREDENTIAL_HEADERS)],
    originHeaders: [...(options.originHeaders ?? ['origin'])],
    restrictionMode: options.restrictionMode ?? 'strict',
    blocked: new LRUCache<string, number>({ max: 10_000 }),
    gate: lockout === false ? undefined : new LockoutGate(lockout),
    memo: new ParseMemo(),
    // Promise.resolve: a store's own promise type (Bluebird) becomes a native one for the cache.
    loadKey: (id) => Promise.resolve(store.findById(id)),
    buildKey: (record) => buildCachedKey(rt, record, interner),
    tokens: undefined,
  }
  let tokens: TokenManager = NO_TOKENS
  if (options.jwt !== undefined) {
    const config = resolveJwtOptions(options.jwt)
    const keyring = new Keyring(config)
    if (config.signingKey !== undefined && !keepsRefreshFamilies(store))
      optionError('jwt.signingKey needs a store that keeps refresh-token families (the memory, Postgres and Redis stores do)')
    rt.tokens = new TokenVerifier(config, keyring, {
      hash: rt.hash,
      expandScopes: rt.expandScopes,
      environment,
      rules: defaultRateLimit,
      now,
    })
    // Second-factor counters and used codes must not share an in-process table with per-address
    // lockout, which a flood of addresses can evict them from; a shared limiter keeps them cluster-wide.
    const twoFactorLimiter =
      options.limiter === undefined || options.limiter instanceof MemoryRateLimiter ? new MemoryRateLimiter() : options.limiter
    tokens = createTokenManager(rt, config, keyring, rt.tokens, twoFactorLimiter)
  }
  const degradedTtlMs = cacheOptions === false ? undefined : (cacheOptions.degradedTtlMs ?? DEGRADED_TTL_MS)
  const unsubscribe = store.subscribe?.((event) => {
    if (event.type === 'key') rt.cache.invalidate(event.id)
    // Other instances' revocations do not reach us: trust a cached key only briefly until they do.
    else if (event.type === 'degraded') rt.cache.capTtl(degradedTtlMs)
    else if (event.type === 'healthy') rt.cache.capTtl(undefined)
    else rt.cache.clear()
  })

  const instance: Keyward = {
    // Without a hook, verify() is the bare pipeline: auditing costs nothing unless asked for.
    verify:
      emit === undefined
        ? withVerifyNow(
            (input: VerifyInput) => verifyRequest(rt, input),
            (input: VerifyInput) => verifyNow(rt, input),
          )
        : async (input) => {
            const result = await verifyRequest(rt, input)
            if (!result.ok) {
              const pending = emit(
                verifyFailedEvent(input.headers, input.ip, result.error.code, input.credentialHeaders ?? rt.credentialHeaders, prefixes),
              )
              // On Workers an async hook would be cut off with the response: the platform keeps it
              // alive. A waitUntil that throws (an unbound ctx.waitUntil), or an onBackgroundError
              // that throws too, must not turn the refusal into a 500.
              keepAlive(pending, input.waitUntil, onBackgroundError)
            }
            return result
          },
    keys: createKeyManager(rt, emit),
    tokens,
    prefixes,
    environment,
    flushUsage: async () => rt.usage?.flush(),
    async close() {
      unsubscribe?.()
      await rt.usage?.flush()
    },
  }
  // The management routes' GET /capabilities reports a caller's place bounds as the ceiling judges them.
  return withGrantSettings(instance, { restrictions: rt.grantRestrictions })
}
