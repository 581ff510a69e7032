import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LimitResult, LockoutPolicy, RateLimiter } from '../src/limiters/rate-limiter.js'
import type { KeyCredits, RateLimitRule } from '../src/types.js'

/**
 * What a limiter's test file hands the suite: a limiter, how to tear it down, and for a shared
 * backend another instance on it (its own connection), as a second server would have.
 *
 * @example
 * ```ts
 * const harness: LimiterHarness = { limiter: new MemoryRateLimiter(), close: async () => {} }
 * ```
 */
export interface LimiterHarness {
  limiter: RateLimiter
  /** Closes the limiter, every peer made from it, and drops whatever the harness created. */
  close(): Promise<void>
  /** Another limiter on the same backend. Absent when the backend cannot be shared (memory). */
  peer?(): Promise<RateLimiter>
}

// Windows of an hour and more: a limiter may decide at its backend's clock rather than at the
// `now` it is given (Redis does), so time passes between the calls of a test; at one call per
// 6 minutes or slower, the few milliseconds a test takes refill nothing, and every count is exact.
const HOUR = 3_600_000
const TEN_PER_HOUR: RateLimitRule = { limit: 10, windowMs: HOUR }
const THREE_PER_HOUR: RateLimitRule = { limit: 3, windowMs: HOUR }
const LOCKOUT: LockoutPolicy = { maxFailures: 5, windowMs: HOUR }

// Keys and addresses unique to a run, so that a shared backend that outlives the test (Redis)
// never hands one test another's counters.
const RUN = Math.floor(Math.random() * 36 ** 6).toString(36)
let counter = 0
const fresh = (what: string) => `${what}${RUN}x${(counter += 1)}`

/**
 * Defines, with vitest, the behaviour every {@link RateLimiter} must have: a burst of exactly the
 * limit then a refusal with the wait, keys and rules counted apart, several rules as one atomic
 * decision, exact counts under concurrency (across instances when `peer` is given), lockout by
 * address, bad arguments as rejections, and, for a limiter whose `credits` is true, usage
 * credits spent with the rules as one decision. `makeLimiter` is called once per test.
 *
 * @example
 * ```ts
 * describeRateLimiterConformance('memory', async () => ({ limiter: new MemoryRateLimiter(), close: async () => {} }))
 * ```
 */
export function describeRateLimiterConformance(name: string, makeLimiter: () => Promise<LimiterHarness>): void {
  describe(`RateLimiter conformance: ${name}`, () => {
    let harness: LimiterHarness
    let limiter: RateLimiter
    const limit = (key: string, rules: readonly RateLimitRule[], blockKey?: string, on: RateLimiter = limiter) =>
      on.limit({ key, rules, blockKey, now: Date.now() })
    const times = async (n: number, key: string, rules: readonly RateLimitRule[], blockKey?: string): Promise<LimitResult[]> => {
      const results: LimitResult[] = []
      for (let i = 0; i < n; i++) results.push(await limit(key, rules, blockKey))
      return results
    }

    beforeEach(async () => {
      harness = await makeLimiter()
      limiter = harness.limiter
    })
    afterEach(async () => {
      await harness.close()
    })

    describe('quotas', () => {
      it('allows a burst of exactly the limit, counting remaining down, then refuses with the wait', async () => {
        const key = fresh('k')
        const results = await times(11, key, [TEN_PER_HOUR])
        for (const r of results.slice(0, 10)) {
          expect(r).toMatchObject({ allowed: true, blocked: false, retryAfterMs: 0 })
          expect(r.rules).toHaveLength(1)
          expect(r.rules[0]!.rule).toStrictEqual(TEN_PER_HOUR)
          expect(r.rules[0]!.resetMs).toBeGreaterThan(0)
          expect(r.rules[0]!.resetMs).toBeLessThanOrEqual(HOUR)
        }
        expect(results.slice(0, 10).map((r) => r.rules[0]!.remaining)).toStrictEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
        const refused = results[10]!
        expect(refused).toMatchObject({ allowed: false, blocked: false, rules: [{ rule: TEN_PER_HOUR, remaining: 0 }] })
        // One call's share of the window (6 minutes), less the little time the test took.
        expect(refused.retryAfterMs).toBeGreaterThan(HOUR / 10 - 60_000)
        expect(refused.retryAfterMs).toBeLessThanOrEqual(HOUR / 10)
      })

      it('resolves, never rejects, on a refusal, and keeps refusing', async () => {
        const key = fresh('k')
        await times(3, key, [THREE_PER_HOUR])
        for (let i = 0; i < 5; i++) await expect(limit(key, [THREE_PER_HOUR])).resolves.toMatchObject({ allowed: false })
      })

      it('counts keys apart, and rules of different size apart', async () => {
        const key = fresh('k')
        await times(3, key, [THREE_PER_HOUR])
        expect((await limit(key, [THREE_PER_HOUR])).allowed).toBe(false)
        expect((await limit(fresh('k'), [THREE_PER_HOUR])).allowed).toBe(true)
        expect((await limit(key, [{ limit: 3, windowMs: 2 * HOUR }])).allowed).toBe(true)
        expect((await limit(key, [{ limit: 4, windowMs: HOUR }])).allowed).toBe(true)
      })

      it('with no rules, allows and reports nothing', async () => {
        expect(await limit(fresh('k'), [])).toStrictEqual({ allowed: true, blocked: false, retryAfterMs: 0, rules: [] })
      })
    })

    describe('several rules are one atomic decision', () => {
      const rules = [TEN_PER_HOUR, THREE_PER_HOUR]

      it('allows only when every rule allows, and reports each rule in order', async () => {
        const results = await times(4, fresh('k'), rules)
        expect(results.map((r) => r.allowed)).toStrictEqual([true, true, true, false])
        expect(results[2]!.rules.map((s) => s.rule)).toStrictEqual(rules)
        expect(results[2]!.rules.map((s) => s.remaining)).toStrictEqual([7, 0])
      })

      it('a call one rule refuses counts on none', async () => {
        const key = fresh('k')
        await times(3, key, rules)
        const refused = await times(5, key, rules)
        for (const r of refused) {
          expect(r.allowed).toBe(false)
          expect(r.rules.map((s) => s.remaining)).toStrictEqual([7, 0])
        }
        // Five refused calls later, the ten-per-hour rule still has its 7: none of them counted.
        expect((await times(8, key, [TEN_PER_HOUR])).map((r) => r.allowed)).toStrictEqual([true, true, true, true, true, true, true, false])
      })

      it('when several rules refuse, retryAfterMs is the longest wait', async () => {
        const key = fresh('k')
        const tight = [
          { limit: 2, windowMs: HOUR },
          { limit: 2, windowMs: 2 * HOUR },
        ]
        const [, , third] = await times(3, key, tight)
        expect(third!.allowed).toBe(false)
        // Half an hour for the first rule, an hour for the second: the hour.
        expect(third!.retryAfterMs).toBeGreaterThan(HOUR - 60_000)
        expect(third!.retryAfterMs).toBeLessThanOrEqual(HOUR)
      })
    })

    // The window algorithms (RateLimitRule.algorithm). Fixed windows are aligned to the epoch, so
    // a day's window ends at UTC midnight: a test crossing it (a few ms in 86.4 million) is the
    // one way these counts could differ.
    for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
      describe(`${algorithm} rules`, () => {
        const rule = (limit: number, windowMs = 24 * HOUR): RateLimitRule => ({ limit, windowMs, algorithm })

        it('the 3-per-hour key of issue 18: five calls in a row, exactly three served, then a wait', async () => {
          const key = fresh('k')
          const threePerHour = rule(3, HOUR)
          const results = await times(5, key, [threePerHour])
          expect(results.map((r) => r.allowed)).toStrictEqual([true, true, true, false, false])
          expect(results.slice(0, 3).map((r) => r.rules[0]!.remaining)).toStrictEqual([2, 1, 0])
          for (const r of results) {
            expect(r.rules[0]!.rule).toStrictEqual(threePerHour)
            expect(r.rules[0]!.resetMs).toBeGreaterThan(0)
            expect(r.rules[0]!.resetMs).toBeLessThanOrEqual(HOUR)
          }
          for (const refused of results.slice(3)) {
            expect(refused).toMatchObject({ allowed: false, blocked: false, rules: [{ remaining: 0 }] })
            expect(refused.retryAfterMs).toBeGreaterThan(0)
            expect(refused.retryAfterMs).toBeLessThanOrEqual(HOUR)
          }
          if (algorithm === 'sliding-window') {
            // The first call leaves the window an hour after it was made: the wait is an hour, less the test's few ms.
            expect(results[3]!.retryAfterMs).toBeGreaterThan(HOUR - 60_000)
          }
        })

        it('200 concurrent calls on a rule of 50 allow exactly 50 (through every instance the harness gives)', async () => {
          const instances = harness.peer === undefined ? [limiter] : [limiter, await harness.peer(), await harness.peer()]
          const key = fresh('k')
          const results = await Promise.all(
            Array.from({ length: 200 }, (_, i) => limit(key, [rule(50)], undefined, instances[i % instances.length])),
          )
          expect(results.filter((r) => r.allowed)).toHaveLength(50)
        })

        it('is one atomic decision with a GCRA rule: a call either rule refuses counts on neither', async () => {
          const key = fresh('k')
          const windowed = rule(2)
          const results = await times(4, key, [TEN_PER_HOUR, windowed])
          expect(results.map((r) => r.allowed)).toStrictEqual([true, true, false, false])
          expect(results[3]!.rules.map((s) => s.remaining)).toStrictEqual([8, 0])
          // The GCRA rule alone still has its 8: the refused calls counted on none.
          expect((await times(9, key, [TEN_PER_HOUR])).map((r) => r.allowed)).toStrictEqual([...new Array<boolean>(8).fill(true), false])
          const gcraFirst = fresh('k')
          await times(10, gcraFirst, [TEN_PER_HOUR])
          expect((await limit(gcraFirst, [TEN_PER_HOUR, windowed])).allowed).toBe(false)
          expect(await limit(gcraFirst, [windowed])).toMatchObject({ allowed: true, rules: [{ remaining: 1 }] })
        })

        it('counts apart from a GCRA rule of the same limit and window', async () => {
          const key = fresh('k')
          await times(2, key, [{ limit: 2, windowMs: 24 * HOUR }])
          expect(await limit(key, [rule(2)])).toMatchObject({ allowed: true, rules: [{ remaining: 1 }] })
        })
      })
    }

    describe('concurrency', () => {
      it('200 concurrent calls on a rule of 50 allow exactly 50 (through every instance the harness gives)', async () => {
        const instances = harness.peer === undefined ? [limiter] : [limiter, await harness.peer(), await harness.peer()]
        const key = fresh('k')
        const rule = { limit: 50, windowMs: 10 * HOUR }
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => limit(key, [rule], undefined, instances[i % instances.length])),
        )
        expect(results.filter((r) => r.allowed)).toHaveLength(50)
      })
    })

    describe('lockout', () => {
      it('blocks an address at its maxFailures-th failure, for the rest of the window', async () => {
        const address = fresh('203.0.113.')
        for (let i = 1; i < LOCKOUT.maxFailures; i++) {
          const state = await limiter.recordFailure(address, LOCKOUT, Date.now())
          expect(state).toMatchObject({ blocked: false, retryAfterMs: 0 })
          // `failures` is optional in the interface; when a limiter reports it, it must be the count.
          if (state.failures !== undefined) expect(state.failures).toBe(i)
        }
        expect(await limit(fresh('k'), [TEN_PER_HOUR], address)).toMatchObject({ allowed: true, blocked: false })
        const blocked = await limiter.recordFailure(address, LOCKOUT, Date.now())
        expect(blocked.blocked).toBe(true)
        if (blocked.failures !== undefined) expect(blocked.failures).toBe(LOCKOUT.maxFailures)
        expect(blocked.retryAfterMs).toBeGreaterThan(HOUR - 60_000)
        expect(blocked.retryAfterMs).toBeLessThanOrEqual(HOUR)
        const refused = await limit(fresh('k'), [TEN_PER_HOUR], address)
        expect(refused).toMatchObject({ allowed: false, blocked: true, rules: [] })
        expect(refused.retryAfterMs).toBeGreaterThan(HOUR - 60_000)
        expect(refused.retryAfterMs).toBeLessThanOrEqual(HOUR)
      })

      it('keeps counting failures while blocked, and stays blocked', async () => {
        const address = fresh('198.51.100.')
        for (let i = 0; i < LOCKOUT.maxFailures + 3; i++) await limiter.recordFailure(address, LOCKOUT, Date.now())
        const state = await limiter.recordFailure(address, LOCKOUT, Date.now())
        expect(state.blocked).toBe(true)
        if (state.failures !== undefined) expect(state.failures).toBe(LOCKOUT.maxFailures + 4)
        expect((await limit(fresh('k'), [], address)).blocked).toBe(true)
      })

      it('blocks that address only, and nothing when no blockKey is given', async () => {
        const address = fresh('192.0.2.')
        for (let i = 0; i < LOCKOUT.maxFailures; i++) await limiter.recordFailure(address, LOCKOUT, Date.now())
        const key = fresh('k')
        expect((await limit(key, [], address)).blocked).toBe(true)
        expect(await limit(key, [TEN_PER_HOUR], `${address}-other`)).toMatchObject({ allowed: true, blocked: false })
        expect(await limit(key, [TEN_PER_HOUR])).toMatchObject({ allowed: true, blocked: false })
      })

      it('a call the lockout refuses counts on no quota', async () => {
        const address = fresh('192.0.2.')
        for (let i = 0; i < LOCKOUT.maxFailures; i++) await limiter.recordFailure(address, LOCKOUT, Date.now())
        const key = fresh('k')
        await times(20, key, [THREE_PER_HOUR], address)
        expect((await times(4, key, [THREE_PER_HOUR])).map((r) => r.allowed)).toStrictEqual([true, true, true, false])
      })

      it('honours a policy with maxFailures 1', async () => {
        const state = await limiter.recordFailure(fresh('192.0.2.'), { maxFailures: 1, windowMs: HOUR }, Date.now())
        expect(state.blocked).toBe(true)
        expect(state.retryAfterMs).toBeGreaterThan(0)
      })

      it('a block set through one instance holds on another', async ({ skip }) => {
        if (harness.peer === undefined) return skip('this limiter has no other instance')
        const other = await harness.peer()
        const address = fresh('203.0.113.')
        for (let i = 0; i < LOCKOUT.maxFailures; i++) await (i % 2 === 0 ? limiter : other).recordFailure(address, LOCKOUT, Date.now())
        expect(await limit(fresh('k'), [TEN_PER_HOUR], address, other)).toMatchObject({ allowed: false, blocked: true })
        expect(await limit(fresh('k'), [TEN_PER_HOUR], address)).toMatchObject({ allowed: false, blocked: true })
      })
    })

    describe('credits (limiter.credits)', () => {
      const credits = (remaining: number, epoch = 1, refill: KeyCredits['refill'] = null): KeyCredits => ({ remaining, refill, epoch })
      const spend = (key: string, given: KeyCredits, cost?: number, rules: readonly RateLimitRule[] = [], on: RateLimiter = limiter) =>
        on.limit({ key, rules, credits: given, cost, now: Date.now() })
      const adjust = (key: string, given: KeyCredits, add: number, on: RateLimiter = limiter) =>
        on.adjustCredits!({ key, credits: given, add, now: Date.now() })

      it('spends exactly the balance, then refuses as exhausted with no wait when no refill will come', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        const results: LimitResult[] = []
        for (let i = 0; i < 4; i++) results.push(await spend(key, credits(3)))
        expect(results.map((r) => [r.allowed, r.credits, r.creditsExhausted])).toStrictEqual([
          [true, 2, false],
          [true, 1, false],
          [true, 0, false],
          [false, 0, true],
        ])
        expect(results[3]).toMatchObject({ blocked: false, retryAfterMs: 0 })
      })

      it('spends the cost given: more than one, or none (which still reports the balance)', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        expect(await spend(key, credits(10), 4)).toMatchObject({ allowed: true, credits: 6 })
        expect(await spend(key, credits(10), 0)).toMatchObject({ allowed: true, credits: 6 })
        expect(await spend(key, credits(10), 7)).toMatchObject({ allowed: false, credits: 6, creditsExhausted: true })
        expect(await spend(key, credits(10), 6)).toMatchObject({ allowed: true, credits: 0 })
        expect(await spend(key, credits(10), 0)).toMatchObject({ allowed: true, credits: 0, creditsExhausted: false })
      })

      it('is one decision with the rules: a quota refusal spends nothing, a credit refusal counts on no rule', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        const rule: RateLimitRule = { limit: 2, windowMs: HOUR }
        expect(await spend(key, credits(3), 1, [rule])).toMatchObject({ allowed: true, credits: 2, rules: [{ remaining: 1 }] })
        expect(await spend(key, credits(3), 1, [rule])).toMatchObject({ allowed: true, credits: 1, rules: [{ remaining: 0 }] })
        const refused = await spend(key, credits(3), 1, [rule])
        expect(refused).toMatchObject({ allowed: false, creditsExhausted: false, credits: 1 })
        expect(refused.retryAfterMs).toBeGreaterThan(0)
        // The quota refused: the balance is untouched.
        expect(await adjust(key, credits(3), 0)).toBe(1)
        const other = fresh('c')
        expect(await spend(other, credits(1), 2, [rule])).toMatchObject({ allowed: false, creditsExhausted: true, credits: 1 })
        // The credits refused: the rule counted nothing.
        expect(await limit(other, [rule])).toMatchObject({ allowed: true, rules: [{ remaining: 1 }] })
      })

      it('a newer epoch sets a new balance once; an older one never restores a spent balance', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        expect(await spend(key, credits(1, 5))).toMatchObject({ allowed: true, credits: 0 })
        // An instance with a stale record (epoch 4, a full balance) spends from the balance held.
        expect(await spend(key, credits(100, 4))).toMatchObject({ allowed: false, creditsExhausted: true, credits: 0 })
        expect(await spend(key, credits(1, 5))).toMatchObject({ allowed: false, creditsExhausted: true })
        // Set anew (epoch 6): taken once, then spent down like any balance.
        expect(await spend(key, credits(2, 6))).toMatchObject({ allowed: true, credits: 1 })
        expect(await spend(key, credits(2, 6))).toMatchObject({ allowed: true, credits: 0 })
        expect(await spend(key, credits(100, 5))).toMatchObject({ allowed: false, credits: 0 })
      })

      it('an older record never refills a newer balance with its own refill', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        // The newer record (epoch 5): 1 credit, no refill; spent.
        expect(await spend(key, credits(1, 5))).toMatchObject({ allowed: true, credits: 0 })
        // A rotated predecessor or a stale instance still holds epoch 4 with an hourly refill.
        const older = credits(100, 4, { amount: 50, intervalMs: 3_600_000 })
        expect(await spend(key, older, 0)).toMatchObject({ allowed: true, credits: 0 })
        expect(await spend(key, older)).toMatchObject({ allowed: false, creditsExhausted: true, credits: 0 })
        expect(await spend(key, credits(1, 5))).toMatchObject({ allowed: false, creditsExhausted: true, credits: 0 })
      })

      it('a refused spend still records a newer epoch: a stale record cannot spend the old balance after a cut-off', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        expect(await spend(key, credits(10, 1))).toMatchObject({ allowed: true, credits: 9 })
        // Cut off (epoch 2, 0 credits): refused, and the new balance is held from then on.
        expect(await spend(key, credits(0, 2))).toMatchObject({ allowed: false, creditsExhausted: true, credits: 0 })
        expect(await spend(key, credits(10, 1))).toMatchObject({ allowed: false, creditsExhausted: true, credits: 0 })
        // So is a newer epoch a rule refuses: the balance set is held, nothing spent.
        const rule = { limit: 1, windowMs: 3_600_000 }
        const other = fresh('c')
        expect(await spend(other, credits(10, 1), 1, [rule])).toMatchObject({ allowed: true, credits: 9 })
        expect(await spend(other, credits(3, 2), 1, [rule])).toMatchObject({ allowed: false, creditsExhausted: false, credits: 3 })
        expect(await spend(other, credits(10, 1), 0)).toMatchObject({ allowed: true, credits: 3 })
      })

      it('N concurrent spends at K < N credits allow exactly K (through every instance the harness gives)', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        const instances = [limiter, ...(harness.peer ? [await harness.peer()] : [])]
        const results = await Promise.all(
          Array.from({ length: 120 }, (_, i) => spend(key, credits(37), 1, [], instances[i % instances.length])),
        )
        expect(results.filter((r) => r.allowed)).toHaveLength(37)
        expect(results.filter((r) => r.creditsExhausted)).toHaveLength(83)
        expect(await adjust(key, credits(37), 0)).toBe(0)
      })

      it('adjustCredits adds to the running balance atomically, never losing a concurrent spend; 0 only reads', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        expect(await adjust(key, credits(10), 0)).toBe(10)
        expect(await spend(key, credits(10), 4)).toMatchObject({ allowed: true, credits: 6 })
        const instances = [limiter, ...(harness.peer ? [await harness.peer()] : [])]
        const calls = Array.from({ length: 40 }, (_, i) =>
          i % 2 === 0
            ? adjust(key, credits(10), 1, instances[i % instances.length])
            : spend(key, credits(10), 1, [], instances[(i >> 1) % instances.length]),
        )
        await Promise.all(calls)
        // 6 + 20 added - 20 spent (never short: the balance covers every spend that needs one).
        expect(await adjust(key, credits(10), 0)).toBe(6)
        // A read of a key never spent from stores nothing: a later set with the same epoch still applies.
        const fresher = fresh('c')
        expect(await adjust(fresher, credits(5), 0)).toBe(5)
        expect(await spend(fresher, credits(5), 5)).toMatchObject({ allowed: true, credits: 0 })
      })

      it('refills to the amount at the next interval, and says when when exhausted', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        const refilling = credits(1, 1, { amount: 3, intervalMs: 1000 })
        expect(await spend(key, refilling)).toMatchObject({ allowed: true, credits: 0 })
        const second = await spend(key, refilling)
        if (second.allowed) {
          // A new interval began in between: refilled to 3, and this call spent one.
          expect(second.credits).toBe(2)
        } else {
          expect(second).toMatchObject({ creditsExhausted: true, credits: 0 })
          expect(second.retryAfterMs).toBeGreaterThan(0)
          expect(second.retryAfterMs).toBeLessThanOrEqual(1000)
          await new Promise((resolve) => setTimeout(resolve, second.retryAfterMs + 50))
          expect(await spend(key, refilling)).toMatchObject({ allowed: true, credits: 2 })
        }
        // A refill smaller than the cost will never cover it: no wait is promised.
        expect(await spend(key, refilling, 4)).toMatchObject({ allowed: false, creditsExhausted: true, retryAfterMs: 0 })
      })

      it('rejects a bad cost or malformed credits, never spending', async ({ skip }) => {
        if (limiter.credits !== true) return skip()
        const key = fresh('c')
        for (const cost of [-1, 1.5, Number.NaN, 2 ** 60]) await expect(spend(key, credits(5), cost)).rejects.toBeInstanceOf(TypeError)
        for (const bad of [
          { remaining: -1, refill: null, epoch: 1 },
          { remaining: 5, epoch: 1 },
          { remaining: 5, refill: { amount: 1, intervalMs: 10 }, epoch: 1 },
        ])
          await expect(spend(key, bad as never)).rejects.toBeInstanceOf(TypeError)
        await expect(adjust(key, credits(5), -3)).rejects.toBeInstanceOf(TypeError)
        expect(await adjust(key, credits(5), 0)).toBe(5)
      })
    })

    describe('bad arguments', () => {
      // keyward awaits the limiter inside its pipeline: a synchronous throw would escape the
      // promise chain the 503 answer is built on.
      it('(no rules, no lockout policy) reject, never throw synchronously', async () => {
        let thrown: unknown
        let pending: Array<Promise<unknown>> = []
        try {
          pending = [
            limiter.limit({ key: fresh('k'), rules: undefined as never, blockKey: fresh('a'), now: Date.now() }),
            limiter.recordFailure(fresh('a'), undefined as never, Date.now()),
          ]
        } catch (error) {
          thrown = error
        }
        expect(thrown).toBeUndefined()
        for (const p of pending) await expect(p).rejects.toBeInstanceOf(Error)
      })
    })
  })
}
