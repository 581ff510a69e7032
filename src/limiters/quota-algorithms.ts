import type { RateLimitAlgorithm, RateLimitRule } from '../types.js'
import { fixedWindow, fixedWindowState } from './fixed-window.js'
import { gcra, gcraState } from './gcra.js'
import type { QuotaDecision } from './quota-decision.js'
import { slidingWindow, slidingWindowState } from './sliding-window.js'

/** Every {@link RateLimitAlgorithm}, in the order the docs give them. */
export const RATE_LIMIT_ALGORITHMS: readonly RateLimitAlgorithm[] = ['gcra', 'fixed-window', 'sliding-window']

/** The largest `limit` of a `sliding-window` rule: its log keeps one time per counted call. */
export const MAX_SLIDING_WINDOW_LIMIT = 1000

type Decide = (rule: RateLimitRule, state: never, now: number) => QuotaDecision<unknown>
type Peek = (rule: RateLimitRule, state: never, now: number) => { remaining: number; resetMs: number }

const ALGORITHMS: Record<RateLimitAlgorithm, { decide: Decide; peek: Peek }> = {
  gcra: { decide: gcra, peek: gcraState },
  'fixed-window': { decide: fixedWindow, peek: fixedWindowState },
  'sliding-window': { decide: slidingWindow, peek: slidingWindowState },
}

/**
 * Decides one call against `rule` by its algorithm. `state` must be what this function returned
 * as `next` for the same rule (limiters key their states by rule and algorithm).
 *
 * @example
 * ```ts
 * const d = decideRule({ limit: 3, windowMs: 3_600_000, algorithm: 'fixed-window' }, undefined, Date.now())
 * ```
 */
export function decideRule(rule: RateLimitRule, state: unknown, now: number): QuotaDecision<unknown> {
  return ALGORITHMS[rule.algorithm ?? 'gcra'].decide(rule, state as never, now)
}

/**
 * The state of one rule without counting a call, by its algorithm.
 *
 * @example
 * ```ts
 * peekRule({ limit: 3, windowMs: 60_000 }, undefined, Date.now()) // { remaining: 3, resetMs: 0 }
 * ```
 */
export function peekRule(rule: RateLimitRule, state: unknown, now: number): { remaining: number; resetMs: number } {
  return ALGORITHMS[rule.algorithm ?? 'gcra'].peek(rule, state as never, now)
}

/**
 * What is wrong with a rule's `algorithm` (given its `limit`), or undefined: one check for the key
 * input, the management routes and createKeyward's `defaultRateLimit`.
 *
 * @example
 * ```ts
 * ruleAlgorithmIssue('sliding-window', 5000) // { field: 'limit', message: 'must be at most 1000 for a sliding-window rule' }
 * ```
 */
export function ruleAlgorithmIssue(algorithm: unknown, limit: unknown): { field: 'algorithm' | 'limit'; message: string } | undefined {
  if (algorithm === undefined) return undefined
  if (!RATE_LIMIT_ALGORITHMS.includes(algorithm as RateLimitAlgorithm)) {
    return { field: 'algorithm', message: `must be one of ${RATE_LIMIT_ALGORITHMS.map((a) => `'${a}'`).join(', ')}` }
  }
  if (algorithm === 'sliding-window' && typeof limit === 'number' && limit > MAX_SLIDING_WINDOW_LIMIT) {
    return { field: 'limit', message: `must be at most ${MAX_SLIDING_WINDOW_LIMIT} for a sliding-window rule` }
  }
  return undefined
}
