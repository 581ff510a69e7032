import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { gcra, type GcraState } from '../../src/limiters/gcra.js'
import { MemoryRateLimiter } from '../../src/limiters/memory-rate-limiter.js'
import type { LimitRequest } from '../../src/limiters/rate-limiter.js'
import { formatPolicy, formatRateLimit } from '../../src/http/rate-limit-headers.js'
import type { RateLimitRule } from '../../src/types.js'
import { describeRateLimiterConformance } from '../../testing/index.js'
import { CPU_BOUND } from '../support/budget.js'

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0)
const PER_SECOND: RateLimitRule = { limit: 10, windowMs: 1000 }
const PER_MINUTE: RateLimitRule = { limit: 3, windowMs: 60_000 }
const LOCKOUT = { maxFailures: 10, windowMs: 5 * 60_000 }

describeRateLimiterConformance('MemoryRateLimiter', async () => ({ limiter: new MemoryRateLimiter(), close: async () => {} }))

function calls(limiter: MemoryRateLimiter, request: Omit<LimitRequest, 'now'>, times: readonly number[]) {
  return times.map((now) => limiter.limitSync({ ...request, now }))
}

describe('MemoryRateLimiter: quotas', () => {
  it('allows a burst of exactly the limit, then refuses with retryAfterMs, remaining and reset', () => {
    const limiter = new MemoryRateLimiter()
    const results = calls(limiter, { key: 'k1', rules: [PER_SECOND] }, new Array<number>(11).fill(T0))
    expect(results.slice(0, 10).every((r) => r.allowed && !r.blocked && r.retryAfterMs === 0)).toBe(true)
    expect(results.slice(0, 10).map((r) => r.rules[0]!.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    expect(results[9]!.rules[0]).toEqual({ rule: PER_SECOND, remaining: 0, resetMs: 1000 })
    expect(results[10]).toEqual({
      allowed: false,
      blocked: false,
      retryAfterMs: 100,
      rules: [{ rule: PER_SECOND, remaining: 0, resetMs: 1000 }],
    })
  })

  it('refills at limit per window', () => {
    const limiter = new MemoryRateLimiter()
    const request = { key: 'k1', rules: [PER_SECOND] }
    calls(limiter, request, new Array<number>(10).fill(T0))
    expect(calls(limiter, request, [T0 + 99, T0 + 100, T0 + 100, T0 + 300, T0 + 300, T0 + 300]).map((r) => r.allowed)).toEqual([
      false,
      true,
      false,
      true,
      true,
      false,
    ])
  })

  it('limit() resolves, never rejects, on a denial, with the same answer as limitSync', async () => {
    const a = new MemoryRateLimiter()
    const b = new MemoryRateLimiter()
    for (let i = 0; i < 12; i++) {
      const request = { key: 'k', rules: [PER_SECOND], now: T0 }
      await expect(a.limit(request)).resolves.toEqual(b.limitSync(request))
    }
  })

  it('counts keys apart, and rules of different size apart', () => {
    const limiter = new MemoryRateLimiter()
    calls(limiter, { key: 'k1', rules: [PER_SECOND] }, new Array<number>(10).fill(T0))
    expect(limiter.limitSync({ key: 'k1', rules: [PER_SECOND], now: T0 }).allowed).toBe(false)
    expect(limiter.limitSync({ key: 'k2', rules: [PER_SECOND], now: T0 }).allowed).toBe(true)
    expect(limiter.limitSync({ key: 'k1', rules: [{ limit: 10, windowMs: 2000 }], now: T0 }).allowed).toBe(true)
    expect(limiter.limitSync({ key: 'k1', rules: [{ limit: 11, windowMs: 1000 }], now: T0 }).allowed).toBe(true)
  })

  it('with no rules, allows and reports nothing', () => {
    const limiter = new MemoryRateLimiter()
    expect(limiter.limitSync({ key: 'k', rules: [], now: T0 })).toEqual({ allowed: true, blocked: false, retryAfterMs: 0, rules: [] })
  })
})

describe('MemoryRateLimiter: several rules are one atomic decision', () => {
  const rules = [PER_SECOND, PER_MINUTE]

  it('allows only when every rule allows, and reports each rule in order', () => {
    const limiter = new MemoryRateLimiter()
    const results = calls(limiter, { key: 'k', rules }, [T0, T0, T0, T0])
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false])
    expect(results[2]!.rules.map((s) => s.rule)).toEqual(rules)
    expect(results[2]!.rules.map((s) => s.remaining)).toEqual([7, 0])
    // Refused by the minute rule: retry when it has a token again, 20 s on.
    expect(results[3]!.retryAfterMs).toBe(20_000)
  })

  it('a call one rule refuses counts on none: the rules that allowed it are reported uncounted', () => {
    const limiter = new MemoryRateLimiter()
    calls(limiter, { key: 'k', rules }, [T0, T0, T0])
    const denied = calls(limiter, { key: 'k', rules }, [T0, T0, T0, T0, T0])
    for (const result of denied) {
      expect(result.allowed).toBe(false)
      expect(result.rules[0]).toEqual({ rule: PER_SECOND, remaining: 7, resetMs: 300 })
      expect(result.rules[1]).toEqual({ rule: PER_MINUTE, remaining: 0, resetMs: 60_000 })
    }
    // Five refused calls later, the per-second rule still has its 7: none of them counted.
    const perSecondOnly = calls(limiter, { key: 'k', rules: [PER_SECOND] }, new Array<number>(8).fill(T0))
    expect(perSecondOnly.map((r) => r.allowed)).toEqual([true, true, true, true, true, true, true, false])
  })

  it('when several rules refuse, retryAfterMs is the longest wait', () => {
    const limiter = new MemoryRateLimiter()
    const tight = [
      { limit: 2, windowMs: 1000 },
      { limit: 2, windowMs: 10_000 },
    ]
    const results = calls(limiter, { key: 'k', rules: tight }, [T0, T0, T0])
    expect(results[2]!.allowed).toBe(false)
    expect(results[2]!.retryAfterMs).toBe(5000)
  })

  it('matches per-rule GCRA where a call counts only if all rules allow it (property)', CPU_BOUND, () => {
    const ruleArb = fc.record({ limit: fc.integer({ min: 1, max: 8 }), windowMs: fc.integer({ min: 1000, max: 20_000 }) })
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 60 }),
        (rules, steps) => {
          // lru-cache allocates its arrays up front: keep the many limiters of a property test small.
          const limiter = new MemoryRateLimiter({ maxKeys: 16, maxAddresses: 16 })
          // Reference: one TAT per distinct rule, updated only when all allow.
          const tats = new Map<string, GcraState | undefined>()
          let now = T0
          for (const step of steps) {
            now += step
            const decisions = rules.map((r) => gcra(r, tats.get(`${r.limit}|${r.windowMs}`), now))
            const allowed = decisions.every((d) => d.allowed)
            if (allowed) rules.forEach((r, i) => tats.set(`${r.limit}|${r.windowMs}`, decisions[i]!.next))
            const result = limiter.limitSync({ key: 'k', rules, now })
            expect(result.allowed).toBe(allowed)
            expect(result.retryAfterMs).toBe(allowed ? 0 : Math.max(...decisions.map((d) => d.retryAfterMs)))
            expect(result.rules).toHaveLength(rules.length)
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  it('never lets more than limit + floor(d * limit / window) calls through for any rule and interval d (property)', CPU_BOUND, () => {
    const ruleArb = fc.record({ limit: fc.integer({ min: 1, max: 20 }), windowMs: fc.integer({ min: 1000, max: 60_000 }) })
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 2 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 120 }),
        (rules, steps) => {
          const limiter = new MemoryRateLimiter({ maxKeys: 16, maxAddresses: 16 })
          const allowedAt: number[] = []
          let now = T0
          for (const step of steps) {
            now += step
            if (limiter.limitSync({ key: 'k', rules, now }).allowed) allowedAt.push(now)
          }
          for (const rule of rules) {
            for (let i = 0; i < allowedAt.length; i++) {
              for (let j = i; j < allowedAt.length; j++) {
                const d = allowedAt[j]! - allowedAt[i]!
                expect(j - i + 1).toBeLessThanOrEqual(rule.limit + Math.floor((d * rule.limit) / rule.windowMs))
              }
            }
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('MemoryRateLimiter: lockout', () => {
  it('blocks an address at its maxFailures-th failure until the window ends, then clears', async () => {
    const limiter = new MemoryRateLimiter()
    for (let i = 0; i < 9; i++) {
      await expect(limiter.recordFailure('203.0.113.7', LOCKOUT, T0 + i * 1000)).resolves.toEqual({
        blocked: false,
        retryAfterMs: 0,
        failures: i + 1,
      })
    }
    expect(limiter.limitSync({ key: 'k', rules: [PER_SECOND], blockKey: '203.0.113.7', now: T0 + 9000 }).allowed).toBe(true)
    // The tenth failure, 60 s after the first: blocked for the rest of the 5-minute window.
    await expect(limiter.recordFailure('203.0.113.7', LOCKOUT, T0 + 60_000)).resolves.toEqual({
      blocked: true,
      retryAfterMs: 240_000,
      failures: 10,
    })
    expect(limiter.limitSync({ key: 'k', rules: [PER_SECOND], blockKey: '203.0.113.7', now: T0 + 60_000 })).toEqual({
      allowed: false,
      blocked: true,
      retryAfterMs: 240_000,
      rules: [],
    })
    expect(limiter.limitSync({ key: 'k', rules: [], blockKey: '203.0.113.7', now: T0 + 299_999 })).toMatchObject({
      blocked: true,
      retryAfterMs: 1,
    })
    // The window ends: the block is gone, and a new failure starts a new count.
    expect(limiter.limitSync({ key: 'k', rules: [], blockKey: '203.0.113.7', now: T0 + 300_000 })).toMatchObject({
      allowed: true,
      blocked: false,
    })
    await expect(limiter.recordFailure('203.0.113.7', LOCKOUT, T0 + 300_000)).resolves.toEqual({
      blocked: false,
      retryAfterMs: 0,
      failures: 1,
    })
    for (let i = 1; i < 9; i++) await limiter.recordFailure('203.0.113.7', LOCKOUT, T0 + 300_000 + i)
    await expect(limiter.recordFailure('203.0.113.7', LOCKOUT, T0 + 300_009)).resolves.toMatchObject({ blocked: true })
  })

  it('failures still count while blocked, and the block still ends with the window', async () => {
    const limiter = new MemoryRateLimiter()
    for (let i = 0; i < 15; i++) await limiter.recordFailure('a', LOCKOUT, T0 + i)
    await expect(limiter.recordFailure('a', LOCKOUT, T0 + 100)).resolves.toEqual({ blocked: true, retryAfterMs: 299_900, failures: 16 })
    expect(limiter.limitSync({ key: 'k', rules: [], blockKey: 'a', now: T0 + 300_000 }).blocked).toBe(false)
  })

  it('failures spread over two windows never block', async () => {
    const limiter = new MemoryRateLimiter()
    for (let i = 0; i < 9; i++) await limiter.recordFailure('a', LOCKOUT, T0 + i)
    for (let i = 0; i < 9; i++)
      await expect(limiter.recordFailure('a', LOCKOUT, T0 + 300_000 + i)).resolves.toMatchObject({ blocked: false })
  })

  it('blocks one address, not its neighbours, and not when no blockKey is given', async () => {
    const limiter = new MemoryRateLimiter()
    for (let i = 0; i < 10; i++) await limiter.recordFailure('a', LOCKOUT, T0)
    expect(limiter.limitSync({ key: 'k', rules: [], blockKey: 'a', now: T0 }).blocked).toBe(true)
    expect(limiter.limitSync({ key: 'k', rules: [], blockKey: 'b', now: T0 }).blocked).toBe(false)
    expect(limiter.limitSync({ key: 'k', rules: [PER_SECOND], now: T0 })).toMatchObject({ allowed: true, blocked: false })
  })

  it('a call refused by the block counts on no quota', async () => {
    const limiter = new MemoryRateLimiter()
    for (let i = 0; i < 10; i++) await limiter.recordFailure('a', LOCKOUT, T0)
    calls(limiter, { key: 'k', rules: [PER_SECOND], blockKey: 'a' }, new Array<number>(50).fill(T0))
    expect(calls(limiter, { key: 'k', rules: [PER_SECOND] }, new Array<number>(11).fill(T0)).filter((r) => r.allowed)).toHaveLength(10)
  })

  it('honours a policy with maxFailures 1', async () => {
    const limiter = new MemoryRateLimiter()
    await expect(limiter.recordFailure('a', { maxFailures: 1, windowMs: 1000 }, T0)).resolves.toEqual({
      blocked: true,
      retryAfterMs: 1000,
      failures: 1,
    })
  })
})

describe('MemoryRateLimiter: bounded memory', () => {
  it('keeps at most maxKeys counters, dropping the least recently used', () => {
    const limiter = new MemoryRateLimiter({ maxKeys: 3 })
    const exhaust = (key: string) => calls(limiter, { key, rules: [{ limit: 1, windowMs: 60_000 }] }, [T0])
    const allowed = (key: string) => limiter.limitSync({ key, rules: [{ limit: 1, windowMs: 60_000 }], now: T0 }).allowed
    exhaust('a')
    exhaust('b')
    exhaust('c')
    expect(allowed('a')).toBe(false) // a is now the most recently used
    exhaust('d') // evicts b, the least recently used
    expect(allowed('a')).toBe(false)
    expect(allowed('c')).toBe(false)
    expect(allowed('d')).toBe(false)
    expect(allowed('b')).toBe(true) // forgotten: a fresh bucket
  })

  it('keeps at most maxAddresses failure windows', async () => {
    const limiter = new MemoryRateLimiter({ maxAddresses: 2 })
    for (let i = 0; i < 10; i++) await limiter.recordFailure('a', LOCKOUT, T0)
    expect(limiter.limitSync({ key: 'k', rules: [], blockKey: 'a', now: T0 }).blocked).toBe(true)
    await limiter.recordFailure('b', LOCKOUT, T0)
    await limiter.recordFailure('c', LOCKOUT, T0)
    expect(limiter.limitSync({ key: 'k', rules: [], blockKey: 'a', now: T0 }).blocked).toBe(false)
  })

  it('stays within maxKeys however many keys come by', () => {
    const limiter = new MemoryRateLimiter({ maxKeys: 100 })
    for (let i = 0; i < 10_000; i++) limiter.limitSync({ key: `k${i}`, rules: [{ limit: 1, windowMs: 60_000 }], now: T0 })
    // A limiter that kept every key would find all 10,000 exhausted here.
    let remembered = 0
    for (let i = 0; i < 10_000; i++)
      if (!limiter.limitSync({ key: `k${i}`, rules: [{ limit: 1, windowMs: 60_000 }], now: T0 }).allowed) remembered++
    expect(remembered).toBeLessThanOrEqual(100)
  })

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('refuses %s as maxKeys or maxAddresses with a TypeError', (bad) => {
    expect(() => new MemoryRateLimiter({ maxKeys: bad })).toThrow(TypeError)
    expect(() => new MemoryRateLimiter({ maxAddresses: bad })).toThrow(TypeError)
  })

  it('accepts positive integers and defaults', () => {
    expect(() => new MemoryRateLimiter({ maxKeys: 1, maxAddresses: 1 })).not.toThrow()
    expect(() => new MemoryRateLimiter({})).not.toThrow()
  })
})

describe('RateLimit headers from limiter states', () => {
  it('formats RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers) for one rule', () => {
    const limiter = new MemoryRateLimiter()
    const rule = { limit: 5000, windowMs: 3_600_000 }
    expect(formatPolicy([rule])).toBe('"default";q=5000;w=3600')
    const first = limiter.limitSync({ key: 'k', rules: [rule], now: T0 })
    // 720 ms until the bucket is full again rounds up to 1 s: never promise a reset too early.
    expect(formatRateLimit(first.rules)).toBe('"default";r=4999;t=1')
  })

  it('names several rules apart, or by their own names', () => {
    const rules = [PER_SECOND, PER_MINUTE]
    expect(formatPolicy(rules)).toBe('"w1-0";q=10;w=1, "w60-1";q=3;w=60')
    expect(
      formatPolicy([
        { ...PER_SECOND, name: 'burst' },
        { ...PER_MINUTE, name: 'sustained' },
      ]),
    ).toBe('"burst";q=10;w=1, "sustained";q=3;w=60')
    const limiter = new MemoryRateLimiter()
    calls(limiter, { key: 'k', rules }, [T0, T0, T0])
    const denied = limiter.limitSync({ key: 'k', rules, now: T0 })
    expect(formatRateLimit(denied.rules)).toBe('"w1-0";r=7;t=1, "w60-1";r=0;t=60')
  })
})
