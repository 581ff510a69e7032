import { LRUCache } from 'lru-cache'
import type { RateLimitRule } from '../types.js'
import { checkOptions, integer, type OptionRules } from '../internal/options.js'
import { addCredits, spendCredits, type CreditState } from './credits.js'
import { checkCreditAdjustment, checkCreditSpend } from './credit-checks.js'
import { gcra, type GcraState } from './gcra.js'
import { decideRule, peekRule } from './quota-algorithms.js'
import type { BlockState, CreditAdjustment, LimitRequest, LimitResult, LockoutPolicy, RateLimiter, RuleState } from './rate-limiter.js'

/**
 * Options of {@link MemoryRateLimiter}.
 *
 * @example
 * ```ts
 * new MemoryRateLimiter({ maxKeys: 500_000, maxAddresses: 200_000 })
 * ```
 */
export interface MemoryRateLimiterOptions {
  /** Most (key, rule) counters kept; the least recently used is dropped past it. Default 100,000. */
  maxKeys?: number
  /** Most addresses whose failures are tracked. Default 100,000. */
  maxAddresses?: number
}

interface FailureWindow {
  count: number
  start: number
  blockedUntil: number
}

const count = integer({ min: 1, message: 'must be a positive integer' })
const MEMORY_LIMITER_OPTIONS: OptionRules = { maxKeys: count, maxAddresses: count }

/**
 * In-process rate limiter and lockout table: each rule counted by its algorithm (GCRA unless the
 * rule says `fixed-window` or `sliding-window`), one small state per (key, rule), memory
 * bounded by LRU eviction, no timer per key. State is per process: use the Redis limiter when
 * several instances serve the same keys.
 *
 * @example
 * ```ts
 * const kw = createKeyward({ prefix: 'bsk', limiter: new MemoryRateLimiter({ maxKeys: 10_000 }) })
 * ```
 */
export class MemoryRateLimiter implements RateLimiter {
  /** Shared quotas are decided with the key's rules in one synchronous step. */
  readonly sharedQuotas = true
  /** Credits are spent with the key's rules in the same synchronous step. */
  readonly credits = true
  /** GcraState per GCRA rule; the other algorithms' states (fixed-window.ts, sliding-window.ts) under keys of their own. */
  readonly #states: LRUCache<string, object>
  /**
   * Running credit balances, by limiter key. Never evicted (an evicted balance would come back
   * full from the record): one entry per key with credits, which only key management creates.
   */
  readonly #credits = new Map<string, CreditState>()
  readonly #failures: LRUCache<string, FailureWindow>

  constructor(options: MemoryRateLimiterOptions = {}) {
    checkOptions(options, MEMORY_LIMITER_OPTIONS, { notObject: 'MemoryRateLimiter options must be an object' })
    this.#states = new LRUCache({ max: options.maxKeys ?? 100_000 })
    this.#failures = new LRUCache({ max: options.maxAddresses ?? 100_000 })
  }

  limit(request: LimitRequest): Promise<LimitResult> {
    // The RateLimiter contract: a bad argument is a rejection, never a synchronous throw.
    try {
      return Promise.resolve(this.limitSync(request))
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }

  /** The synchronous core of {@link limit}; atomic because nothing else runs in between. */
  limitSync({ key, rules: own, shared, blockKey, credits, cost, now }: LimitRequest): LimitResult {
    if (blockKey !== undefined) {
      const window = this.#failures.get(blockKey)
      if (window !== undefined && window.blockedUntil > now) {
        return { allowed: false, blocked: true, retryAfterMs: window.blockedUntil - now, rules: [] }
      }
    }
    // Credits take the general path below; keys without them never look further than this.
    if (credits !== undefined) return this.#limitWithCredits(key, own, shared, credits, cost, now)
    // A key without rules of its own and no shared quota: only the block was asked about.
    if (own.length === 0 && shared === undefined) return { allowed: true, blocked: false, retryAfterMs: 0, rules: [] }
    // One GCRA rule is the common case: no scratch arrays, one key string, the state updated in place.
    if (own.length === 1 && shared === undefined && (own[0]!.algorithm === undefined || own[0]!.algorithm === 'gcra')) {
      const rule = own[0]!
      const id = ruleKey(key, rule)
      const state = this.#states.get(id) as GcraState | undefined
      const d = gcra(rule, state, now)
      // An existing state is updated in place: get() already made it the most recent, and an LRU
      // set() would look the key up a second time.
      if (d.allowed) {
        if (state === undefined) this.#states.set(id, d.next)
        else {
          state.at = d.next.at
          state.booked = d.next.booked
        }
      }
      return {
        allowed: d.allowed,
        blocked: false,
        retryAfterMs: d.retryAfterMs,
        rules: [{ rule, remaining: d.remaining, resetMs: d.resetMs }],
      }
    }
    return this.#decideRules(key, own, shared, now, undefined)
  }

  /** Rules and credits decided together: the balance must cover the cost and every rule allow, then both count. */
  #limitWithCredits(
    key: string,
    own: LimitRequest['rules'],
    shared: LimitRequest['shared'],
    credits: NonNullable<LimitRequest['credits']>,
    cost: number | undefined,
    now: number,
  ): LimitResult {
    const spend = checkCreditSpend(credits, cost)
    const decision = spendCredits(spend.credits, spend.cost, this.#credits.get(key), now)
    const result = this.#decideRules(key, own, shared, now, decision.allowed)
    // A refusal still keeps a newer epoch (or a refill): a stale record must not spend the balance it replaced.
    if (decision.advanced && !(decision.allowed && result.allowed)) this.#credits.set(key, decision.current)
    if (!decision.allowed)
      return { ...result, allowed: false, retryAfterMs: decision.retryAfterMs, credits: decision.remaining, creditsExhausted: true }
    if (!result.allowed) return { ...result, credits: decision.remaining + spend.cost, creditsExhausted: false }
    this.#credits.set(key, decision.next)
    return { ...result, credits: decision.remaining, creditsExhausted: false }
  }

  /**
   * The rules decided, counted when they all allow and `mayCount` is not false (the credits
   * refused: nothing counts, the rules are reported as they stand).
   */
  #decideRules(
    key: string,
    own: LimitRequest['rules'],
    shared: LimitRequest['shared'],
    now: number,
    mayCount: boolean | undefined,
  ): LimitResult {
    // The key's rules, then each shared quota's, every one under the counters of whom it counts.
    const rules: RateLimitRule[] = [...own]
    const ids = own.map((rule) => ruleKey(key, rule))
    for (const quota of shared ?? []) {
      for (const rule of quota.rules) {
        rules.push(rule)
        ids.push(ruleKey(quota.key, rule))
      }
    }
    const decisions = rules.map((rule, i) => decideRule(rule, this.#states.get(ids[i]!), now))
    const states: RuleState[] = []
    let allowed = true
    let retryAfterMs = 0
    for (let i = 0; i < rules.length; i++) {
      const decision = decisions[i]!
      states.push({ rule: rules[i]!, remaining: decision.remaining, resetMs: decision.resetMs })
      if (!decision.allowed) {
        allowed = false
        retryAfterMs = Math.max(retryAfterMs, decision.retryAfterMs)
      }
    }
    if (allowed && mayCount !== false) {
      for (let i = 0; i < rules.length; i++) this.#states.set(ids[i]!, decisions[i]!.next as object)
    } else {
      // A denied call counts on no rule: report the rules that would have allowed it as they stand.
      for (let i = 0; i < rules.length; i++) {
        if (!allowed && !decisions[i]!.allowed) continue
        const rule = rules[i]!
        states[i] = { rule, ...peekRule(rule, this.#states.peek(ids[i]!), now) }
      }
    }
    return { allowed, blocked: false, retryAfterMs, rules: states }
  }

  /** Adds credits to a key's running balance (0 reads it); see {@link RateLimiter.adjustCredits}. */
  adjustCredits(adjustment: CreditAdjustment): Promise<number> {
    try {
      const { key, credits, add, now } = checkCreditAdjustment(adjustment)
      const { next, remaining } = addCredits(credits, add, this.#credits.get(key), now)
      // A read leaves nothing behind: the balance stays the record's until a spend or a top-up.
      if (add > 0) this.#credits.set(key, next)
      return Promise.resolve(remaining)
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }

  recordFailure(blockKey: string, policy: LockoutPolicy, now: number): Promise<BlockState> {
    try {
      return Promise.resolve(this.#recordFailure(blockKey, policy, now))
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }

  #recordFailure(blockKey: string, policy: LockoutPolicy, now: number): BlockState {
    let window = this.#failures.get(blockKey)
    if (window === undefined || now >= window.start + policy.windowMs) {
      window = { count: 0, start: now, blockedUntil: 0 }
      this.#failures.set(blockKey, window)
    }
    window.count++
    if (window.count >= policy.maxFailures) window.blockedUntil = window.start + policy.windowMs
    const failures = window.count
    return window.blockedUntil > now
      ? { blocked: true, retryAfterMs: window.blockedUntil - now, failures }
      : { blocked: false, retryAfterMs: 0, failures }
  }
}

/** A GCRA rule's key is as before; another algorithm's has its name appended, so states never mix. */
function ruleKey(key: string, rule: RateLimitRule): string {
  const { algorithm } = rule
  return algorithm === undefined || algorithm === 'gcra'
    ? `${key}|${rule.limit}|${rule.windowMs}`
    : `${key}|${rule.limit}|${rule.windowMs}|${algorithm}`
}
