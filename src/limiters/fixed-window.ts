import type { RateLimitRule } from '../types.js'
import type { QuotaDecision } from './quota-decision.js'

/**
 * What a limiter stores per key and `fixed-window` rule: the window's start and the calls counted in it.
 *
 * @example
 * ```ts
 * const state: FixedWindowState = { start: 1_767_225_600_000, count: 2 }
 * ```
 */
export interface FixedWindowState {
  /** Epoch ms where the counted window began: a multiple of `windowMs`. */
  start: number
  count: number
}

/** The window `now` falls in, and what it has counted. A clock that stepped back keeps the later window. */
function current(rule: RateLimitRule, state: FixedWindowState | undefined, now: number): FixedWindowState {
  const start = Math.floor(now / rule.windowMs) * rule.windowMs
  if (state === undefined || state.start < start) return { start, count: 0 }
  return state
}

/**
 * Decides one call against a `fixed-window` rule: at most `limit` calls in each window
 * `[k × windowMs, (k + 1) × windowMs)` of epoch time, so hourly windows are UTC clock hours.
 * `resetMs` is the time to the window's end, when the whole quota comes back.
 *
 * @example
 * ```ts
 * const d = fixedWindow({ limit: 3, windowMs: 3_600_000, algorithm: 'fixed-window' }, undefined, Date.now())
 * // d.allowed === true, d.remaining === 2
 * ```
 */
export function fixedWindow(rule: RateLimitRule, state: FixedWindowState | undefined, now: number): QuotaDecision<FixedWindowState> {
  const at = Math.floor(now)
  const window = current(rule, state, at)
  const resetMs = window.start + rule.windowMs - at
  if (window.count >= rule.limit) return { allowed: false, next: window, remaining: 0, resetMs, retryAfterMs: resetMs }
  return {
    allowed: true,
    next: { start: window.start, count: window.count + 1 },
    remaining: rule.limit - window.count - 1,
    resetMs,
    retryAfterMs: 0,
  }
}

/**
 * A `fixed-window` rule's state without counting a call.
 *
 * @example
 * ```ts
 * fixedWindowState({ limit: 3, windowMs: 60_000, algorithm: 'fixed-window' }, undefined, Date.now()) // { remaining: 3, resetMs: 0 }
 * ```
 */
export function fixedWindowState(
  rule: RateLimitRule,
  state: FixedWindowState | undefined,
  now: number,
): { remaining: number; resetMs: number } {
  const at = Math.floor(now)
  const window = current(rule, state, at)
  return { remaining: Math.max(0, rule.limit - window.count), resetMs: window.count === 0 ? 0 : window.start + rule.windowMs - at }
}
