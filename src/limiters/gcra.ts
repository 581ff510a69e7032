import type { RateLimitRule } from '../types.js'

/**
 * The Generic Cell Rate Algorithm as a pure function: the limiter stores one number per rule
 * (the theoretical arrival time, TAT) and applies what this decides.
 *
 * Guarantee, exactly: a rule `{ limit: L, windowMs: W }` behaves as a bucket of L tokens that
 * refills continuously at L per W. In any interval of length d at most L + floor(d * L / W) calls
 * pass; a client quiet for W may burst L at once; a steady client gets exactly L per W.
 *
 * The TAT is kept in units of the rule's emission interval (W / L milliseconds), not in
 * milliseconds: an allowed call then adds exactly 1 to it, which floating point represents
 * exactly. Adding W / L (say 1000 / 7) to an epoch-millisecond number rounds every time, and
 * the errors add up until a burst of L is cut short by one. With an integer-millisecond clock,
 * decisions are exact while L * (now + W) < 2^50 (L up to about 600 at today's epoch); past
 * that a call may be judged a couple of microseconds early or late, never by a whole call in a
 * burst. Above about 5 million calls per second doubles no longer resolve one call and the
 * limit is no longer held exactly.
 *
 * @example
 * ```ts
 * const d: GcraDecision = gcra({ limit: 5, windowMs: 1000 }, storedTat, Date.now())
 * if (d.allowed) store(d.nextTat)
 * ```
 */
export interface GcraDecision {
  allowed: boolean
  /**
   * The TAT to store when the call is allowed (and every other rule allows it too), in emission
   * intervals since the epoch (`ms * limit / windowMs`). Only meaningful to {@link gcra} itself,
   * for the same rule.
   */
  nextTat: number
  remaining: number
  /** Milliseconds until the bucket is full again, after this call if allowed. */
  resetMs: number
  /** When denied: milliseconds until one token is back. */
  retryAfterMs: number
}

/**
 * Rounding slack, in emission intervals: a few units in the last place of the numbers compared
 * (about 2 microseconds' worth at today's epoch, whatever the rate), and always under half an
 * interval so that it can never let an extra call through on its own.
 */
function slackOf(nowTat: number, limit: number): number {
  return Math.min(0.5, (Math.abs(nowTat) + limit) * 2 ** -50)
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
  const { limit, windowMs } = rule
  const nowTat = (now * limit) / windowMs
  const tat = storedTat === undefined || storedTat < nowTat ? nowTat : storedTat
  // Emission intervals already booked ahead of now: 0 for a full bucket, limit for an empty one.
  const booked = tat - nowTat
  const slack = slackOf(nowTat, limit)
  if (booked > limit - 1 + slack) {
    return {
      allowed: false,
      nextTat: tat,
      remaining: 0,
      resetMs: toMs(booked, slack, windowMs, limit),
      retryAfterMs: Math.max(1, toMs(booked - (limit - 1), slack, windowMs, limit)),
    }
  }
  return {
    allowed: true,
    nextTat: tat + 1,
    remaining: Math.max(0, Math.floor(limit - 1 - booked + slack)),
    resetMs: toMs(booked + 1, slack, windowMs, limit),
    retryAfterMs: 0,
  }
}

// Half the slack off before rounding up, so that waiting the returned time always suffices
// (the decision then allows with the other half to spare) and an exact 100 ms reads as 100.
function toMs(intervals: number, slack: number, windowMs: number, limit: number): number {
  return Math.max(0, Math.ceil(((intervals - slack / 2) * windowMs) / limit))
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
export function gcraState(rule: RateLimitRule, storedTat: number | undefined, now: number): { remaining: number; resetMs: number } {
  const { limit, windowMs } = rule
  const nowTat = (now * limit) / windowMs
  const booked = storedTat === undefined || storedTat < nowTat ? 0 : storedTat - nowTat
  const slack = slackOf(nowTat, limit)
  return {
    remaining: Math.max(0, Math.floor(limit - booked + slack)),
    resetMs: toMs(booked, slack, windowMs, limit),
  }
}
