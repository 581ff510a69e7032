import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import Redis from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createKeyward, MemoryTokenStore, type VerifyResult } from '../../src/index.js'
import { generateKey } from '../../src/keys/format.js'
import { withFailurePolicy } from '../../src/limiters/failure-policy.js'
import { gcra, type GcraState } from '../../src/limiters/gcra.js'
import { MemoryRateLimiter } from '../../src/limiters/memory-rate-limiter.js'
import type { LimitResult } from '../../src/limiters/rate-limiter.js'
import { RedisRateLimiter, type RedisScriptClient } from '../../src/limiters/redis-rate-limiter.js'
import type { RateLimitAlgorithm, RateLimitRule } from '../../src/types.js'
import { CI, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'
import { describeRateLimiterConformance } from '../../testing/index.js'
import { CPU_BOUND } from '../support/budget.js'
import { openRedisClient, type OpenedRedisClient } from '../support/redis-clients.js'
import { deleteKeys } from '../stores/redis-harness.js'
import { freePort } from '../../scripts/free-port.js'

const HOST = REDIS.host
const PORT = REDIS.port

const up = await redisAnswers()
if (!up) warnSkipped(`Redis on ${HOST}:${PORT}`, 'the RedisRateLimiter integration tests')

describe('Redis for the integration tests', () => {
  it.runIf(CI)(`answers on ${HOST}:${PORT} (required in CI)`, () => {
    expect(up, `Redis must answer on ${HOST}:${PORT} in CI`).toBe(true)
  })
})

/** A limiter on its own connection and prefix; peers on connections of their own, same prefix. */
async function redisLimiterHarness() {
  const prefix = `kwtest:conformance:${randomUUID()}:`
  const clients: Redis[] = []
  const open = () => {
    const client = new Redis({ host: HOST, port: PORT, maxRetriesPerRequest: 1 })
    clients.push(client)
    // Generous: a loaded CI machine must not turn a slow answer into a failed test.
    return new RedisRateLimiter({ client, prefix, timeoutMs: 10_000 })
  }
  return {
    limiter: open(),
    peer: async () => open(),
    async close() {
      const admin = clients[0]!
      let cursor = '0'
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await admin.del(...keys)
      } while (cursor !== '0')
      await Promise.all(clients.map((c) => c.quit()))
    },
  }
}

if (up || CI) describeRateLimiterConformance('RedisRateLimiter on Redis', redisLimiterHarness)

/** The same suite through node-redis (`createClient`): scripts as `evalSha(sha, { keys, arguments })`. */
async function nodeRedisLimiterHarness() {
  const prefix = `kwtest:conformance:node-redis:${randomUUID()}:`
  const clients: OpenedRedisClient[] = []
  const open = async () => {
    const client = await openRedisClient('node-redis', [{ host: HOST, port: PORT }])
    clients.push(client)
    return new RedisRateLimiter({ client: client.client, prefix, timeoutMs: 10_000 })
  }
  return {
    limiter: await open(),
    peer: open,
    async close() {
      for (const client of clients) await client.quit()
      await deleteKeys([{ host: HOST, port: PORT }], false, `${prefix}*`)
    },
  }
}

if (up || CI) describeRateLimiterConformance('RedisRateLimiter on node-redis (createClient)', nodeRedisLimiterHarness)

describe.skipIf(!up && !CI)('RedisRateLimiter against a real Redis', () => {
  const prefix = `kwtest:${randomUUID()}:`
  const connections: Redis[] = []
  let redis: Redis
  let other: Redis
  let admin: Redis
  let limiter: RedisRateLimiter
  let n = 0
  /** A fresh key id per scenario; the limiter hashes it anyway. */
  const freshKey = () => `Key${++n}x${randomUUID().slice(0, 8)}`

  // Generous: a loaded CI machine must not turn a slow answer into a failed test. The default
  // (250 ms) is tested with fake timers below.
  const timeoutMs = 10_000
  const connect = () => {
    const client = new Redis({ host: HOST, port: PORT, maxRetriesPerRequest: 1 })
    connections.push(client)
    return client
  }

  beforeAll(() => {
    redis = connect()
    other = connect()
    admin = connect()
    limiter = new RedisRateLimiter({ client: redis, prefix, timeoutMs })
  })

  afterAll(async () => {
    if (admin !== undefined) {
      const keys = await ourKeys()
      if (keys.length > 0) await admin.del(...keys)
    }
    await Promise.all(connections.map((c) => c.quit()))
  })

  async function ourKeys(): Promise<string[]> {
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      found.push(...keys)
    } while (cursor !== '0')
    return found
  }

  const ms = ([s, us]: ReadonlyArray<string | number>) => Number(s) * 1000 + Math.floor(Number(us) / 1000)

  /**
   * Runs `calls` through a limiter whose scripts go out in one pipeline, between two TIME
   * commands: Redis answers in order, so when both read the same millisecond, every call in
   * between decided at that millisecond. Undefined when they did not (or a script had to be
   * re-sent with EVAL, outside the pipeline).
   */
  async function atOneInstant<T>(calls: (limiter: RedisRateLimiter) => Promise<T>[]): Promise<{ now: number; results: T[] } | undefined> {
    const pipeline = redis.pipeline()
    let resent = false
    const client: RedisScriptClient = {
      evalsha: (...args) =>
        new Promise((resolve, reject) => {
          ;(pipeline.evalsha as (...a: unknown[]) => unknown)(...args, (error: Error | null, reply: unknown) =>
            error ? reject(error) : resolve(reply),
          )
        }),
      eval: (...args) => ((resent = true), redis.eval(...args)),
    }
    const pipelined = new RedisRateLimiter({ client, prefix, timeoutMs })
    pipeline.time()
    const pending = calls(pipelined)
    pipeline.time()
    const replies = (await pipeline.exec())!
    const results = await Promise.all(pending)
    const [before, after] = [replies[0]![1], replies.at(-1)![1]] as [string[], string[]]
    return !resent && ms(before) === ms(after) ? { now: ms(before), results } : undefined
  }

  /** Retries a whole scenario, on fresh keys, until every batch of it fell within one Redis millisecond. */
  async function retried<T>(scenario: (key: string) => Promise<T | undefined>): Promise<T> {
    for (let attempt = 0; attempt < 500; attempt++) {
      const outcome = await scenario(freshKey())
      if (outcome !== undefined) return outcome
    }
    throw new Error('no attempt fell within one Redis millisecond per batch')
  }

  const limitNow = (key: string, rules: readonly RateLimitRule[], blockKey?: string) => limiter.limit({ key, rules, blockKey, now: 0 })

  describe('decides exactly as gcra() at Redis’s clock', () => {
    it('a fresh key bursts exactly the limit, counting remaining down, then is refused with the exact retry', async () => {
      const rule = { limit: 10, windowMs: 1000 }
      const { now, results } = await retried(async (key) =>
        atOneInstant((l) => Array.from({ length: 12 }, () => l.limit({ key, rules: [rule], now: 0 }))),
      )
      let state: GcraState | undefined
      results.forEach((result, i) => {
        const d = gcra(rule, state, now)
        if (d.allowed) state = d.next
        expect(result, `call ${i}`).toEqual({
          allowed: d.allowed,
          blocked: false,
          retryAfterMs: d.retryAfterMs,
          rules: [{ rule, remaining: d.remaining, resetMs: d.resetMs }],
        })
      })
      expect(results.map((r) => r.allowed)).toEqual([...new Array<boolean>(10).fill(true), false, false])
      expect(results.map((r) => r.rules[0]!.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0])
      expect(results[11]).toEqual({ allowed: false, blocked: false, retryAfterMs: 100, rules: [{ rule, remaining: 0, resetMs: 1000 }] })
    })

    it(
      'TokenKit: 5000 per hour lets exactly the GCRA bound through 6,000 concurrent calls, and refuses with a wait of at most 720 ms',
      CPU_BOUND,
      async () => {
        const rule = { limit: 5000, windowMs: 3_600_000 }
        const key = freshKey()
        const before = ms(await admin.time())
        const results = await Promise.all(Array.from({ length: 6000 }, () => limitNow(key, [rule])))
        const after = ms(await admin.time())
        // However long the calls took, d ms let through the burst plus the refill of d: never more.
        const allowed = results.filter((r) => r.allowed).length
        expect(allowed).toBeGreaterThanOrEqual(5000)
        expect(allowed).toBeLessThanOrEqual(5000 + Math.floor(((after - before + 1) * rule.limit) / rule.windowMs))
        const denied = results.filter((r) => !r.allowed)
        expect(denied.length).toBe(6000 - allowed)
        for (const r of denied) {
          expect(r.retryAfterMs).toBeGreaterThan(0)
          expect(r.retryAfterMs).toBeLessThanOrEqual(720)
          expect(r.rules).toEqual([{ rule, remaining: 0, resetMs: r.rules[0]!.resetMs }])
          expect(r.rules[0]!.resetMs).toBeLessThanOrEqual(3_600_000)
        }
      },
    )

    it('several rules are one atomic decision: a call one rule refuses counts on none', async () => {
      // Windows long enough that the milliseconds this test takes refill nothing.
      const perHour = { limit: 10, windowMs: 3_600_000 }
      const perDay = { limit: 3, windowMs: 86_400_000 }
      const key = freshKey()
      const first = []
      for (let i = 0; i < 4; i++) first.push(await limitNow(key, [perHour, perDay]))
      expect(first.map((r) => r.allowed)).toEqual([true, true, true, false])
      expect(first[2]!.rules.map((s) => s.remaining)).toEqual([7, 0])
      expect(first[3]!.rules.map((s) => [s.rule, s.remaining])).toEqual([
        [perHour, 7],
        [perDay, 0],
      ])
      // Refused by the day rule: a token back in a third of a day, less what elapsed.
      expect(first[3]!.retryAfterMs).toBeGreaterThan(28_800_000 - 60_000)
      expect(first[3]!.retryAfterMs).toBeLessThanOrEqual(28_800_000)
      for (let i = 0; i < 5; i++) expect((await limitNow(key, [perHour, perDay])).allowed).toBe(false)
      // Five refused calls later the hour rule still has its 7: none of them counted.
      const hourOnly = []
      for (let i = 0; i < 8; i++) hourOnly.push((await limitNow(key, [perHour])).allowed)
      expect(hourOnly).toEqual([true, true, true, true, true, true, true, false])
    })

    it('one rule too large for an exact integer reply (limit × (windowMs + 1) > 2^53) is answered exactly too', async () => {
      // The short path packs an allowed call's reply as remaining * (windowMs + 1) + resetMs: past 2^53
      // that integer would round, so the script answers with the array instead.
      // One call back every 10 s: nothing refills while the test runs.
      const huge = { limit: 1_000_000, windowMs: 10_000_000_000 }
      const fixed = { ...huge, algorithm: 'fixed-window' as const }
      const key = freshKey()
      const first = await limitNow(key, [huge])
      const second = await limitNow(key, [huge])
      expect(first.rules).toEqual([{ rule: huge, remaining: 999_999, resetMs: 10_000 }])
      // Two calls booked, less the milliseconds between them.
      expect(second.rules).toEqual([{ rule: huge, remaining: 999_998, resetMs: second.rules[0]!.resetMs }])
      expect(second.rules[0]!.resetMs).toBeGreaterThan(19_000)
      expect(second.rules[0]!.resetMs).toBeLessThanOrEqual(20_000)
      const windowed = await limitNow(key, [fixed])
      expect(windowed.rules[0]!.remaining).toBe(999_999)
      expect(windowed.rules[0]!.resetMs).toBeGreaterThan(0)
      expect(windowed.rules[0]!.resetMs).toBeLessThanOrEqual(huge.windowMs)
    })

    it('counts keys apart, and rules of different size apart', async () => {
      const rule = { limit: 2, windowMs: 3_600_000 }
      const key = freshKey()
      await limitNow(key, [rule])
      await limitNow(key, [rule])
      expect((await limitNow(key, [rule])).allowed).toBe(false)
      expect((await limitNow(freshKey(), [rule])).allowed).toBe(true)
      expect((await limitNow(key, [{ limit: 2, windowMs: 3_600_001 }])).allowed).toBe(true)
      expect((await limitNow(key, [{ limit: 3, windowMs: 3_600_000 }])).allowed).toBe(true)
    })

    it(
      'matches MemoryRateLimiter (the reference) call for call, at each batch’s Redis instant, for every algorithm (property)',
      CPU_BOUND,
      async () => {
        const baseRuleArb = fc.oneof(
          fc.record({ limit: fc.integer({ min: 1, max: 8 }), windowMs: fc.integer({ min: 1000, max: 20_000 }) }),
          // Fast rules, so the milliseconds between batches refill: 1 to 4 calls per ms.
          fc.record({ limit: fc.integer({ min: 2, max: 20 }), windowMs: fc.integer({ min: 5, max: 20 }) }),
          fc.record({ limit: fc.integer({ min: 1, max: 200_000 }), windowMs: fc.constantFrom(1000, 60_000, 3_600_000, 86_400_000) }),
        )
        // Every algorithm, GCRA most often (a sliding window keeps at most 1000 calls).
        const algorithmArb = fc.constantFrom<RateLimitAlgorithm | undefined>(undefined, undefined, 'gcra', 'fixed-window', 'sliding-window')
        const ruleArb = fc
          .tuple(baseRuleArb, algorithmArb)
          .map(([rule, algorithm]): RateLimitRule =>
            algorithm === undefined
              ? rule
              : { ...rule, algorithm, limit: algorithm === 'sliding-window' ? Math.min(rule.limit, 1000) : rule.limit },
          )
        await fc.assert(
          fc.asyncProperty(
            fc.array(ruleArb, { minLength: 1, maxLength: 3 }),
            fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }),
            async (rules, batches) => {
              const transcript = await retried(async (key) => {
                const seen: Array<{ now: number; results: LimitResult[] }> = []
                for (const size of batches) {
                  const batch = await atOneInstant((l) => Array.from({ length: size }, () => l.limit({ key, rules, now: 0 })))
                  if (batch === undefined) return undefined
                  seen.push(batch)
                }
                return seen
              })
              const reference = new MemoryRateLimiter({ maxKeys: 16, maxAddresses: 16 })
              for (const { now, results } of transcript) {
                for (const result of results) expect(result).toEqual(reference.limitSync({ key: 'k', rules, now }))
              }
            },
          ),
          { numRuns: 150 },
        )
      },
    )
  })

  describe('concurrency', () => {
    it('1,000 concurrent limit() calls on a rule of 100, from two connections and four instances, allow exactly 100', async () => {
      const rule = { limit: 100, windowMs: 86_400_000 }
      const key = freshKey()
      const limiters = [redis, other].flatMap((client) => [
        new RedisRateLimiter({ client, prefix, timeoutMs }),
        new RedisRateLimiter({ client, prefix, timeoutMs }),
      ])
      const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => limiters[i % 4]!.limit({ key, rules: [rule], now: 0 })))
      expect(results.filter((r) => r.allowed)).toHaveLength(100)
      expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs > 0 && r.rules[0]!.remaining === 0)).toBe(true)
      expect(
        results
          .filter((r) => r.allowed)
          .map((r) => r.rules[0]!.remaining)
          .sort((a, b) => a - b),
      ).toEqual(Array.from({ length: 100 }, (_, i) => i))
    })
  })

  describe('lockout', () => {
    const policy = { maxFailures: 3, windowMs: 300_000 }

    it('a block set through one instance holds on another (two connections), for the rest of the window', async () => {
      const a = new RedisRateLimiter({ client: redis, prefix, timeoutMs })
      const b = new RedisRateLimiter({ client: other, prefix, timeoutMs })
      const address = `198.51.100.${n++ % 250}-${randomUUID()}`
      expect(await a.recordFailure(address, policy, 0)).toEqual({ blocked: false, retryAfterMs: 0, failures: 1 })
      expect(await b.recordFailure(address, policy, 0)).toEqual({ blocked: false, retryAfterMs: 0, failures: 2 })
      const third = await a.recordFailure(address, policy, 0)
      expect(third.blocked).toBe(true)
      expect(third.retryAfterMs).toBeGreaterThan(policy.windowMs - 60_000)
      expect(third.retryAfterMs).toBeLessThanOrEqual(policy.windowMs)
      const key = freshKey()
      for (const instance of [a, b]) {
        const r = await instance.limit({ key, rules: [{ limit: 5, windowMs: 60_000 }], blockKey: address, now: 0 })
        expect(r).toMatchObject({ allowed: false, blocked: true, rules: [] })
        expect(r.retryAfterMs).toBeLessThanOrEqual(third.retryAfterMs)
      }
      expect((await b.limit({ key, rules: [], blockKey: address, now: 0 })).blocked).toBe(true)
      // Other addresses, and calls without an address, are not blocked.
      expect(await b.limit({ key, rules: [{ limit: 5, windowMs: 60_000 }], blockKey: `${address}-other`, now: 0 })).toMatchObject({
        allowed: true,
        blocked: false,
      })
      expect(await a.limit({ key, rules: [{ limit: 5, windowMs: 60_000 }], now: 0 })).toMatchObject({ allowed: true, blocked: false })
      // Still counted after the block: further failures keep it blocked, never reset it.
      expect((await b.recordFailure(address, policy, 0)).blocked).toBe(true)
    })

    it('counts failures like MemoryRateLimiter at one Redis instant', async () => {
      const results = await retried(async (address) =>
        atOneInstant((l) => Array.from({ length: 5 }, () => l.recordFailure(address, policy, 0))),
      )
      const reference = new MemoryRateLimiter()
      for (const result of results.results) expect(result).toEqual(await reference.recordFailure('a', policy, results.now))
      expect(results.results.map((r) => r.blocked)).toEqual([false, false, true, true, true])
      expect(results.results[2]).toEqual({ blocked: true, retryAfterMs: policy.windowMs, failures: 3 })
      expect(results.results.map((r) => r.failures)).toEqual([1, 2, 3, 4, 5])
    })

    it('a block lasts its own window: the key is not left to expire with a shorter first window', async () => {
      // A prefix of its own (outside the suite's, whose keys other tests count), so that its one
      // lockout key is found by SCAN.
      const own = `kwtest:ttl:${randomUUID()}:`
      const scoped = new RedisRateLimiter({ client: redis, prefix: own, timeoutMs })
      expect((await scoped.recordFailure('198.51.100.9', { maxFailures: 5, windowMs: 1500 }, 0)).blocked).toBe(false)
      const block = await scoped.recordFailure('198.51.100.9', { maxFailures: 2, windowMs: 60_000 }, 0)
      expect(block.blocked).toBe(true)
      const [, keys] = await admin.scan('0', 'MATCH', `${own}lo:*`, 'COUNT', 1000)
      expect(keys).toHaveLength(1)
      // The block ends a minute after the first failure; the state must live as long.
      expect(await admin.pttl(keys[0]!)).toBeGreaterThan(50_000)
      expect(await admin.pttl(keys[0]!)).toBeLessThanOrEqual(60_000)
      await admin.del(keys[0]!)
    })

    it("the failure script's 32-bit fallback format writes the very text '%d' writes on 64-bit Redis", async () => {
      // Redis's Lua casts '%d' to a C long; where that is 32 bits the script writes '%.0f' instead.
      // Both must give the stored format every keyward reads: start:count:blockedUntil.
      const script =
        "return { string.format('%d:%d:%d', ARGV[1] + 0, 3, ARGV[1] + 0), string.format('%.0f:%d:%.0f', ARGV[1] + 0, 3, ARGV[1] + 0) }"
      for (const value of ['0', '1', String(2 ** 31), String(2 ** 32), '1764480000123', String(2 ** 53 - 1)]) {
        const [wide, fallback] = (await admin.eval(script, 0, value)) as [string, string]
        expect(fallback, value).toBe(wide)
        expect(fallback).toBe(`${value}:3:${value}`)
      }
    })

    it('honours maxFailures 1', async () => {
      const r = await limiter.recordFailure(freshKey(), { maxFailures: 1, windowMs: 1000 }, 0)
      expect(r.blocked).toBe(true)
      expect(r.retryAfterMs).toBeLessThanOrEqual(1000)
    })

    it('a call the lockout refuses counts on no quota (one script)', async () => {
      const address = freshKey()
      await limiter.recordFailure(address, { maxFailures: 1, windowMs: 300_000 }, 0)
      const rule = { limit: 2, windowMs: 3_600_000 }
      const key = freshKey()
      for (let i = 0; i < 5; i++) expect((await limitNow(key, [rule], address)).blocked).toBe(true)
      const after = []
      for (let i = 0; i < 3; i++) after.push((await limitNow(key, [rule])).allowed)
      expect(after).toEqual([true, true, false])
    })

    it('cluster: true checks the block in a script of its own first, refuses a blocked address and counts nothing then', async () => {
      const clustered = new RedisRateLimiter({ client: redis, prefix, timeoutMs, cluster: true })
      const address = freshKey()
      const rule = { limit: 2, windowMs: 3_600_000 }
      const key = freshKey()
      expect(await clustered.limit({ key, rules: [rule], blockKey: address, now: 0 })).toMatchObject({
        allowed: true,
        blocked: false,
        rules: [{ rule, remaining: 1 }],
      })
      await clustered.recordFailure(address, { maxFailures: 1, windowMs: 300_000 }, 0)
      expect(await clustered.limit({ key, rules: [rule], blockKey: address, now: 0 })).toMatchObject({
        allowed: false,
        blocked: true,
        rules: [],
      })
      // The refused call counted on no quota: one call of the two is left.
      expect(await clustered.limit({ key, rules: [rule], now: 0 })).toMatchObject({ allowed: true, rules: [{ rule, remaining: 0 }] })
    })
  })

  describe('Redis usage', () => {
    async function commandCalls(): Promise<Record<string, number>> {
      const info = await admin.info('commandstats')
      const calls: Record<string, number> = {}
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2])
      return calls
    }

    it('one round trip per check: exactly one EVALSHA per limit() and recordFailure(), from INFO commandstats', async () => {
      const checks = 20
      const key = freshKey()
      const address = freshKey()
      const rules = [
        { limit: 1000, windowMs: 3_600_000 },
        { limit: 100, windowMs: 60_000 },
      ]
      await limiter.limit({ key, rules, blockKey: address, now: 0 }) // the script is loaded (after any SCRIPT FLUSH)
      // Another client of this Redis (a parallel test file) could run scripts too: retry until a quiet window.
      let observed: { evalsha: number; eval: number } | undefined
      for (let attempt = 0; attempt < 20 && observed?.evalsha !== 3 * checks; attempt++) {
        const before = await commandCalls()
        for (let i = 0; i < checks; i++) {
          await limiter.limit({ key, rules, blockKey: address, now: 0 })
          await limiter.limit({ key, rules: [rules[0]!], now: 0 })
          await limiter.recordFailure(address, { maxFailures: 1_000_000, windowMs: 60_000 }, 0)
        }
        const after = await commandCalls()
        observed = { evalsha: (after.evalsha ?? 0) - (before.evalsha ?? 0), eval: (after.eval ?? 0) - (before.eval ?? 0) }
      }
      expect(observed).toEqual({ evalsha: 3 * checks, eval: 0 })
    })

    it('the common path reads no clock: one GCRA or fixed-window rule, with an address or not, sends no TIME (commandstats)', async () => {
      const checks = 20
      const gcraRule = { limit: 1_000_000, windowMs: 3_600_000 }
      const fixedRule = { ...gcraRule, algorithm: 'fixed-window' as const }
      const gcraKey = freshKey()
      const fixedKey = freshKey()
      // A failure on record: the address's lockout key exists (not blocked).
      const address = freshKey()
      await limiter.recordFailure(address, { maxFailures: 1_000_000, windowMs: 3_600_000 }, 0)
      // A fixed window's first call reads TIME, to align the window: made here.
      await limiter.limit({ key: fixedKey, rules: [fixedRule], now: 0 })
      await limiter.limit({ key: gcraKey, rules: [gcraRule], now: 0 })
      // Another client of this Redis could send TIME too (or a window could end): retry until a quiet window.
      let observed: { evalsha: number; time: number } | undefined
      for (let attempt = 0; attempt < 20 && !(observed?.time === 0 && observed.evalsha === 5 * checks); attempt++) {
        const before = await commandCalls()
        for (let i = 0; i < checks; i++) {
          // A new key each time: nothing stored yet.
          await limiter.limit({ key: freshKey(), rules: [gcraRule], now: 0 })
          await limiter.limit({ key: gcraKey, rules: [gcraRule], now: 0 })
          await limiter.limit({ key: gcraKey, rules: [gcraRule], blockKey: address, now: 0 })
          await limiter.limit({ key: fixedKey, rules: [fixedRule], now: 0 })
          await limiter.limit({ key: fixedKey, rules: [fixedRule], blockKey: address, now: 0 })
        }
        const after = await commandCalls()
        observed = { evalsha: (after.evalsha ?? 0) - (before.evalsha ?? 0), time: (after.time ?? 0) - (before.time ?? 0) }
      }
      expect(observed).toEqual({ evalsha: 5 * checks, time: 0 })
    })

    it('falls back to EVAL after SCRIPT FLUSH, and is back to EVALSHA after that', async () => {
      // The real connection, recording what this limiter sends through it.
      const sent: string[] = []
      const recording: RedisScriptClient = {
        evalsha: (...args) => (sent.push('evalsha'), redis.evalsha(...args)),
        eval: (...args) => (sent.push('eval'), redis.eval(...args)),
      }
      const flushed = new RedisRateLimiter({ client: recording, prefix, timeoutMs })
      const rule = { limit: 3, windowMs: 3_600_000 }
      const key = freshKey()
      expect((await flushed.limit({ key, rules: [rule], now: 0 })).allowed).toBe(true)
      await admin.script('FLUSH')
      sent.length = 0
      const before = await commandCalls()
      expect(await flushed.limit({ key, rules: [rule], now: 0 })).toMatchObject({ allowed: true, rules: [{ remaining: 1 }] })
      const after = await commandCalls()
      expect(sent).toEqual(['evalsha', 'eval'])
      expect((after.eval ?? 0) - (before.eval ?? 0)).toBeGreaterThanOrEqual(1)
      // EVAL cached the script: the next call finds it by its SHA again.
      expect(await flushed.limit({ key, rules: [rule], now: 0 })).toMatchObject({ allowed: true, rules: [{ remaining: 0 }] })
      expect(await flushed.limit({ key, rules: [rule], now: 0 })).toMatchObject({ allowed: false })
      expect(sent).toEqual(['evalsha', 'eval', 'evalsha', 'evalsha'])
      // The lockout script too.
      await admin.script('FLUSH')
      sent.length = 0
      expect((await flushed.recordFailure(freshKey(), { maxFailures: 1, windowMs: 1000 }, 0)).blocked).toBe(true)
      expect(sent).toEqual(['evalsha', 'eval'])
    })

    it('every key has an expiry no longer than its window, and no key or value holds the raw key id or address', async () => {
      const keyId = 'RAWKEYID'
      const address = '203.0.113.77'
      const rules = [
        { limit: 5, windowMs: 1000 },
        { limit: 50, windowMs: 60_000 },
        { limit: 500, windowMs: 86_400_000 },
      ]
      const scoped = new RedisRateLimiter({ client: redis, prefix: `${prefix}ttl:`, timeoutMs })
      await scoped.limit({ key: keyId, rules, blockKey: address, now: 0 })
      await scoped.limit({ key: keyId, rules, now: 0 })
      await scoped.recordFailure(address, { maxFailures: 3, windowMs: 300_000 }, 0)
      const keys = (await ourKeys()).filter((k) => k.startsWith(`${prefix}ttl:`))
      expect(keys).toHaveLength(4)
      for (const k of keys) {
        const ttl = await admin.pttl(k)
        expect(ttl, k).toBeGreaterThan(0)
        expect(ttl, k).toBeLessThanOrEqual(k.includes(':lo:') ? 300_000 : Number(k.split(':').at(-1)))
        expect(k).not.toContain(keyId)
        expect(k).not.toContain(address)
        const value = (await admin.get(k))!
        expect(value).not.toContain(keyId)
        expect(value).not.toContain(address)
      }
      // One key's rules share a hash tag, so a cluster keeps them in one slot.
      const tags = new Set(keys.filter((k) => k.includes(':rl:')).map((k) => /\{([0-9a-f]{32})\}/.exec(k)![1]))
      expect(tags.size).toBe(1)
    })

    describe('the stored state', () => {
      const rule = { limit: 3, windowMs: 3_600_000 }
      const W = rule.windowMs
      const ruleKey = (key: string, of: { limit: number; windowMs: number } = rule) =>
        `${prefix}rl:{${createHash('sha256').update(key).digest('hex').slice(0, 32)}}:${of.limit}:${of.windowMs}`
      /** Doubles packed as the script's struct does (native order: little-endian on every Redis host keyward targets). */
      const packed = (...numbers: number[]) => {
        const buffer = Buffer.alloc(8 * numbers.length)
        numbers.forEach((x, i) => buffer.writeDoubleLE(x, 8 * i))
        return buffer
      }
      /** An earlier keyward's GCRA state, struct 'ddd' (at, booked, expiresAt). */
      const pack = (at: number, booked: number, expiresAt: number) => packed(at, booked, expiresAt)
      const doubles = async (k: string, count: number) => {
        const buffer = (await admin.getBuffer(k))!
        expect(buffer).toHaveLength(8 * count)
        return Array.from({ length: count }, (_, i) => buffer.readDoubleLE(8 * i))
      }
      /** The key's expiry, epoch ms (Redis 7+). */
      const expiry = async (k: string) => Number(await admin.call('PEXPIRETIME', k))
      const answer = (d: { allowed: boolean; remaining: number; resetMs: number; retryAfterMs: number }) => ({
        allowed: d.allowed,
        blocked: false,
        retryAfterMs: d.retryAfterMs,
        rules: [{ rule, remaining: d.remaining, resetMs: d.resetMs }],
      })
      /** A second rule that sends the call down the script's general path. */
      const general = { limit: 5, windowMs: 1000 }
      const paths = [
        ['short path', [rule]],
        ['general path', [rule, general]],
      ] as const

      it('GCRA: booked and ref (the PTTL it was written at) packed; a new key costs no clock, its expiry one window', async () => {
        const key = freshKey()
        const k = ruleKey(key)
        const before = ms(await admin.time())
        const first = await limitNow(key, [rule])
        const after = ms(await admin.time())
        expect(await doubles(k, 2)).toEqual([W, W])
        // The call's instant is the expiry less ref: within the call.
        const at = (await expiry(k)) - W
        expect(at).toBeGreaterThanOrEqual(before)
        expect(at).toBeLessThanOrEqual(after)
        expect(first).toEqual(answer(gcra(rule, undefined, at)))
      })

      for (const [path, rules] of paths) {
        it(`GCRA (${path}): an expiry that outlives the bucket is kept, ref the PTTL read, exact as gcra() at that instant`, async () => {
          const key = freshKey()
          const k = ruleKey(key)
          // One call booked, written a second ago: at = expiry - W.
          await admin.set(k, packed(W, W), 'PX', W - 1000)
          const e = await expiry(k)
          const result = await limitNow(key, rules)
          const [booked, ref] = await doubles(k, 2)
          expect(await expiry(k)).toBe(e)
          const d = gcra(rule, { at: e - W, booked: W }, e - ref!)
          expect(booked).toBe(d.next.booked)
          expect(result.rules[0]).toEqual(answer(d).rules[0])
          expect(d.allowed && result.allowed).toBe(true)
        })

        it(`GCRA (${path}): an empty bucket whose key is about to expire is written afresh, one window (PX), no clock`, async () => {
          const key = freshKey()
          const k = ruleKey(key)
          // Booked a whole window ago (ref W, 5 ms left): empty, but the key outlives no new call.
          await admin.set(k, packed(W, W), 'PX', 5000)
          const result = await limitNow(key, rules)
          expect(await doubles(k, 2)).toEqual([W, W])
          expect(await admin.pttl(k)).toBeGreaterThan(W - 60_000)
          expect(result.rules[0]).toEqual({ rule, remaining: 2, resetMs: W / 3 })
        })

        it(`GCRA (${path}): a bucket not empty whose expiry must move is decided at one TIME ms, the expiry set absolutely`, async () => {
          // Many times: on Redis 7.0 and earlier a millisecond may end within the script (each
          // command reads the clock afresh), and the expiry must still be that of the decision's.
          for (let i = 0; i < 500; i++) {
            const key = freshKey()
            const k = ruleKey(key)
            // Two calls booked 100 ms before a key that has 2 s left: a third fits, but its bucket
            // would outlive the key.
            await admin.set(k, packed(2 * W, 2100), 'PX', 2000)
            const previous = (await expiry(k)) - 2100
            const before = ms(await admin.time())
            const result = await limitNow(key, rules)
            const after = ms(await admin.time())
            const [booked, ref] = await doubles(k, 2)
            expect(ref).toBe(W)
            const at = (await expiry(k)) - W
            expect(at).toBeGreaterThanOrEqual(before)
            expect(at).toBeLessThanOrEqual(after)
            const d = gcra(rule, { at: previous, booked: 2 * W }, at)
            expect(booked).toBe(d.next.booked)
            expect(result.rules[0]).toEqual(answer(d).rules[0])
            expect(result.allowed).toBe(true)
          }
        })

        it(`GCRA (${path}): reads an earlier keyward's packed state (at, booked, expiresAt) at Redis's clock and replaces it`, async () => {
          const key = freshKey()
          const k = ruleKey(key)
          const then = ms(await admin.time()) - 1000
          await admin.set(k, pack(then, 2 * W, then + W), 'PX', W - 1000)
          const result = await limitNow(key, rules)
          const [booked, ref] = await doubles(k, 2)
          expect(ref).toBe(W)
          const d = gcra(rule, { at: then, booked: 2 * W }, (await expiry(k)) - W)
          expect(booked).toBe(d.next.booked)
          expect(result.rules[0]).toEqual(answer(d).rules[0])
          expect(await limitNow(key, rules)).toMatchObject({ allowed: false })
        })
      }

      it('reads a state an earlier keyward wrote as text (at:booked), then replaces it with the packed form', async () => {
        const key = freshKey()
        const k = ruleKey(key)
        const then = ms(await admin.time()) - 1000
        // Two calls of three booked, a second ago.
        await admin.set(k, `${then}:${2 * W}`, 'PX', W)
        const result = await limitNow(key, [rule])
        const [booked, ref] = await doubles(k, 2)
        expect(ref).toBe(W)
        const d = gcra(rule, { at: then, booked: 2 * W }, (await expiry(k)) - W)
        expect(booked).toBe(d.next.booked)
        expect(result).toEqual(answer(d))
        expect(await limitNow(key, [rule])).toMatchObject({ allowed: false })
      })

      it('reads an earlier text state of exactly 24 characters as text, not as a packed state (a full day bucket stays full)', async () => {
        const day = { limit: 20, windowMs: 86_400_000 }
        const key = freshKey()
        const k = ruleKey(key, day)
        const now = ms(await admin.time())
        // A full bucket as the old script wrote it: 13 digits, ':', 10 digits booked.
        const text = `${now}:${day.limit * day.windowMs}`
        expect(text).toHaveLength(24)
        await admin.set(k, text, 'PX', day.windowMs)
        expect(await limitNow(key, [day])).toMatchObject({ allowed: false })
        expect(await admin.get(k)).toBe(text)
      })

      it('reads an earlier text state of exactly 16 characters as text, not as the packed (booked, ref)', async () => {
        const small = { limit: 2, windowMs: 40 }
        const key = freshKey()
        const k = ruleKey(key, small)
        // A full bucket, written a minute ahead (before Redis's clock stepped back): nothing drains.
        const text = `${ms(await admin.time()) + 60_000}:${small.limit * small.windowMs}`
        expect(text).toHaveLength(16)
        await admin.set(k, text, 'PX', 60_000)
        expect(await limitNow(key, [small])).toMatchObject({ allowed: false })
        expect(await admin.get(k)).toBe(text)
      })

      const fixedRule = { limit: 5, windowMs: 3_600_000, algorithm: 'fixed-window' as const }
      const fixedPaths = [
        ['short path', [fixedRule]],
        ['general path', [fixedRule, general]],
      ] as const
      for (const [path, rules] of fixedPaths) {
        it(`fixed window (${path}): the count alone, packed, its key expiring exactly at the window's end, then kept`, async () => {
          const key = freshKey()
          const k = `${ruleKey(key, fixedRule)}:fw`
          const before = ms(await admin.time())
          const first = await limitNow(key, rules)
          expect(await doubles(k, 1)).toEqual([1])
          const end = await expiry(k)
          expect(end % fixedRule.windowMs).toBe(0)
          expect(end - fixedRule.windowMs).toBeLessThanOrEqual(before)
          expect(end).toBeGreaterThan(before)
          expect(first.rules[0]).toMatchObject({ remaining: 4 })
          expect(first.rules[0]!.resetMs).toBeLessThanOrEqual(end - before)
          const second = await limitNow(key, rules)
          expect(second.rules[0]).toMatchObject({ remaining: 3 })
          // The time left in the window is the key's PTTL.
          expect(second.rules[0]!.resetMs).toBeLessThanOrEqual(first.rules[0]!.resetMs)
          expect(await doubles(k, 1)).toEqual([2])
          expect(await expiry(k)).toBe(end)
        })

        it(`fixed window (${path}): a full window refuses until its end, the PTTL`, async () => {
          const key = freshKey()
          const k = `${ruleKey(key, fixedRule)}:fw`
          await admin.set(k, packed(5), 'PX', 90_000)
          const refused = await limitNow(key, rules)
          expect(refused.allowed).toBe(false)
          expect(refused.rules[0]).toMatchObject({ remaining: 0 })
          expect(refused.retryAfterMs).toBeGreaterThan(80_000)
          expect(refused.retryAfterMs).toBeLessThanOrEqual(90_000)
          expect(refused.rules[0]!.resetMs).toBe(refused.retryAfterMs)
          expect(await doubles(k, 1)).toEqual([5])
        })

        it(`fixed window (${path}): a key expiring in the very millisecond of the call (PTTL 0) is a new window`, async () => {
          // Redis counts a key expired only once its expiry is past, so in its last millisecond the
          // key is there with PTTL 0: the window is over. Pipelines of TIME, the call, TIME until
          // one falls in that millisecond.
          for (let attempt = 0; attempt < 50; attempt++) {
            const key = freshKey()
            const k = `${ruleKey(key, fixedRule)}:fw`
            const end = ms(await admin.time()) + 4
            await admin.set(k, packed(5), 'PXAT', end)
            for (;;) {
              const batch = await atOneInstant((l) => [l.limit({ key, rules, now: 0 })])
              // Not within one millisecond (the call may have counted, who knows when): a fresh key.
              if (batch === undefined || batch.now > end) break
              const [result] = batch.results
              if (batch.now < end) {
                expect(result!.allowed).toBe(false)
                continue
              }
              expect(result!.allowed).toBe(true)
              expect(result!.rules[0]).toMatchObject({ remaining: 4 })
              expect(await doubles(k, 1)).toEqual([1])
              expect((await expiry(k)) % fixedRule.windowMs).toBe(0)
              return
            }
          }
          throw new Error('no call fell in the key’s last millisecond')
        })

        it(`fixed window (${path}): reads an earlier keyward's (start, count) and replaces it, expiring at the window's end`, async () => {
          const key = freshKey()
          const k = `${ruleKey(key, fixedRule)}:fw`
          const start = Math.floor(ms(await admin.time()) / fixedRule.windowMs) * fixedRule.windowMs
          await admin.set(k, packed(start, 2), 'PX', 60_000)
          const result = await limitNow(key, rules)
          expect(result.rules[0]).toMatchObject({ remaining: 2 })
          expect(await doubles(k, 1)).toEqual([3])
          expect(await expiry(k)).toBe(start + fixedRule.windowMs)
        })
      }

      // Review r-j: on Redis 7.0 and earlier PTTL reads the live clock while a key counts as expired
      // only from the script's start, so a fixed window's key can read PTTL 0 after the script took
      // its TIME (read early for a sliding-window rule first): the call must be counted in the new
      // window at a fresh TIME, never in the old one with an expiry already past (which let the new
      // window allow its whole limit again).
      it('fixed window whose key reaches PTTL 0 after an earlier rule read the clock: counted in the new window (review r-j)', async () => {
        const entries = 300_000
        const sliding = { limit: entries + 10, windowMs: 1000, algorithm: 'sliding-window' as const }
        const fixed = { limit: 1, windowMs: 1000, algorithm: 'fixed-window' as const }
        const both = [sliding, fixed]
        const now = async () => ms(await admin.time())
        const until = async (target: number) => {
          for (let t = await now(); t < target; t = await now())
            if (target - t > 30) await new Promise((r) => setTimeout(r, target - t - 20))
        }
        const key = freshKey()
        await limitNow(key, both)
        const keys = await ourKeys()
        const tag = createHash('sha256').update(key).digest('hex').slice(0, 32)
        const swKey = keys.find((k) => k.includes(tag) && k.endsWith(':sw'))!
        const fwKey = keys.find((k) => k.includes(tag) && k.endsWith(':fw'))!
        // A log the script itself could have written (calls of a second ago, one half a second
        // ago): reading it keeps the script busy for tens of ms between its TIME and the PTTL.
        const log = (at: number) => {
          const buffer = Buffer.alloc(8 * (entries + 1))
          for (let i = 0; i < entries; i++) buffer.writeDoubleLE(at - 1400, 8 * i)
          buffer.writeDoubleLE(at - 500, 8 * entries)
          return buffer
        }
        await admin.set(swKey, log(await now()), 'PX', 500)
        await admin.del(fwKey)
        const from = await now()
        await limitNow(key, both)
        const took = (await now()) - from
        let straddled = 0
        for (let attempt = 0; attempt < 8 && straddled < 2; attempt++) {
          await admin.del(fwKey)
          const end = Math.ceil(((await now()) + 300) / 1000) * 1000 + 1000
          await until(end - 950)
          expect((await limitNow(key, [fixed])).allowed).toBe(true)
          const sendAt = end - Math.max(3, Math.floor(took / 2))
          await until(sendAt - 60)
          await admin.set(swKey, log(sendAt), 'PX', 500)
          await until(sendAt)
          const before = await now()
          const target = await limitNow(key, both)
          const after = await now()
          // Only a script that began before the window's end and ended after it tells anything.
          if (!(end - before >= 3 && after - end >= 3 && target.allowed)) continue
          straddled++
          expect(await expiry(fwKey)).toBe(end + fixed.windowMs)
          expect((await limitNow(key, [fixed])).allowed).toBe(false)
        }
        expect(straddled, `no call straddled a window's end (the script took ${took} ms)`).toBeGreaterThan(0)
      }, 60_000)

      // Review r-b: the later window kept, its end more than a window away.
      it('fixed window after Redis’s clock stepped back is answered exactly (review r-b)', async () => {
        const windowed = { limit: 10, windowMs: 1000, algorithm: 'fixed-window' as const }
        // A window a minute ahead, one call counted in it: as if written before the clock went back.
        // Stored by an earlier keyward (start, count), and by this one (the count, its key expiring at the window's end).
        const start = Math.floor(ms(await admin.time()) / 1000) * 1000 + 60_000
        for (const [value, expire] of [
          [packed(start, 1), ['PX', 120_000]],
          [packed(1), ['PXAT', start + 1000]],
        ] as const) {
          const key = freshKey()
          const k = `${ruleKey(key, windowed)}:fw`
          await admin.set(k, value, expire[0] as 'PX', expire[1])
          const result = await limitNow(key, [windowed])
          expect(result.allowed).toBe(true)
          expect(result.rules[0]!.remaining).toBe(8)
          expect(result.rules[0]!.resetMs).toBeGreaterThan(windowed.windowMs)
          expect(await expiry(k)).toBe(start + 1000)
        }
      })

      it('rejects a foreign or malformed state, leaving it as it was (the call is a 503, never a pass)', async () => {
        const now = ms(await admin.time())
        const foreign: Array<[string | Buffer, boolean]> = [
          ['not a state', true],
          [`${now}:x`, true],
          // Packed, but not a state: NaN, a booking beyond the bucket, a negative one (an earlier keyward's 'ddd').
          [Buffer.alloc(24, 0xff), true],
          [pack(now, 10 * W, now + W), true],
          [pack(now, -1, now + W), true],
          // This keyward's (booked, ref): NaN, beyond the bucket, negative, a ref past the window, and a key without expiry.
          [Buffer.alloc(16, 0xff), true],
          [packed(10 * W, W), true],
          [packed(-1, W), true],
          [packed(W, W + 1), true],
          [packed(W, W), false],
        ]
        for (const [value, expires] of foreign) {
          const key = freshKey()
          const k = ruleKey(key)
          if (expires) await admin.set(k, value, 'PX', W)
          else await admin.set(k, value)
          await expect(limitNow(key, [rule]), String(value)).rejects.toThrow()
          await expect(limitNow(key, [rule, general]), String(value)).rejects.toThrow()
          expect(await admin.getBuffer(k)).toEqual(Buffer.from(value))
        }
        const fixedForeign: Array<[string | Buffer, boolean]> = [
          ['junk', true],
          [Buffer.alloc(8, 0xff), true],
          [packed(0), true],
          [packed(6), true],
          [packed(1.5), true],
          [packed(0.5), true],
          [packed(1), false],
          // An earlier keyward's (start, count) with a count no keyward writes.
          [packed(1000, 0.5), true],
        ]
        for (const [value, expires] of fixedForeign) {
          const key = freshKey()
          const k = `${ruleKey(key, fixedRule)}:fw`
          if (expires) await admin.set(k, value, 'PX', W)
          else await admin.set(k, value)
          await expect(limitNow(key, [fixedRule]), String(value)).rejects.toThrow()
          await expect(limitNow(key, [fixedRule, general]), String(value)).rejects.toThrow()
          expect(await admin.getBuffer(k)).toEqual(Buffer.from(value))
        }
      })

      it('lockout: the clock is read only for an address blocked in this window, and a block that ended is no block', async () => {
        const now = ms(await admin.time())
        const lockoutKey = (address: string) => `${prefix}lo:{${createHash('sha256').update(address).digest('hex').slice(0, 32)}}`
        const cases: Array<[string, boolean]> = [
          // Failures counted, never blocked.
          [`${now - 1000}:2:0`, false],
          // Blocked until a second ago, the key still there.
          [`${now - 60_000}:3:${now - 1000}`, false],
          // Blocked for 30 s more.
          [`${now - 30_000}:3:${now + 30_000}`, true],
        ]
        for (const [value, blocked] of cases) {
          const address = freshKey()
          await admin.set(lockoutKey(address), value, 'PX', 60_000)
          for (const rules of [[rule], [rule, general], [fixedRule], []]) {
            const result = await limiter.limit({ key: freshKey(), rules, blockKey: address, now: 0 })
            expect(result.blocked, `${value} ${rules.length}`).toBe(blocked)
            if (blocked) {
              expect(result.retryAfterMs).toBeGreaterThan(20_000)
              expect(result.retryAfterMs).toBeLessThanOrEqual(30_000)
            }
          }
        }
        const address = freshKey()
        await admin.set(lockoutKey(address), 'junk', 'PX', 60_000)
        for (const rules of [[rule], [rule, general], []]) {
          await expect(limiter.limit({ key: freshKey(), rules, blockKey: address, now: 0 })).rejects.toThrow(/malformed lockout/)
        }
      })
      it('rejects a credit state that is not three non-negative safe integers, on a spend and a read, leaving it as it was', async () => {
        const credits = { remaining: 5, refill: null, epoch: 1 }
        const foreign = [pack(1, Infinity, 0), pack(1, 0.5, 0), pack(Infinity, 5, 0), pack(1, 2 ** 53, 0), pack(1, 5, -1), pack(1, NaN, 0)]
        for (const value of foreign) {
          const key = freshKey()
          const k = `${prefix}cr:{${createHash('sha256').update(key).digest('hex').slice(0, 32)}}`
          await admin.set(k, value)
          await expect(limiter.limit({ key, rules: [], credits, now: Date.now() }), value.toString('hex')).rejects.toThrow()
          await expect(limiter.adjustCredits({ key, credits, add: 0, now: Date.now() }), value.toString('hex')).rejects.toThrow()
          expect(await admin.getBuffer(k)).toEqual(value)
        }
      })
    })
  })
})

describe.skipIf(!up && !CI)('verify() on RedisRateLimiter: two keyward instances, two connections', () => {
  const prefix = `kwtest:${randomUUID()}:`
  const clients: Redis[] = []
  afterAll(async () => {
    const admin = clients[0]
    if (admin !== undefined) {
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
    }
    await Promise.all(clients.map((c) => c.quit()))
  })

  const code = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code)

  it('share quotas, and a lockout set through one refuses the address on the other', async () => {
    const store = new MemoryTokenStore()
    const lockout = { maxFailures: 2, windowMs: 60_000 }
    const [a, b] = [0, 1].map(() => {
      const client = new Redis({ host: HOST, port: PORT, maxRetriesPerRequest: 1 })
      clients.push(client)
      return createKeyward({
        prefix: 'bsk',
        store,
        lockout,
        usageFlushMs: false,
        limiter: new RedisRateLimiter({ client, prefix, timeoutMs: 10_000 }),
      })
    }) as [ReturnType<typeof createKeyward>, ReturnType<typeof createKeyward>]
    const { key } = await a.keys.create({ name: 'k', orgId: 'org_1', projects: ['p'], rateLimit: { limit: 3, windowMs: 86_400_000 } })
    const unknown = (await createKeyward({ prefix: 'bsk' }).keys.create({ name: 'x', orgId: 'o', projects: ['p'] })).key
    const call = (kw: typeof a, credential: string, ip: string) => kw.verify({ headers: { authorization: `Bearer ${credential}` }, ip })

    expect([code(await call(a, unknown, '192.0.2.1')), code(await call(a, unknown, '192.0.2.1'))]).toEqual([
      'invalid_token',
      'invalid_token',
    ])
    // b never saw those failures: only Redis knows.
    const blocked = await call(b, key, '192.0.2.1')
    expect(code(blocked)).toBe('ip_blocked')
    expect(Number(blocked.ok ? 0 : blocked.error.headers['retry-after'])).toBeLessThanOrEqual(60)

    const codes = []
    for (const kw of [a, b, a, b]) codes.push(code(await call(kw, key, '198.51.100.9')))
    expect(codes).toEqual(['ok', 'ok', 'ok', 'rate_limited'])
    const limited = await call(a, key, '198.51.100.9')
    expect(limited.ok ? {} : limited.error.headers).toMatchObject({
      'ratelimit-policy': '"default";q=3;w=86400',
      ratelimit: expect.stringMatching(/^"default";r=0;t=\d+$/),
    })
  })
})

describe.skipIf(!up && !CI)('lockout under concurrency on RedisRateLimiter (issue 12.7)', () => {
  const prefix = `kwtest:${randomUUID()}:`
  const clients: Redis[] = []
  afterAll(async () => {
    const admin = clients[0]
    if (admin !== undefined) {
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
    }
    await Promise.all(clients.map((c) => c.quit()))
  })

  const code = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code)
  const lockout = { maxFailures: 5, windowMs: 60_000 }
  const instances = (n: number, store = new MemoryTokenStore()) =>
    Array.from({ length: n }, () => {
      const client = new Redis({ host: HOST, port: PORT, maxRetriesPerRequest: 1 })
      clients.push(client)
      return createKeyward({
        prefix: 'bsk',
        store,
        lockout,
        usageFlushMs: false,
        limiter: new RedisRateLimiter({ client, prefix, timeoutMs: 10_000 }),
      })
    })
  const wrong = () => generateKey('bsk', 'live').key
  const count = (codes: string[]) => codes.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c]: (acc[c] ?? 0) + 1 }), {})

  it('one instance: 50 wrong keys at once from one address, 5 answered 401 and 45 answered 429', async () => {
    const [kw] = instances(1) as [ReturnType<typeof createKeyward>]
    const results = await Promise.all(Array.from({ length: 50 }, () => kw.verify({ headers: { 'x-api-key': wrong() }, ip: '192.0.2.71' })))
    expect(count(results.map(code))).toEqual({ invalid_token: 5, ip_blocked: 45 })
  })

  it('three instances, one Redis: 60 wrong keys at once, exactly 5 answered 401 (a failure counted past the block is a 429)', async () => {
    const kws = instances(3)
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => kws[i % 3]!.verify({ headers: { 'x-api-key': wrong() }, ip: '192.0.2.72' })),
    )
    expect(count(results.map(code))).toEqual({ invalid_token: 5, ip_blocked: 55 })
  })

  it('three instances: a right key in the burst is served only if Redis saw it before the block, else 429 like wrong ones', async () => {
    const store = new MemoryTokenStore()
    const kws = instances(3, store)
    const { key } = await kws[0]!.keys.create({ name: 'k', orgId: 'org_1', projects: ['p'] })
    const calls = Array.from({ length: 30 }, (_, i) =>
      kws[i % 3]!.verify({ headers: { 'x-api-key': i === 15 ? key : wrong() }, ip: '192.0.2.73' }),
    )
    const codes = (await Promise.all(calls)).map(code)
    const right = codes[15]
    const others = codes.filter((_, i) => i !== 15)
    expect(['ok', 'ip_blocked']).toContain(right)
    // Whatever Redis's order was, exactly the budget of failures got their 401.
    expect(count(others)).toEqual({ invalid_token: 5, ip_blocked: 24 })
  })
})

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0
const hasRedisCli = spawnSync('redis-cli', ['--version']).status === 0
if (!hasRedisServer) console.warn('\n!! redis-server is not on PATH: the Redis restart and Redis Cluster tests are SKIPPED.\n')
else if (!hasRedisCli) console.warn('\n!! redis-cli is not on PATH: the Redis Cluster test is SKIPPED.\n')

describe.skipIf(!hasRedisServer)('RedisRateLimiter on redis-server processes of its own', () => {
  const servers: ChildProcess[] = []
  afterAll(async () => {
    for (const server of servers) {
      if (server.exitCode !== null || server.signalCode !== null) continue
      const exited = once(server, 'exit')
      server.kill('SIGKILL')
      await exited
    }
  })

  async function isFree(port: number): Promise<boolean> {
    const probe = createServer()
    return new Promise((resolve) => {
      probe.once('error', () => resolve(false))
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
    })
  }

  /** A port whose cluster bus port (port + 10000) is free as well. */
  async function freeClusterPort(): Promise<number> {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * 30_000)
      if ((await isFree(port)) && (await isFree(port + 10_000))) return port
    }
  }

  /** Starts redis-server on `port` and resolves once it says it accepts connections. */
  function startRedis(port: number, extra: string[] = [], cwd?: string): Promise<ChildProcess> {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    servers.push(child)
    return new Promise((resolve, reject) => {
      let log = ''
      child.stdout!.on('data', (chunk: Buffer) => {
        log += chunk.toString()
        if (log.includes('Ready to accept connections')) resolve(child)
      })
      child.on('exit', (status) => reject(new Error(`redis-server exited (${String(status)}): ${log}`)))
    })
  }

  it('answers 503 while Redis is down (or the memory fallback, when chosen), and serves again once it is back', async () => {
    const port = await freePort()
    let redisServer = await startRedis(port)
    // No offline queue: a call while Redis is away fails at once instead of waiting to be replayed.
    const client = new Redis({ host: '127.0.0.1', port, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 10 })
    client.on('error', () => {})
    try {
      await once(client, 'ready')
      const limiter = new RedisRateLimiter({ client, timeoutMs: 10_000 })
      const store = new MemoryTokenStore()
      const closed = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, limiter: withFailurePolicy(limiter, { quota: 'closed' }) })
      const memory = createKeyward({
        prefix: 'bsk',
        store,
        usageFlushMs: false,
        lockout: false,
        limiter: withFailurePolicy(limiter, { quota: 'memory' }),
      })
      const { key } = await closed.keys.create({ name: 'k', orgId: 'org_1', projects: ['p'], rateLimit: { limit: 100, windowMs: 60_000 } })
      const call = async (kw: typeof closed) => {
        const r = await kw.verify({ headers: { authorization: `Bearer ${key}` }, ip: '192.0.2.1' })
        return r.ok ? 200 : r.error.status
      }
      expect([await call(closed), await call(memory)]).toEqual([200, 200])

      const lost = once(client, 'close')
      const exited = once(redisServer, 'exit')
      redisServer.kill('SIGKILL')
      await Promise.all([exited, lost])
      expect([await call(closed), await call(closed), await call(memory)]).toEqual([503, 503, 200])

      // A new server knows no scripts: the limiter re-sends it (NOSCRIPT, then EVAL).
      redisServer = await startRedis(port)
      await once(client, 'ready')
      expect([await call(closed), await call(memory)]).toEqual([200, 200])
    } finally {
      client.disconnect()
    }
  })

  it('a call that timed out was applied whole or not at all, never to some rules only', async () => {
    const port = await freePort()
    await startRedis(port)
    const client = new Redis({ host: '127.0.0.1', port })
    const admin = new Redis({ host: '127.0.0.1', port })
    try {
      await Promise.all([once(client, 'ready'), once(admin, 'ready')])
      const limiter = new RedisRateLimiter({ client, timeoutMs: 50 })
      // The calls around the paused one must not time out on a loaded machine: a patient limiter
      // on the same connection (so Redis still runs them in order).
      const patient = new RedisRateLimiter({ client, timeoutMs: 60_000 })
      const rules = [
        { limit: 5, windowMs: 86_400_000 },
        { limit: 7, windowMs: 3_600_000 },
      ]
      await patient.limit({ key: 'k', rules, now: 0 })
      // Redis holds back every write command (scripts included) until told otherwise: the call
      // cannot be answered in time, however fast the machine.
      await admin.call('CLIENT', 'PAUSE', '600000', 'WRITE')
      await expect(limiter.limit({ key: 'k', rules, blockKey: '192.0.2.1', now: 0 })).rejects.toThrow(/timed out after 50 ms/)
      await admin.call('CLIENT', 'UNPAUSE')
      // Same connection, so Redis runs this after the timed-out call: which counted on both rules.
      const next = await patient.limit({ key: 'k', rules, now: 0 })
      expect(next.rules.map((s) => s.remaining)).toEqual([2, 4])
    } finally {
      client.disconnect()
      admin.disconnect()
    }
  })

  it.skipIf(!hasRedisCli)(
    'Redis Cluster: an ioredis Cluster is detected, and quotas and lockout hold across slots and clients',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keyward-cluster-'))
      const clients: InstanceType<typeof Redis.Cluster>[] = []
      try {
        const ports: number[] = []
        while (ports.length < 3) {
          const port = await freeClusterPort()
          if (!ports.includes(port)) ports.push(port)
        }
        await Promise.all(
          ports.map((port) => {
            mkdirSync(join(dir, String(port)))
            return startRedis(port, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'], join(dir, String(port)))
          }),
        )
        const create = spawn(
          'redis-cli',
          ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
          { stdio: 'ignore' },
        )
        const [status] = (await once(create, 'exit')) as [number | null]
        expect(status).toBe(0)
        for (const port of ports.slice(0, 2)) clients.push(new Redis.Cluster([{ host: '127.0.0.1', port }]))
        await Promise.all(clients.map((c) => once(c, 'ready')))
        const [a, b] = clients.map((client) => new RedisRateLimiter({ client, timeoutMs: 10_000 })) as [RedisRateLimiter, RedisRateLimiter]
        const rules = [
          { limit: 2, windowMs: 86_400_000 },
          { limit: 5, windowMs: 3_600_000 },
        ]

        expect((await a.limit({ key: 'AbCd1234', rules, blockKey: '192.0.2.1', now: 0 })).rules.map((s) => s.remaining)).toEqual([1, 4])
        // Why the option exists: the key's rules and the address live in different slots.
        const oneScript = new RedisRateLimiter({ client: clients[0]!, cluster: false, timeoutMs: 10_000 })
        await expect(oneScript.limit({ key: 'AbCd1234', rules, blockKey: '192.0.2.1', now: 0 })).rejects.toThrow(/CROSSSLOT/)
        // Without an address, one script serves a key's rules: they share a slot.
        expect((await oneScript.limit({ key: 'AbCd1234', rules, now: 0 })).rules.map((s) => s.remaining)).toEqual([0, 3])

        expect((await b.recordFailure('192.0.2.1', { maxFailures: 1, windowMs: 300_000 }, 0)).blocked).toBe(true)
        expect(await a.limit({ key: 'Other123', rules, blockKey: '192.0.2.1', now: 0 })).toMatchObject({
          allowed: false,
          blocked: true,
          rules: [],
        })

        const rule = { limit: 100, windowMs: 86_400_000 }
        const results = await Promise.all(
          Array.from({ length: 1000 }, (_, i) =>
            (i % 2 === 0 ? a : b).limit({ key: 'Burst123', rules: [rule], blockKey: `198.51.100.${i % 7}`, now: 0 }),
          ),
        )
        expect(results.filter((r) => r.allowed)).toHaveLength(100)
      } finally {
        clients.forEach((c) => c.disconnect())
        rmSync(dir, { recursive: true, force: true })
      }
    },
    30_000,
  )
})

describe('RedisRateLimiter without Redis', () => {
  const reply = [1, 0, 0, 9, 100]
  const rule = { limit: 10, windowMs: 1000 }

  it('turns a bad argument into a rejection, never a synchronous throw (the RateLimiter contract)', async () => {
    const client: RedisScriptClient = { evalsha: async () => reply, eval: async () => reply }
    const limiter = new RedisRateLimiter({ client })
    let thrown: unknown
    let pending: Promise<unknown>[] = []
    try {
      pending = [
        limiter.limit({ key: undefined as never, rules: [rule], now: 0 }),
        limiter.limit({ key: 'k', rules: undefined as never, blockKey: 'b', now: 0 }),
        limiter.recordFailure('b', undefined as never),
      ]
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeUndefined()
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(Error)
  })

  it('sends EVALSHA, and the script itself with EVAL only when Redis answers NOSCRIPT', async () => {
    const sent: string[] = []
    let known = false
    const client: RedisScriptClient = {
      evalsha: async (sha) => {
        sent.push(`evalsha ${sha.length}`)
        if (!known) throw new Error('NOSCRIPT No matching script. Please use EVAL.')
        return reply
      },
      eval: async (script) => {
        sent.push(`eval ${script.includes('TIME')}`)
        known = true
        return reply
      },
    }
    const limiter = new RedisRateLimiter({ client })
    const expected = { allowed: true, blocked: false, retryAfterMs: 0, rules: [{ rule, remaining: 9, resetMs: 100 }] }
    expect(await limiter.limit({ key: 'k', rules: [rule], now: 0 })).toEqual(expected)
    expect(await limiter.limit({ key: 'k', rules: [rule], now: 0 })).toEqual(expected)
    expect(sent).toEqual(['evalsha 40', 'eval true', 'evalsha 40'])
  })

  it('reads the short path’s integer reply as remaining * (windowMs + 1) + resetMs, and sends a rule’s arguments alone', async () => {
    const sent: unknown[][] = []
    const client: RedisScriptClient = {
      evalsha: async (_sha, ...rest) => (sent.push(rest), 9 * (rule.windowMs + 1) + 100),
      eval: async () => Promise.reject(new Error('no')),
    }
    const limiter = new RedisRateLimiter({ client, prefix: 'p:' })
    const expected = { allowed: true, blocked: false, retryAfterMs: 0, rules: [{ rule, remaining: 9, resetMs: 100 }] }
    expect(await limiter.limit({ key: 'k', rules: [rule], now: 0 })).toEqual(expected)
    const windowed = { ...rule, algorithm: 'fixed-window' as const }
    expect((await limiter.limit({ key: 'k', rules: [windowed], blockKey: 'a', now: 0 })).rules).toEqual([
      { rule: windowed, remaining: 9, resetMs: 100 },
    ])
    const tag = createHash('sha256').update('k').digest('hex').slice(0, 32)
    const address = createHash('sha256').update('a').digest('hex').slice(0, 32)
    expect(sent).toEqual([
      [1, `p:rl:{${tag}}:10:1000`, '10', '1000'],
      [2, `p:rl:{${tag}}:10:1000:fw`, `p:lo:{${address}}`, '10', '1000', 'f'],
    ])
  })

  it('rebuilds a rule’s arguments after it changed in place; an unknown algorithm goes the general way (review r-b)', async () => {
    const sent: unknown[][] = []
    const client: RedisScriptClient = {
      evalsha: async (_sha, ...rest) => (sent.push(rest), 1 * (rest.length > 3 ? 0 : 1) + 1),
      eval: async () => Promise.reject(new Error('no')),
    }
    const limiter = new RedisRateLimiter({ client, prefix: 'p:' })
    const mutable: RateLimitRule = { limit: 2, windowMs: 1000 }
    await limiter.limit({ key: 'k', rules: [mutable], now: 0 }).catch(() => undefined)
    mutable.limit = 5
    await limiter.limit({ key: 'k', rules: [mutable], now: 0 }).catch(() => undefined)
    expect(sent.map((args) => args.slice(-2))).toEqual([
      ['2', '1000'],
      ['5', '1000'],
    ])
    sent.length = 0
    const unknown = { limit: 2, windowMs: 1000, algorithm: 'token-bucket' } as unknown as RateLimitRule
    await limiter.limit({ key: 'k', rules: [unknown], now: 0 }).catch(() => undefined)
    // The general layout (a flag first), where the script refuses an algorithm it does not know.
    expect(sent[0]!.slice(2, 3)).toEqual(['0'])
  })

  it('passes other errors through, and rejects a reply of the wrong shape', async () => {
    const failing = new RedisRateLimiter({
      client: { evalsha: () => Promise.reject(new Error('READONLY')), eval: () => Promise.reject(new Error('no')) },
    })
    await expect(failing.limit({ key: 'k', rules: [rule], now: 0 })).rejects.toThrow('READONLY')
    const odd = (bad: unknown) =>
      new RedisRateLimiter({ client: { evalsha: () => Promise.resolve(bad), eval: () => Promise.resolve(bad) } })
    for (const bad of [
      null,
      'OK',
      [1, 0],
      [1, 0, 0, 9],
      [1, 0, 0, 9, '100'],
      [1, 0, 0, 9, -1],
      [1, 0, 0, 9, 1.5],
      [0, 1],
      -1,
      1.5,
      2 ** 53,
      // No reset (an allowed call always has one), a remaining at the limit (10).
      0,
      9 * 1001,
      10 * 1001 + 5,
    ]) {
      await expect(odd(bad).limit({ key: 'k', rules: [rule], now: 0 }), JSON.stringify(bad)).rejects.toThrow(/unexpected reply/)
    }
    // An integer answers one rule only (the short path's allowed call), never two.
    await expect(odd(9 * 1001 + 100).limit({ key: 'k', rules: [rule, { limit: 5, windowMs: 60_000 }], now: 0 })).rejects.toThrow(
      /unexpected reply/,
    )
    for (const bad of [null, 'OK', [1], [1, 0], [1, 0, 0, 0], [1, '5', 1], [1, -1, 1], [1, 1.5, 1], [1, 5, -1]]) {
      await expect(odd(bad).recordFailure('a', { maxFailures: 1, windowMs: 1000 }, 0), JSON.stringify(bad)).rejects.toThrow(
        /unexpected reply/,
      )
    }
  })

  it('rejects every call after timeoutMs (default 250) when Redis does not answer', async () => {
    vi.useFakeTimers()
    try {
      const silent: RedisScriptClient = { evalsha: () => new Promise(() => {}), eval: () => new Promise(() => {}) }
      const limiter = new RedisRateLimiter({ client: silent })
      const quick = new RedisRateLimiter({ client: silent, timeoutMs: 20, cluster: true })
      const calls = [
        limiter.limit({ key: 'k', rules: [rule], now: 0 }),
        limiter.limit({ key: 'k', rules: [rule], blockKey: 'a', now: 0 }),
        limiter.recordFailure('a', { maxFailures: 1, windowMs: 1000 }, 0),
      ]
      const quickCall = quick.limit({ key: 'k', rules: [rule], blockKey: 'a', now: 0 })
      const settled = calls.map((p) =>
        p.then(
          () => 'resolved',
          (e: Error) => e.message,
        ),
      )
      const quickSettled = quickCall.then(
        () => 'resolved',
        (e: Error) => e.message,
      )
      await vi.advanceTimersByTimeAsync(20)
      expect(await quickSettled).toMatch(/timed out after 20 ms/)
      await vi.advanceTimersByTimeAsync(229)
      let done = false
      void Promise.all(settled).then(() => (done = true))
      await vi.advanceTimersByTimeAsync(0)
      expect(done).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(await Promise.all(settled)).toEqual(new Array(3).fill('keyward: Redis rate limiter timed out after 250 ms'))
    } finally {
      vi.useRealTimers()
    }
  })

  it('times out each call in flight at its own deadline, drops late replies, and answers the ones in time', async () => {
    vi.useFakeTimers()
    try {
      // Redis answers when told: each call's reply is held until released.
      const held: ((reply: unknown) => void)[] = []
      const client: RedisScriptClient = {
        evalsha: () => new Promise((resolve) => held.push(resolve)),
        eval: () => new Promise(() => {}),
      }
      const limiter = new RedisRateLimiter({ client, timeoutMs: 100 })
      const outcomes: string[] = []
      const track = (p: Promise<unknown>, i: number) =>
        p.then(
          (r) => outcomes.push(`${i} ${JSON.stringify(r)}`),
          (e: Error) => outcomes.push(`${i} ${e.message}`),
        )
      // Three calls opened at 0, 40 and 80 ms: deadlines at 100, 140 and 180 ms.
      void track(limiter.limit({ key: 'k', rules: [rule], now: 0 }), 0)
      await vi.advanceTimersByTimeAsync(40)
      void track(limiter.recordFailure('a', { maxFailures: 5, windowMs: 1000 }, 0), 1)
      await vi.advanceTimersByTimeAsync(40)
      void track(limiter.limit({ key: 'k', rules: [rule], blockKey: 'a', now: 0 }), 2)
      // The second is answered in time, at 90 ms.
      await vi.advanceTimersByTimeAsync(10)
      held[1]!(-2)
      await vi.advanceTimersByTimeAsync(9)
      expect(outcomes).toEqual(['1 {"blocked":false,"retryAfterMs":0,"failures":2}'])
      await vi.advanceTimersByTimeAsync(1)
      expect(outcomes.at(-1)).toBe('0 keyward: Redis rate limiter timed out after 100 ms')
      // The first's reply comes late, at 120 ms: dropped.
      await vi.advanceTimersByTimeAsync(20)
      held[0]!(9 * 1001 + 100)
      await vi.advanceTimersByTimeAsync(59)
      expect(outcomes).toHaveLength(2)
      await vi.advanceTimersByTimeAsync(1)
      expect(outcomes).toEqual([
        '1 {"blocked":false,"retryAfterMs":0,"failures":2}',
        '0 keyward: Redis rate limiter timed out after 100 ms',
        '2 keyward: Redis rate limiter timed out after 100 ms',
      ])
    } finally {
      vi.useRealTimers()
    }
  })

  it('rejects, never throws, when the client throws instead of rejecting', async () => {
    const client: RedisScriptClient = {
      evalsha: () => {
        throw new Error('client broke')
      },
      eval: () => {
        throw new Error('client broke')
      },
    }
    const limiter = new RedisRateLimiter({ client, timeoutMs: 10_000 })
    await expect(limiter.limit({ key: 'k', rules: [rule], now: 0 })).rejects.toThrow('client broke')
    await expect(limiter.recordFailure('a', { maxFailures: 5, windowMs: 1000 }, 0)).rejects.toThrow('client broke')
  })

  it('recordFailure: minus the count when not blocked, any other integer is an unexpected reply', async () => {
    const answering = (reply: unknown) =>
      new RedisRateLimiter({ client: { evalsha: () => Promise.resolve(reply), eval: () => Promise.resolve(reply) } })
    const policy = { maxFailures: 5, windowMs: 1000 }
    expect(await answering(-3).recordFailure('a', policy, 0)).toEqual({ blocked: false, retryAfterMs: 0, failures: 3 })
    expect(await answering([1, 700, 5]).recordFailure('a', policy, 0)).toEqual({ blocked: true, retryAfterMs: 700, failures: 5 })
    for (const bad of [0, 1, 3, -1.5, -(2 ** 53), [0, 0, 3], [2, 5, 3]]) {
      await expect(answering(bad).recordFailure('a', policy, 0), String(bad)).rejects.toThrow(/unexpected reply/)
    }
  })

  it('recordFailure refuses a policy that is not whole numbers, and sends nothing', async () => {
    let sent = 0
    const client: RedisScriptClient = { evalsha: async () => (sent++, -1), eval: async () => (sent++, -1) }
    const limiter = new RedisRateLimiter({ client })
    for (const policy of [
      { maxFailures: 5, windowMs: 1000.5 },
      { maxFailures: 2.5, windowMs: 1000 },
      { maxFailures: 0, windowMs: 1000 },
      { maxFailures: 5, windowMs: -1 },
    ]) {
      await expect(limiter.recordFailure('a', policy, 0), JSON.stringify(policy)).rejects.toThrow(TypeError)
    }
    expect(sent).toBe(0)
  })

  it('checks the lockout in its own script, alongside, for a cluster client (detected, or told)', async () => {
    const keyCounts: number[] = []
    const cluster = (isCluster?: boolean): RedisScriptClient => ({
      isCluster,
      evalsha: async (_sha, numKeys, ...keysAndArgs) => {
        keyCounts.push(numKeys)
        // The block alone: one key, flagged; answered "allowed, not blocked", as the script does.
        return numKeys === 1 && keysAndArgs[1] === '1' ? [1, 0, 0] : [1, 0, 0, 9, 100]
      },
      eval: () => Promise.reject(new Error('unused')),
    })
    const request = { key: 'k', rules: [rule], blockKey: 'a', now: 0 }
    const expected = { allowed: true, blocked: false, retryAfterMs: 0, rules: [{ rule, remaining: 9, resetMs: 100 }] }
    for (const limiter of [
      new RedisRateLimiter({ client: cluster(true) }),
      new RedisRateLimiter({ client: cluster(false), cluster: true }),
      new RedisRateLimiter({ client: cluster(), cluster: true }),
    ]) {
      keyCounts.length = 0
      expect(await limiter.limit(request)).toEqual(expected)
      expect(keyCounts.sort()).toEqual([1, 1])
    }
    for (const limiter of [
      new RedisRateLimiter({ client: cluster(false) }),
      new RedisRateLimiter({ client: cluster() }),
      new RedisRateLimiter({ client: cluster(true), cluster: false }),
    ]) {
      keyCounts.length = 0
      await limiter.limit(request).catch(() => {})
      expect(keyCounts).toEqual([2])
    }
  })

  it('names Redis keys from 128 bits of SHA-256 of the key id or address, however many come by', async () => {
    const sent: string[][] = []
    const client: RedisScriptClient = {
      evalsha: async (_sha, numKeys, ...keysAndArgs) => {
        sent.push(keysAndArgs.slice(0, numKeys))
        return numKeys === 1 ? -1 : [1, 0, 0, 9, 100]
      },
      eval: () => Promise.reject(new Error('unused')),
    }
    const limiter = new RedisRateLimiter({ client, prefix: 'app:' })
    const hex = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 32)
    // Past the digest cache's bound (4096), and back to the first ones after it started afresh.
    const ids = [...Array.from({ length: 5000 }, (_, i) => `Key${i}`), 'Key0', 'Key1', 'Kéy']
    // One comparison at the end: 5,003 expect() calls made this CPU-bound test time out under load.
    const wrong: string[] = []
    for (const id of ids) {
      sent.length = 0
      await limiter.limit({ key: id, rules: [rule], blockKey: `${id}-ip`, now: 0 })
      await limiter.recordFailure(`${id}-ip`, { maxFailures: 5, windowMs: 1000 }, 0)
      const want = JSON.stringify([[`app:rl:{${hex(id)}}:10:1000`, `app:lo:{${hex(`${id}-ip`)}}`], [`app:lo:{${hex(`${id}-ip`)}}`]])
      if (JSON.stringify(sent) !== want) wrong.push(`${id}: ${JSON.stringify(sent)} instead of ${want}`)
    }
    expect(wrong.slice(0, 3)).toEqual([])
  }, 60_000)

  it('asks nothing of Redis for a call with no rules and no address', async () => {
    const limiter = new RedisRateLimiter({
      client: { evalsha: () => Promise.reject(new Error('called')), eval: () => Promise.reject(new Error('called')) },
    })
    expect(await limiter.limit({ key: 'k', rules: [], now: 0 })).toEqual({ allowed: true, blocked: false, retryAfterMs: 0, rules: [] })
  })

  it('validates its options eagerly with a TypeError', () => {
    const client: RedisScriptClient = { evalsha: async () => reply, eval: async () => reply }
    for (const bad of [
      undefined,
      {},
      { client: null },
      { client: {} },
      { client, prefix: 'a{b}:' },
      { client, prefix: 5 },
      { client, timeoutMs: 0 },
      { client, timeoutMs: -1 },
      { client, timeoutMs: Number.NaN },
      { client, timeoutMs: Infinity },
      { client, cluster: 'yes' },
    ]) {
      expect(() => new RedisRateLimiter(bad as never), JSON.stringify(bad)).toThrow(TypeError)
    }
    expect(() => new RedisRateLimiter({ client, prefix: 'app:', timeoutMs: 100, cluster: true })).not.toThrow()
  })

  it('an ioredis client fits RedisScriptClient as it is', () => {
    const client = new Redis({ lazyConnect: true })
    expect(() => new RedisRateLimiter({ client })).not.toThrow()
    client.disconnect()
  })
})
