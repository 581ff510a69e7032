import type { RateLimitRule } from '../types.js'
import type { QuotaDecision } from './quota-decision.js'

/**
 * What a limiter stores per key and `sliding-window` rule: the times of the calls counted in the
 * last window, oldest first (at most `limit` of them).
 *
 * @example
 * ```ts
 * const state: SlidingWindowState = [1_767_225_600_000, 1_767_225_601_500]
 * ```
 */
export type SlidingWindowState = readonly number[]

/** The calls still inside the window ending at `now`: those less than `windowMs` ago. */
function inWindow(rule: RateLimitRule, state: SlidingWindowState | undefined, now: number): SlidingWindowState {
  if (state === undefined) return []
  let first = 0
  while (first < state.length && state[first]! <= now - rule.windowMs) first++
  return first === 0 ? state : state.slice(first)
}

/**
 * Decides one call against a `sliding-window` rule. Guarantee, exactly: in any interval of
 * `windowMs` (half-open, at millisecond resolution) at most `limit` calls are counted. A refused
 * call waits until the oldest counted call is `windowMs` old; `resetMs` is when the newest one is.
 *
 * @example
 * ```ts
 * const d = slidingWindow({ limit: 3, windowMs: 3_600_000, algorithm: 'sliding-window' }, undefined, Date.now())
 * // d.allowed === true, d.remaining === 2, d.resetMs === 3_600_000
 * ```
 */
export function slidingWindow(rule: RateLimitRule, state: SlidingWindowState | undefined, now: number): QuotaDecision<SlidingWindowState> {
  const at = Math.floor(now)
  const log = inWindow(rule, state, at)
  // A clock that stepped back never writes a time before the newest: the log stays in order.
  const newest = log.length === 0 ? at : Math.max(at, log[log.length - 1]!)
  if (log.length >= rule.limit) {
    return {
      allowed: false,
      next: log,
      remaining: 0,
      resetMs: log[log.length - 1]! + rule.windowMs - at,
      retryAfterMs: log[0]! + rule.windowMs - at,
    }
  }
  return {
    allowed: true,
    next: [...log, newest],
    remaining: rule.limit - log.length - 1,
    resetMs: newest + rule.windowMs - at,
    retryAfterMs: 0,
  }
}

/**
 * A `sliding-window` rule's state without counting a call.
 *
 * @example
 * ```ts
 * slidingWindowState({ limit: 3, windowMs: 60_000, algorithm: 'sliding-window' }, undefined, Date.now()) // { remaining: 3, resetMs: 0 }
 * ```
 */
export function slidingWindowState(
  rule: RateLimitRule,
  state: SlidingWindowState | undefined,
  now: number,
): { remaining: number; resetMs: number } {
  const at = Math.floor(now)
  const log = inWindow(rule, state, at)
  return {
    remaining: Math.max(0, rule.limit - log.length),
    resetMs: log.length === 0 ? 0 : log[log.length - 1]! + rule.windowMs - at,
  }
}
