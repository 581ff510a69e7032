import { checkOptions, oneOf, optionError, withMethods, type OptionRules } from '../internal/options.js'
import { MemoryRateLimiter } from './memory-rate-limiter.js'
import type { BlockState, CreditAdjustment, LimitRequest, LimitResult, LockoutPolicy, RateLimiter } from './rate-limiter.js'

/**
 * What a quota check does when the limiter fails (rejects or times out).
 *
 * @example
 * ```ts
 * const quota: QuotaFailurePolicy = 'memory'
 * ```
 */
export type QuotaFailurePolicy = 'closed' | 'open' | 'memory'

/**
 * Options of {@link withFailurePolicy}.
 *
 * @example
 * ```ts
 * withFailurePolicy(limiter, { quota: 'memory', fallback: new MemoryRateLimiter({ maxKeys: 10_000 }) })
 * ```
 */
export interface FailurePolicyOptions {
  /** `closed` (default): 503. `open`: allow, without RateLimit states. `memory`: ask `fallback`. */
  quota?: QuotaFailurePolicy
  /** The limiter `memory` answers from; default a new MemoryRateLimiter(). Only with `quota: 'memory'`. */
  fallback?: RateLimiter
}

const FAILURE_POLICY_OPTIONS: OptionRules = {
  quota: oneOf(['closed', 'open', 'memory']),
  fallback: withMethods(['limit'], 'a RateLimiter'),
}

/**
 * Wraps any limiter with a failure policy for quotas. Lockout always fails closed: an address
 * that may be blocked is never let through because the limiter could not say.
 *
 * | the limiter fails on… | `closed` (default) | `open` | `memory` |
 * |---|---|---|---|
 * | `recordFailure` (counting a failed attempt) | 503 | 503 | 503 |
 * | `limit` with a `blockKey`, and the block cannot be checked | 503 | 503 | 503 |
 * | `limit`: the quota (block, if any, checked and not set) | 503 | allowed, no RateLimit states | decided by `fallback`, per instance |
 * | `limit` for a key with credits | 503 | 503 | 503 |
 *
 * "503" means the call rejects, and keyward answers `store_unavailable`. When `limit` fails
 * and the request has a `blockKey`, the wrapper asks the limiter once more for the block alone
 * (`rules: []`); only if that answers "not blocked" does the quota policy apply. So while the
 * limiter's backend is wholly unreachable and lockout is on, every request gets a 503 whatever
 * the quota policy, after up to two timeouts; `open` and `memory` keep serving through partial
 * failures, and wholly when lockout is off. The `memory` fallback counts per instance: with N
 * instances a key may get up to N times its quota while the backend is away, and what the
 * fallback counted is not carried over when the backend returns.
 *
 * @example
 * ```ts
 * const limiter = withFailurePolicy(new RedisRateLimiter({ client: redis }), { quota: 'memory' })
 * const kw = createKeyward({ prefix: 'bsk', limiter })
 * ```
 */
export function withFailurePolicy(limiter: RateLimiter, options: FailurePolicyOptions = {}): RateLimiter {
  if (
    limiter === null ||
    typeof limiter !== 'object' ||
    typeof limiter.limit !== 'function' ||
    typeof limiter.recordFailure !== 'function'
  ) {
    optionError('withFailurePolicy needs a RateLimiter')
  }
  checkOptions(options, FAILURE_POLICY_OPTIONS, { notObject: 'withFailurePolicy options must be an object' })
  const { quota = 'closed', fallback } = options
  if (fallback !== undefined && quota !== 'memory') optionError("fallback is only used with quota: 'memory'")
  const memory = quota === 'memory' ? (fallback ?? new MemoryRateLimiter()) : undefined

  async function onFailure(request: LimitRequest, error: unknown): Promise<LimitResult> {
    // A balance cannot be kept by "allow" nor by a per-instance fallback (each would spend the
    // whole balance again): a key with credits fails closed whatever the policy.
    if (quota === 'closed' || request.credits !== undefined) throw error
    if (request.blockKey !== undefined) {
      // Lockout fails closed: the block alone must be known (this rejects if it cannot be).
      const block = await limiter.limit({ key: request.key, rules: [], blockKey: request.blockKey, now: request.now })
      if (block.blocked) return block
    }
    if (memory === undefined) return { allowed: true, blocked: false, retryAfterMs: 0, rules: [] }
    return memory.limit({ key: request.key, rules: request.rules, shared: request.shared, now: request.now })
  }

  return {
    // A fallback that cannot count group budgets would drop them unannounced during an outage: then
    // the wrapper says it cannot either, and createKeyward refuses sharedQuotas up front.
    sharedQuotas: limiter.sharedQuotas === true && (memory === undefined || memory.sharedQuotas === true),
    // Credits never reach the fallback (see onFailure): the wrapper spends them as the limiter does.
    credits: limiter.credits === true && typeof limiter.adjustCredits === 'function',
    adjustCredits(adjustment: CreditAdjustment): Promise<number> {
      if (typeof limiter.adjustCredits !== 'function') return Promise.reject(new Error('keyward: this limiter keeps no credits'))
      return limiter.adjustCredits(adjustment)
    },
    async limit(request: LimitRequest): Promise<LimitResult> {
      try {
        return await limiter.limit(request)
      } catch (error) {
        return onFailure(request, error)
      }
    },
    // Lockout fails closed: a rejection stays a rejection.
    async recordFailure(blockKey: string, policy: LockoutPolicy, now: number): Promise<BlockState> {
      return limiter.recordFailure(blockKey, policy, now)
    },
  }
}
