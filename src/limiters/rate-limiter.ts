import type { KeyCredits, RateLimitRule } from '../types.js'

/**
 * The state of one rule after a {@link RateLimiter.limit} call, for the RateLimit headers.
 *
 * @example
 * ```ts
 * for (const s of result.rules) console.log(s.rule.limit, s.remaining, s.resetMs)
 * ```
 */
export interface RuleState {
  rule: RateLimitRule
  /** Calls still allowed right now, after this one. */
  remaining: number
  /** Milliseconds until the full quota is back. */
  resetMs: number
}

/**
 * Rules counted against a group of keys rather than one (an org, or any group the app names):
 * `key` names the group's counters as {@link LimitRequest.key} names a key's.
 *
 * @example
 * ```ts
 * const org: SharedQuota = { key: 'shared:org:org_1', rules: [{ limit: 100_000, windowMs: 86_400_000 }] }
 * ```
 */
export interface SharedQuota {
  key: string
  rules: readonly RateLimitRule[]
}

/**
 * One quota check for one key.
 *
 * @example
 * ```ts
 * const request: LimitRequest = { key: 'AbCd1234', rules: [{ limit: 10, windowMs: 1000 }], now: Date.now() }
 * ```
 */
export interface LimitRequest {
  /** What the quota is counted against: the key id (never the secret). */
  key: string
  /** Every rule must allow the call; then, and only then, each counts it. */
  rules: readonly RateLimitRule[]
  /**
   * Group quotas decided with `rules` as one atomic decision: every rule of the key and of each
   * group must allow the call, then all count it. Their states follow the key's own in
   * {@link LimitResult.rules}, in order. Only for a limiter whose `sharedQuotas` is true.
   */
  shared?: readonly SharedQuota[] | undefined
  /** When set, a blocked address (see {@link RateLimiter.recordFailure}) is refused first. */
  blockKey?: string | undefined
  /**
   * The key's credits as its record holds them: `cost` of them are spent under `key`, in the
   * same atomic decision as the rules (the rules allow and the balance covers the cost, then
   * both count; else neither). Only for a limiter whose `credits` is true.
   */
  credits?: KeyCredits | undefined
  /** The credits this call spends; default 1. Only looked at with `credits`. */
  cost?: number | undefined
  /** The pipeline's clock, epoch ms. A shared backend may use its own clock instead. */
  now: number
}

/**
 * A credit top-up or read, for {@link RateLimiter.adjustCredits}.
 *
 * @example
 * ```ts
 * const balance = await limiter.adjustCredits!({ key: 'AbCd1234', credits: record.credits!, add: 500, now: Date.now() })
 * ```
 */
export interface CreditAdjustment {
  /** The key's limiter key (its rotation chain's first id), as {@link LimitRequest.key}. */
  key: string
  /**
   * The key's credits as its record holds them: the balance to start from when none is held or its
   * epoch is newer; its refill applies only when its epoch is the one held. A newer epoch is kept
   * even when the call is refused.
   */
  credits: KeyCredits
  /** Credits to add atomically to the running balance; 0 only reads it. */
  add: number
  now: number
}

/**
 * The answer to a {@link LimitRequest}. A denial resolves; only a broken backend rejects.
 *
 * @example
 * ```ts
 * const r = await limiter.limit(request)
 * if (!r.allowed) console.log('retry in', r.retryAfterMs, 'ms')
 * ```
 */
export interface LimitResult {
  allowed: boolean
  /** True when the denial is the address's lockout rather than the key's quota. */
  blocked: boolean
  /** When denied: milliseconds until a retry can succeed. 0 when allowed. */
  retryAfterMs: number
  /** One entry per rule, in the order given (the key's, then each shared quota's). Empty when blocked. */
  rules: RuleState[]
  /** With {@link LimitRequest.credits} (and not blocked): the balance after this call, or as it stands when refused. */
  credits?: number
  /**
   * True when the refusal is the key's credits (the balance does not cover the cost), whatever the
   * rules said; `retryAfterMs` is then the time to the next refill, 0 when none will cover it.
   */
  creditsExhausted?: boolean
}

/**
 * Lockout settings: `maxFailures` failed attempts in `windowMs` block the address for the rest of the window.
 *
 * @example
 * ```ts
 * createKeyward({ prefix: 'bsk', lockout: { maxFailures: 5, windowMs: 60_000 } })
 * ```
 */
export interface LockoutPolicy {
  maxFailures: number
  windowMs: number
}

/**
 * Lockout state of one address.
 *
 * @example
 * ```ts
 * const state = await limiter.recordFailure('203.0.113.7', policy, Date.now())
 * if (state.blocked) console.log('blocked for', state.retryAfterMs, 'ms')
 * ```
 */
export interface BlockState {
  blocked: boolean
  /** Milliseconds until the block ends; 0 when not blocked. */
  retryAfterMs: number
  /**
   * Failures counted in the address's current window, this one included (it keeps counting
   * while blocked). Optional for custom limiters, but without it keyward can neither answer a
   * failure counted after the block with 429 nor know the budget other instances have spent.
   */
  failures?: number
}

/**
 * Where quotas and lockout counters live. Implementations must apply each call atomically
 * (all rules allow and count, or none counts), resolve on a denial, and reject only when the
 * backend fails (keyward then answers 503 rather than letting the request through).
 *
 * @example
 * ```ts
 * const limiter: RateLimiter = new MemoryRateLimiter({ maxKeys: 50_000 })
 * const r = await limiter.limit({ key: 'AbCd1234', rules: [{ limit: 100, windowMs: 60_000 }], now: Date.now() })
 * ```
 */
export interface RateLimiter {
  limit(request: LimitRequest): Promise<LimitResult>
  /**
   * True when `limit` counts {@link LimitRequest.shared} atomically with the key's rules.
   * createKeyward refuses `sharedQuotas` with a limiter that does not say so, rather than let a
   * group's budget go unenforced.
   */
  readonly sharedQuotas?: boolean
  /**
   * True when `limit` spends {@link LimitRequest.credits} atomically with the rules and
   * `adjustCredits` is there. A key with credits fails closed (503, with a warning) on a limiter
   * that does not say so, and `kw.keys.create`/`update` refuse to give a key credits.
   */
  readonly credits?: boolean
  /**
   * Adds `add` credits to a key's running balance atomically (0 reads it) and resolves with the
   * balance after. Never loses a concurrent spend. Required when `credits` is true.
   */
  adjustCredits?(adjustment: CreditAdjustment): Promise<number>
  /**
   * Optional synchronous form of {@link limit} for in-process limiters: the pipeline prefers it,
   * sparing a promise per request. Throws where `limit` would reject.
   */
  limitSync?(request: LimitRequest): LimitResult
  /**
   * Counts one failed attempt from `blockKey`, atomically, and resolves with the address's lockout
   * state after it, with the count (`failures`) that one call saw.
   */
  recordFailure(blockKey: string, policy: LockoutPolicy, now: number): Promise<BlockState>
}
