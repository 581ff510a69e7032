import type { RateLimitRule } from '../types.js'

/**
 * The Generic Cell Rate Algorithm as a pure function: the limiter stores one number per rule
 * (the theoretical arrival time, TAT) and applies what this decides.
 *
 * Guarantee, exactly: a rule `{ limit: L, windowMs: W }` behaves as a bucket of L tokens that
 * refills continuously at L per W. In any interval of length d at most L + floor(d * L / W) calls
 * pass; a client quiet for W may burst L at once; a steady client gets exactly L per W.
 *
 * The state is `{ at, booked }`: the time of the last counted call (integer ms) and how much of
 * the bucket was booked then, in units of 1/L ms (one call books W units). Every quantity the
 * decision computes is an integer no larger than W * L, so decisions are exact, at any instant,
 * for every rule with L * W < 2^53 (a million calls per day is 8.64e13). Fractional clocks are
 * floored to the millisecond.
 *
 * @example
 * ```ts
 * const d = gcra({ limit: 100, windowMs: 60_000 }, stored, Date.now())
 * if (d.allowed) stored = d.next
 * ```
 */
export interface GcraDecision {
  allowed: boolean
  /** The state to store when the call is allowed (and every other rule allows it too). */
  next: GcraState
  remaining: number
  /** Milliseconds until the bucket is full again, after this call if allowed. */
  resetMs: number
  /** When denied: milliseconds until one token is back. */
  retryAfterMs: number
}

/**
 * What a limiter stores per key and rule.
 *
 * @example
 * ```ts
 * const state: GcraState = { at: Date.now(), booked: 60_000 } // one call of a 60-per-minute rule
 * ```
 */
export interface GcraState {
  /** Epoch ms of the last counted call. */
  at: number
  /** Units of 1/limit ms booked ahead of `at`; `windowMs * limit` means an empty bucket. */
  booked: number
}

function ceilDiv(a: number, b: number): number {
  return a <= 0 ? 0 : Math.ceil(a / b)
}

/** Units still booked at `now`. A whole window after `at` nothing is (booked never exceeds W * L). */
function bookedAt(rule: RateLimitRule, state: GcraState | undefined, now: number): number {
  if (state === undefined) return 0
  const elapsed = now - state.at
  if (elapsed >= rule.windowMs) return 0
  // A clock that stepped back counts as no time passed, never as time owed.
  return elapsed <= 0 ? state.booked : Math.max(0, state.booked - elapsed * rule.limit)
}

/**
 * Decides one call against one rule, given the stored state (or undefined for a fresh key).
 *
 * @example
 * ```ts
 * const d = gcra({ limit: 10, windowMs: 1000 }, undefined, Date.now())
 * // d.allowed === true, d.remaining === 9
 * ```
 */
export function gcra(rule: RateLimitRule, state: GcraState | undefined, now: number): GcraDecision {
  const { limit, windowMs } = rule
  const at = Math.floor(now)
  const booked = bookedAt(rule, state, at)
  const tolerance = windowMs * (limit - 1)
  if (booked > tolerance) {
    return {
      allowed: false,
      next: state!,
      remaining: 0,
      resetMs: ceilDiv(booked, limit),
      retryAfterMs: ceilDiv(booked - tolerance, limit),
    }
  }
  return {
    allowed: true,
    next: { at, booked: booked + windowMs },
    remaining: Math.floor((tolerance - booked) / windowMs),
    resetMs: ceilDiv(booked + windowMs, limit),
    retryAfterMs: 0,
  }
}

/**
 * The state of one rule without counting a call: what is left and when the bucket is full.
 * For reporting the rules that would have allowed a call another rule refused.
 *
 * @example
 * ```ts
 * gcraState({ limit: 10, windowMs: 1000 }, undefined, Date.now()) // { remaining: 10, resetMs: 0 }
 * ```
 */
export function gcraState(rule: RateLimitRule, state: GcraState | undefined, now: number): { remaining: number; resetMs: number } {
  const booked = bookedAt(rule, state, Math.floor(now))
  return { remaining: Math.floor((rule.windowMs * rule.limit - booked) / rule.windowMs), resetMs: ceilDiv(booked, rule.limit) }
}
