import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { gcra, gcraState, type GcraDecision, type GcraState } from '../../src/limiters/gcra.js'
import type { RateLimitRule } from '../../src/types.js'
import { CPU_BOUND } from '../support/budget.js'

/** An epoch-scale start, where floating-point rounding of milliseconds actually bites. */
const T0 = Date.UTC(2026, 10, 22, 12, 0, 0)

/** Runs calls at the given times through gcra, storing the state as a limiter would. */
function run(rule: RateLimitRule, times: readonly number[]) {
  let tat: GcraState | undefined
  return times.map((now) => {
    const d = gcra(rule, tat, now)
    if (d.allowed) tat = d.next
    return d
  })
}

/** How many calls at one instant pass from a fresh state. */
function burst(rule: RateLimitRule, now: number) {
  return run(rule, new Array<number>(rule.limit + 3).fill(now)).filter((d) => d.allowed).length
}

/**
 * Exact GCRA in integers: time in units of 1/limit ms, so the emission interval is windowMs.
 * Bucket of `limit`, refilling at limit per windowMs; the textbook definition (ITU-T I.371).
 */
function exactGcra(rule: RateLimitRule) {
  const L = BigInt(rule.limit)
  const W = BigInt(rule.windowMs)
  let tat: bigint | undefined
  const ceilDiv = (a: bigint, b: bigint) => (a <= 0n ? 0n : (a + b - 1n) / b)
  return (nowMs: number) => {
    const now = BigInt(nowMs) * L
    const t = tat === undefined || tat < now ? now : tat
    const allowAt = t + W - W * L
    if (allowAt > now) {
      return { allowed: false, remaining: 0, resetMs: Number(ceilDiv(t - now, L)), retryAfterMs: Number(ceilDiv(allowAt - now, L)) }
    }
    tat = t + W
    return { allowed: true, remaining: Number((W * L - (tat - now)) / W), resetMs: Number(ceilDiv(tat - now, L)), retryAfterMs: 0 }
  }
}

const pick = ({ allowed, remaining, resetMs, retryAfterMs }: GcraDecision) => ({ allowed, remaining, resetMs, retryAfterMs })

describe('gcra: burst', () => {
  it('lets a fresh key burst exactly `limit` calls at once, counting remaining down', () => {
    const decisions = run({ limit: 10, windowMs: 1000 }, new Array<number>(12).fill(T0))
    expect(decisions.map((d) => d.allowed)).toEqual([...new Array<boolean>(10).fill(true), false, false])
    expect(decisions.map((d) => d.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0])
    // The bucket is full again 100 ms per call later.
    expect(decisions.slice(0, 10).map((d) => d.resetMs)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000])
    expect(decisions.every((d) => (d.allowed ? d.retryAfterMs === 0 : d.retryAfterMs === 100 && d.resetMs === 1000))).toBe(true)
  })

  it('a fresh decision: allowed, remaining limit - 1, full again after one interval', () => {
    expect(pick(gcra({ limit: 10, windowMs: 1000 }, undefined, T0))).toEqual({ allowed: true, remaining: 9, resetMs: 100, retryAfterMs: 0 })
    expect(pick(gcra({ limit: 1, windowMs: 60_000 }, undefined, T0))).toEqual({
      allowed: true,
      remaining: 0,
      resetMs: 60_000,
      retryAfterMs: 0,
    })
  })

  it.each([
    [3, 1000],
    [7, 1000],
    [9, 60_000],
    [11, 3_600_000],
    [13, 86_400_000],
    [49, 1000],
    [97, 60_000],
    [999, 3_600_000],
    [4999, 3_600_000],
    [5000, 3_600_000],
    [7919, 60_000],
    [99_991, 86_400_000],
    [200_000, 1000],
  ])(
    'bursts exactly limit=%i per windowMs=%i at epoch-scale times',
    (limit, windowMs) => {
      // Each emission interval (windowMs / limit) is not a binary fraction; summing it onto an
      // epoch-millisecond TAT used to round up and cut the burst short by one.
      for (const now of [0, 1, T0, 1_722_222_222_222, 4_102_444_800_000]) {
        expect(burst({ limit, windowMs }, now), `now=${now}`).toBe(limit)
      }
    },
    CPU_BOUND.timeout,
  ) // 200 000 calls five times: seconds on a loaded machine

  it('TokenKit: 5000 per hour is a burst of 5000, then one call per 720 ms', () => {
    const rule = { limit: 5000, windowMs: 3_600_000 }
    const decisions = run(rule, new Array<number>(5001).fill(T0))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5000)
    expect(pick(decisions[5000]!)).toEqual({ allowed: false, remaining: 0, resetMs: 3_600_000, retryAfterMs: 720 })
  })
})

describe('gcra: refill', () => {
  const rule = { limit: 10, windowMs: 1000 }

  it('refills at limit per window: one call per 100 ms after a burst', () => {
    const times = [...new Array<number>(10).fill(T0), T0 + 99, T0 + 100, T0 + 100, T0 + 199, T0 + 200]
    expect(run(rule, times).map((d) => d.allowed)).toEqual([...new Array<boolean>(10).fill(true), false, true, false, false, true])
  })

  it('reports retryAfterMs as the exact wait, and waiting it suffices', () => {
    const decisions = run(rule, [...new Array<number>(10).fill(T0), T0 + 37])
    expect(pick(decisions[10]!)).toEqual({ allowed: false, remaining: 0, resetMs: 963, retryAfterMs: 63 })
    expect(
      run(rule, [...new Array<number>(10).fill(T0), T0 + 37, T0 + 99, T0 + 100])
        .map((d) => d.allowed)
        .slice(10),
    ).toEqual([false, false, true])
  })

  it('half a window after a burst, half the bucket is back', () => {
    const decisions = run(rule, [...new Array<number>(10).fill(T0), ...new Array<number>(7).fill(T0 + 500)])
    expect(decisions.slice(10).map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false])
    expect(decisions.slice(10, 15).map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0])
  })

  it('a client quiet for a whole window may burst the whole limit again', () => {
    const decisions = run(rule, [...new Array<number>(10).fill(T0), ...new Array<number>(11).fill(T0 + 1000)])
    expect(decisions.slice(10).filter((d) => d.allowed)).toHaveLength(10)
    expect(decisions[10]!.remaining).toBe(9)
  })

  it('a steady client at exactly the rate is never refused, and keeps a full bucket', () => {
    const times = Array.from({ length: 200 }, (_, i) => T0 + i * 100)
    const decisions = run(rule, times)
    expect(decisions.every((d) => d.allowed)).toBe(true)
    expect(decisions.every((d) => d.remaining === 9 && d.resetMs === 100)).toBe(true)
  })

  it('a steady client at 7 per second gets exactly 7 per second, at epoch-scale times (1000 / 7 is no binary fraction)', () => {
    const r7 = { limit: 7, windowMs: 1000 }
    // Twice the rate for 60 s: the burst of 7, then exactly 7 per second.
    const times = Array.from({ length: 840 }, (_, i) => T0 + Math.floor((i * 1000) / 14))
    const allowed = run(r7, times).filter((d) => d.allowed).length
    expect(allowed).toBe(7 + Math.floor(((times.at(-1)! - T0) * 7) / 1000))
  })

  it('after a burst at 7 per second, the next call is due in 143 ms, not before', () => {
    const r7 = { limit: 7, windowMs: 1000 }
    const decisions = run(r7, [...new Array<number>(8).fill(T0), T0 + 142, T0 + 143, T0 + 143])
    expect(decisions[7]!.retryAfterMs).toBe(143)
    expect(decisions.slice(8).map((d) => d.allowed)).toEqual([false, true, false])
  })

  it('a clock that steps back does not refill the bucket', () => {
    const times = [...new Array<number>(10).fill(T0), T0 - 5000, T0 - 1]
    expect(
      run(rule, times)
        .slice(10)
        .map((d) => d.allowed),
    ).toEqual([false, false])
  })
})

describe('gcraState', () => {
  const rule = { limit: 10, windowMs: 1000 }

  it('is a full bucket for a fresh or long-idle key', () => {
    expect(gcraState(rule, undefined, T0)).toEqual({ remaining: 10, resetMs: 0 })
    const { next } = gcra(rule, undefined, T0)
    expect(gcraState(rule, next, T0 + 5000)).toEqual({ remaining: 10, resetMs: 0 })
  })

  it('reports what is left without counting a call', () => {
    let tat: GcraState | undefined
    for (let i = 0; i < 4; i++) tat = gcra(rule, tat, T0).next
    expect(gcraState(rule, tat, T0)).toEqual({ remaining: 6, resetMs: 400 })
    expect(gcraState(rule, tat, T0 + 150)).toEqual({ remaining: 7, resetMs: 250 })
    // Looking does not change anything: the next call sees the same state.
    expect(gcra(rule, tat, T0).remaining).toBe(5)
  })
})

describe('gcra: properties', () => {
  // Rules in the range key management accepts (windowMs >= 1 s). Small limits keep the properties
  // that replay `remaining` calls fast; the exact comparison also draws large ones below.
  const ruleArb = fc.record({
    limit: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 600 })),
    windowMs: fc.oneof(fc.constantFrom(1000, 60_000, 3_600_000, 86_400_000), fc.integer({ min: 1000, max: 100_000 })),
  })
  /** Call times that hit the interesting points: same instant, one interval, just before it. */
  const timesArb = (rule: RateLimitRule) => {
    const interval = rule.windowMs / rule.limit
    const step = fc.oneof(
      fc.constant(0),
      fc.constant(1),
      fc.constant(Math.floor(interval)),
      fc.constant(Math.ceil(interval)),
      fc.constant(Math.max(0, Math.ceil(interval) - 1)),
      fc.integer({ min: 0, max: rule.windowMs }),
      fc.integer({ min: 0, max: Math.ceil(interval) * 3 }),
    )
    return fc.tuple(fc.integer({ min: 0, max: 1e11 }), fc.array(step, { minLength: 1, maxLength: 150 })).map(([offset, steps]) => {
      let t = T0 + offset
      return steps.map((s) => (t += s))
    })
  }
  const scenario = ruleArb.chain((rule) => fc.tuple(fc.constant(rule), timesArb(rule)))
  // Exactness depends only on limit * windowMs < 2^53, never on the instant: large limits too.
  const wideRuleArb = fc.record({
    limit: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 200_000 })),
    windowMs: fc.oneof(fc.constantFrom(1000, 60_000, 3_600_000, 86_400_000), fc.integer({ min: 1000, max: 100_000 })),
  })
  const wideScenario = wideRuleArb.chain((rule) => fc.tuple(fc.constant(rule), timesArb(rule)))

  it('decides exactly like an integer-arithmetic GCRA, values included', CPU_BOUND, () => {
    fc.assert(
      fc.property(wideScenario, ([rule, times]) => {
        const exact = exactGcra(rule)
        const ours = run(rule, times)
        times.forEach((now, i) => expect(pick(ours[i]!), `call ${i} at +${now - times[0]!}`).toEqual(exact(now)))
      }),
      { numRuns: 1500 },
    )
  })

  it('never lets more than limit + floor(d * limit / window) calls through in any interval of length d', CPU_BOUND, () => {
    fc.assert(
      fc.property(scenario, ([rule, times]) => {
        const allowed = times.filter((_, i) => run(rule, times)[i]!.allowed)
        for (let i = 0; i < allowed.length; i++) {
          for (let j = i; j < allowed.length; j++) {
            const d = BigInt(allowed[j]! - allowed[i]!)
            const bound = BigInt(rule.limit) + (d * BigInt(rule.limit)) / BigInt(rule.windowMs)
            expect(BigInt(j - i + 1) <= bound, `${j - i + 1} calls in ${d} ms`).toBe(true)
          }
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('refuses only what it must: waiting retryAfterMs is always enough, and remaining calls all pass at once', CPU_BOUND, () => {
    fc.assert(
      fc.property(scenario, ([rule, times]) => {
        let tat: GcraState | undefined
        for (const now of times) {
          const d = gcra(rule, tat, now)
          if (d.allowed) {
            tat = d.next
            // `remaining` more calls right now must all pass, and the one after must not.
            let t = tat
            for (let k = 0; k < d.remaining; k++) {
              const next = gcra(rule, t, now)
              expect(next.allowed).toBe(true)
              t = next.next
            }
            expect(gcra(rule, t, now).allowed).toBe(false)
          } else {
            expect(d.retryAfterMs).toBeGreaterThan(0)
            expect(gcra(rule, tat, now + d.retryAfterMs).allowed).toBe(true)
            if (d.retryAfterMs > 1) expect(gcra(rule, tat, now + d.retryAfterMs - 1).allowed).toBe(false)
          }
        }
      }),
      { numRuns: 150 },
    )
  })

  it('always bursts exactly the limit, for any rule and any epoch-scale instant', CPU_BOUND, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1000, max: 365 * 86_400_000 }),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (limit, windowMs, now) => {
          expect(burst({ limit, windowMs }, now)).toBe(limit)
        },
      ),
      { numRuns: 300 },
    )
  })
})
