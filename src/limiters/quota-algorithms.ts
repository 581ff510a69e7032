import type { RateLimitAlgorithm, RateLimitRule } from '../types.js'
import { fixedWindow, fixedWindowState, type FixedWindowState } from './fixed-window.js'
import { gcra, gcraState, type GcraState } from './gcra.js'
import type { QuotaDecision } from './quota-decision.js'
import { slidingWindow, slidingWindowState, type SlidingWindowState } from './sliding-window.js'

/** Every {@link RateLimitAlgorithm}, in the order the docs give them. */
export const RATE_LIMIT_ALGORITHMS: readonly RateLimitAlgorithm[] = ['gcra', 'fixed-window', 'sliding-window']

/** The largest `limit` of a `sliding-window` rule: its log keeps one time per counted call. */
export const MAX_SLIDING_WINDOW_LIMIT = 1000

type Decide = (rule: RateLimitRule, state: never, now: number) => QuotaDecision<unknown>
type Peek = (rule: RateLimitRule, state: never, now: number) => { remaining: number; resetMs: number }
type Until = (rule: RateLimitRule, state: never) => number

const ALGORITHMS: Record<RateLimitAlgorithm, { decide: Decide; peek: Peek; until: Until }> = {
  // A bucket left alone a whole window after its last call is full again (booked never exceeds W * L).
  gcra: { decide: gcra, peek: gcraState, until: (rule, state: GcraState) => state.at + rule.windowMs },
  'fixed-window': { decide: fixedWindow, peek: fixedWindowState, until: (rule, state: FixedWindowState) => state.start + rule.windowMs },
  // The newest counted call is the last to leave the window.
  'sliding-window': {
    decide: slidingWindow,
    peek: slidingWindowState,
    until: (rule, state: SlidingWindowState) => (state.length === 0 ? 0 : state[state.length - 1]! + rule.windowMs),
  },
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
 * When a state `decideRule` returned as `next` stops mattering: from then on, no state at all
 * decides the same. For a backend that sweeps what it stores (the Durable Object limiter).
 *
 * @example
 * ```ts
 * ruleStateUntil({ limit: 3, windowMs: 60_000, algorithm: 'fixed-window' }, { start: 0, count: 1 }) // 60_000
 * ```
 */
export function ruleStateUntil(rule: RateLimitRule, state: unknown): number {
  return ALGORITHMS[rule.algorithm ?? 'gcra'].until(rule, state as never)
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
