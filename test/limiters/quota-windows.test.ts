import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fixedWindow, fixedWindowState, type FixedWindowState } from '../../src/limiters/fixed-window.js'
import { MemoryRateLimiter } from '../../src/limiters/memory-rate-limiter.js'
import { slidingWindow, slidingWindowState, type SlidingWindowState } from '../../src/limiters/sliding-window.js'
import { formatRateLimit } from '../../src/http/rate-limit-headers.js'
import type { QuotaDecision } from '../../src/limiters/quota-decision.js'
import type { RateLimitRule } from '../../src/types.js'

const HOUR = 3_600_000
const MINUTE = 60_000
// An epoch-scale instant on an hour boundary: 2026-01-01T00:00:00Z.
const T0 = Date.UTC(2026, 0, 1)

/** Runs calls at the given instants through one rule, counting only allowed calls, as a limiter does. */
function run<S>(
  decide: (rule: RateLimitRule, state: S | undefined, now: number) => QuotaDecision<S>,
  rule: RateLimitRule,
  times: number[],
): QuotaDecision<S>[] {
  let state: S | undefined
  return times.map((t) => {
    const d = decide(rule, state, t)
    if (d.allowed) state = d.next
    return d
  })
}

const timesArb = (span: number) =>
  fc.array(fc.integer({ min: 0, max: span }), { minLength: 1, maxLength: 60 }).map((ts) => ts.sort((a, b) => a - b).map((t) => T0 + t))

describe('fixed-window', () => {
  const threePerHour: RateLimitRule = { limit: 3, windowMs: HOUR, algorithm: 'fixed-window' }

  it('issue 18: a 3-per-hour key serves exactly 3 of 5 calls made within 40 minutes of one hour, and 3 again the next hour', () => {
    const calls = [0, 10, 20, 30, 40].map((m) => T0 + 5 * MINUTE + m * MINUTE)
    const results = run(fixedWindow, threePerHour, [...calls, T0 + HOUR, T0 + HOUR + 1, T0 + HOUR + 2, T0 + HOUR + 3])
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false, true, true, true, false])
    expect(results.slice(0, 3).map((r) => r.remaining)).toEqual([2, 1, 0])
    // Refused at 00:35 and 00:45: back at the hour.
    expect(results[3]).toMatchObject({ retryAfterMs: 25 * MINUTE, resetMs: 25 * MINUTE, remaining: 0 })
    expect(results[4]).toMatchObject({ retryAfterMs: 15 * MINUTE })
    // With GCRA the same key served 5 of them (the complaint).
    const gcra = new MemoryRateLimiter()
    expect(calls.map((t) => gcra.limitSync({ key: 'k', rules: [{ limit: 3, windowMs: HOUR }], now: t }).allowed)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ])
  })

  it('RateLimit says what is left and the seconds to the window’s end', () => {
    const [d] = run(fixedWindow, threePerHour, [T0 + HOUR - 90_500])
    expect(formatRateLimit([{ rule: threePerHour, remaining: d!.remaining, resetMs: d!.resetMs }])).toBe('"default";r=2;t=91')
  })

  it('never counts more than limit in one window, and refuses only a call its window is full for (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.constantFrom(1000, MINUTE, HOUR), timesArb(4 * HOUR), (limit, windowMs, times) => {
        const rule: RateLimitRule = { limit, windowMs, algorithm: 'fixed-window' }
        const results = run(fixedWindow, rule, times)
        const perWindow = new Map<number, number>()
        results.forEach((r, i) => {
          const window = Math.floor(times[i]! / windowMs)
          const before = perWindow.get(window) ?? 0
          expect(r.allowed).toBe(before < limit)
          if (r.allowed) perWindow.set(window, before + 1)
          const end = (window + 1) * windowMs - times[i]!
          expect(r.resetMs).toBe(end)
          expect(r.retryAfterMs).toBe(r.allowed ? 0 : end)
          expect(r.remaining).toBe(r.allowed ? limit - before - 1 : 0)
        })
      }),
    )
  })

  it('a clock that steps back keeps counting in the later window', () => {
    const results = run(fixedWindow, threePerHour, [T0 + HOUR, T0 + HOUR, T0 + HOUR, T0 + HOUR - 1000])
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false])
  })

  it('reports a window without counting (fixedWindowState)', () => {
    const state: FixedWindowState = { start: T0, count: 2 }
    expect(fixedWindowState(threePerHour, state, T0 + 10 * MINUTE)).toEqual({ remaining: 1, resetMs: 50 * MINUTE })
    expect(fixedWindowState(threePerHour, state, T0 + HOUR)).toEqual({ remaining: 3, resetMs: 0 })
    expect(fixedWindowState(threePerHour, undefined, T0)).toEqual({ remaining: 3, resetMs: 0 })
  })
})

describe('sliding-window', () => {
  it('never counts more than limit in any interval of windowMs, and refuses only what it must (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.constantFrom(1000, 5000), timesArb(20_000), (limit, windowMs, times) => {
        const rule: RateLimitRule = { limit, windowMs, algorithm: 'sliding-window' }
        const results = run<SlidingWindowState>(slidingWindow, rule, times)
        const counted: number[] = []
        results.forEach((r, i) => {
          const t = times[i]!
          const inWindow = counted.filter((c) => c > t - windowMs)
          expect(r.allowed).toBe(inWindow.length < limit)
          if (r.allowed) {
            counted.push(t)
            expect(r.remaining).toBe(limit - inWindow.length - 1)
            expect(r.resetMs).toBe(windowMs)
          } else {
            // Waiting retryAfterMs is exactly enough: the oldest counted call then leaves the window.
            expect(r.retryAfterMs).toBe(inWindow[0]! + windowMs - t)
            expect(r.resetMs).toBe(inWindow.at(-1)! + windowMs - t)
            expect(r.retryAfterMs).toBeGreaterThan(0)
          }
        })
        // The guarantee itself: every interval (t - windowMs, t] holds at most limit counted calls.
        for (const t of counted) expect(counted.filter((c) => c > t - windowMs && c <= t).length).toBeLessThanOrEqual(limit)
      }),
    )
  })

  it('issue 18: a 3-per-hour key serves 3 in any hour, the fourth when the first is an hour old', () => {
    const rule: RateLimitRule = { limit: 3, windowMs: HOUR, algorithm: 'sliding-window' }
    const results = run<SlidingWindowState>(slidingWindow, rule, [
      T0,
      T0 + 10 * MINUTE,
      T0 + 20 * MINUTE,
      T0 + 40 * MINUTE,
      T0 + HOUR - 1,
      T0 + HOUR,
    ])
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false, true])
    expect(results[3]).toMatchObject({ retryAfterMs: 20 * MINUTE, resetMs: 40 * MINUTE })
    expect(results[4]).toMatchObject({ retryAfterMs: 1 })
  })

  it('reports a log without counting (slidingWindowState), and keeps it in order when the clock steps back', () => {
    const rule: RateLimitRule = { limit: 3, windowMs: HOUR, algorithm: 'sliding-window' }
    expect(slidingWindowState(rule, [T0, T0 + MINUTE], T0 + 2 * MINUTE)).toEqual({ remaining: 1, resetMs: HOUR - MINUTE })
    expect(slidingWindowState(rule, [T0], T0 + HOUR)).toEqual({ remaining: 3, resetMs: 0 })
    const back = slidingWindow(rule, [T0 + MINUTE], T0)
    expect(back.next).toEqual([T0 + MINUTE, T0 + MINUTE])
  })
})

describe('MemoryRateLimiter with window algorithms', () => {
  it('keeps each algorithm’s state apart, and reports the rules another rule refused as they stand', () => {
    const limiter = new MemoryRateLimiter()
    const fixed: RateLimitRule = { limit: 2, windowMs: HOUR, algorithm: 'fixed-window' }
    const sliding: RateLimitRule = { limit: 1, windowMs: HOUR, algorithm: 'sliding-window' }
    const call = (rules: RateLimitRule[], now: number) => limiter.limitSync({ key: 'k', rules, now })
    expect(call([fixed, sliding], T0)).toMatchObject({ allowed: true, rules: [{ remaining: 1 }, { remaining: 0, resetMs: HOUR }] })
    expect(call([fixed, sliding], T0 + MINUTE)).toEqual({
      allowed: false,
      blocked: false,
      retryAfterMs: HOUR - MINUTE,
      rules: [
        { rule: fixed, remaining: 1, resetMs: HOUR - MINUTE },
        { rule: sliding, remaining: 0, resetMs: HOUR - MINUTE },
      ],
    })
    expect(call([{ limit: 2, windowMs: HOUR }], T0 + MINUTE)).toMatchObject({ allowed: true, rules: [{ remaining: 1 }] })
    expect(call([fixed], T0 + 2 * MINUTE)).toMatchObject({ allowed: true, rules: [{ remaining: 0 }] })
  })
})
