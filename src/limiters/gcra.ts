import type { RateLimitRule } from '../types.js'

/**
 * The Generic Cell Rate Algorithm as a pure function: the limiter stores one number per rule
 * (the theoretical arrival time, TAT) and applies what this decides.
 *
 * Guarantee, exactly: a rule `{ limit: L, windowMs: W }` behaves as a bucket of L tokens that
 * refills continuously at L per W. In any interval of length d at most L + floor(d * L / W) calls
 * pass; a client quiet for W may burst L at once; a steady client gets exactly L per W.
 */
export interface GcraDecision {
  allowed: boolean
  /** The TAT to store when the call is allowed (and every other rule allows it too). */
  nextTat: number
  remaining: number
  /** Milliseconds until the bucket is full again, after this call if allowed. */
  resetMs: number
  /** When denied: milliseconds until one token is back. */
  retryAfterMs: number
}

/**
 * Decides one call against one rule, given the stored TAT (or undefined for a fresh key).
 *
 * @example
 * ```ts
 * const d = gcra({ limit: 10, windowMs: 1000 }, undefined, Date.now())
 * // d.allowed === true, d.remaining === 9
 * ```
 */
export function gcra(rule: RateLimitRule, storedTat: number | undefined, now: number): GcraDecision {
  const interval = rule.windowMs / rule.limit
  const tat = storedTat === undefined || storedTat < now ? now : storedTat
  const nextTat = tat + interval
  const allowAt = nextTat - rule.windowMs
  if (allowAt > now) {
    return {
      allowed: false,
      nextTat: tat,
      remaining: 0,
      resetMs: Math.ceil(tat - now),
      retryAfterMs: Math.ceil(allowAt - now),
    }
  }
  return {
    allowed: true,
    nextTat,
    // Floating division can land a hair under an integer; the epsilon keeps 9.999999 from reading as 9.
    remaining: Math.floor((rule.windowMs - (nextTat - now)) / interval + 1e-9),
    resetMs: Math.ceil(nextTat - now),
    retryAfterMs: 0,
  }
}
