/**
 * `lockout.count`: which refusals count toward an address's lockout. The default is unchanged;
 * over-quota refusals counted as failures (TokenKit's rule) work on the memory and the Redis
 * limiter (the count goes through the limiter's recordFailure after the quota call said no).
 */
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryRateLimiter, type KeywardOptions, type RateLimiter, type VerifyResult } from '../../src/index.js'
import { RedisRateLimiter } from '../../src/limiters/redis-rate-limiter.js'
import { CI, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'
import { setup } from '../support/setup.js'

const up = await redisAnswers()
if (!up) warnSkipped(`Redis on ${REDIS.host}:${REDIS.port}`, 'the lockout.count tests on the Redis limiter')

const code = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code)
const HOUR = 3_600_000

interface LimiterCase {
  name: string
  limiter: () => RateLimiter
}

const redisClients: Redis[] = []
const redisPrefix = `kwtest:lockout-count:${randomUUID()}:`
afterAll(async () => {
  const admin = redisClients[0]
  if (admin !== undefined) {
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await admin.del(...keys)
    } while (cursor !== '0')
  }
  await Promise.all(redisClients.map((c) => c.quit()))
})

const cases: LimiterCase[] = [{ name: 'memory limiter', limiter: () => new MemoryRateLimiter() }]
if (up || CI)
  cases.push({
    name: 'Redis limiter',
    limiter: () => {
      const client = new Redis({ ...REDIS, maxRetriesPerRequest: 1 })
      redisClients.push(client)
      // Each scenario on a prefix of its own: the addresses below repeat across scenarios.
      return new RedisRateLimiter({ client, prefix: `${redisPrefix}${randomUUID()}:`, timeoutMs: 10_000 })
    },
  })

for (const { name, limiter } of cases) {
  describe(`lockout.count on the ${name}`, () => {
    const build = (options: Partial<KeywardOptions> = {}) => setup({ limiter: limiter(), ...options })

    it('by default an over-quota refusal does not count: the address is never blocked by its own quota', async () => {
      const { kw, bearer, mint } = build({ lockout: { maxFailures: 3, windowMs: 60_000 } })
      const { key } = await mint({ rateLimit: { limit: 1, windowMs: HOUR } })
      const other = (await mint()).key
      expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.1' }))).toBe('ok')
      for (let i = 0; i < 6; i++) expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.1' }))).toBe('rate_limited')
      expect(code(await kw.verify({ headers: bearer(other), ip: '198.51.100.1' }))).toBe('ok')
    })

    it("count: [...default, 'rate_limited'] blocks an address after maxFailures over-quota refusals", async () => {
      const { kw, bearer, mint } = build({
        lockout: { maxFailures: 3, windowMs: 60_000, count: ['invalid_token', 'origin_forbidden', 'ip_forbidden', 'rate_limited'] },
      })
      const { key } = await mint({ rateLimit: { limit: 1, windowMs: HOUR } })
      const other = (await mint()).key
      expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.2' }))).toBe('ok')
      for (let i = 0; i < 3; i++) {
        const r = await kw.verify({ headers: bearer(key), ip: '198.51.100.2' })
        // Still the quota's answer, with its Retry-After and RateLimit headers.
        expect(code(r)).toBe('rate_limited')
        if (!r.ok) expect(r.error.headers['ratelimit-policy']).toBe('"default";q=1;w=3600')
      }
      const blocked = await kw.verify({ headers: bearer(other), ip: '198.51.100.2' })
      expect(code(blocked)).toBe('ip_blocked')
      expect(!blocked.ok && blocked.error.retryAfter).toBeGreaterThan(0)
      // Another address is untouched, and so is the key for it (its quota aside).
      expect(code(await kw.verify({ headers: bearer(other), ip: '198.51.100.3' }))).toBe('ok')
    })

    it('an over-quota refusal and a wrong key add up in the same window', async () => {
      const { kw, bearer, mint } = build({ lockout: { maxFailures: 3, windowMs: 60_000, count: ['invalid_token', 'rate_limited'] } })
      const { key } = await mint({ rateLimit: { limit: 1, windowMs: HOUR } })
      const stranger = (await setup().mint()).key
      expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.4' }))).toBe('ok')
      expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.4' }))).toBe('rate_limited')
      expect(code(await kw.verify({ headers: bearer(stranger), ip: '198.51.100.4' }))).toBe('invalid_token')
      expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.4' }))).toBe('rate_limited')
      expect(code(await kw.verify({ headers: bearer((await mint()).key), ip: '198.51.100.4' }))).toBe('ip_blocked')
    })

    it('a list without the place refusals stops them counting', async () => {
      const { kw, bearer, mint } = build({ lockout: { maxFailures: 2, windowMs: 60_000, count: ['invalid_token'] } })
      const { key } = await mint({ allowedIps: ['203.0.113.10'] })
      const open = (await mint()).key
      for (let i = 0; i < 5; i++) expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.5' }))).toBe('ip_forbidden')
      expect(code(await kw.verify({ headers: bearer(open), ip: '198.51.100.5' }))).toBe('ok')
      const stranger = (await setup().mint()).key
      for (let i = 0; i < 2; i++) expect(code(await kw.verify({ headers: bearer(stranger), ip: '198.51.100.5' }))).toBe('invalid_token')
      expect(code(await kw.verify({ headers: bearer(open), ip: '198.51.100.5' }))).toBe('ip_blocked')
    })

    it('project and scope refusals count when listed', async () => {
      const { kw, bearer, mint } = build({
        lockout: { maxFailures: 2, windowMs: 60_000, count: ['project_forbidden', 'insufficient_scope'] },
      })
      const { key } = await mint({ scopes: ['read'] })
      expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.6', project: 'elsewhere' }))).toBe('project_forbidden')
      expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.6', scopes: 'admin' }))).toBe('insufficient_scope')
      expect(code(await kw.verify({ headers: bearer(key), ip: '198.51.100.6' }))).toBe('ip_blocked')
    })
  })
}

describe('lockout.count option checks', () => {
  const base = { maxFailures: 10, windowMs: 60_000 }
  it.each([
    [['missing_credentials'], /lockout\.count cannot count "missing_credentials".*refused before lockout/],
    [['store_unavailable'], /lockout\.count cannot count "store_unavailable"/],
    [['invalid_token', 'ratelimited'], /lockout\.count cannot count "ratelimited"/],
    [[42], /lockout\.count cannot count a non-string/],
    [[], /lockout\.count must be a non-empty list.*lockout: false/],
    ['rate_limited', /lockout\.count must be a non-empty list/],
  ])('refuses %j', (count, message) => {
    expect(() => setup({ lockout: { ...base, count: count as never } })).toThrow(message)
  })

  it('hands the limiter the policy alone, as it always did', async () => {
    const seen: unknown[] = []
    const memory = new MemoryRateLimiter()
    const spy: RateLimiter = {
      limit: (request) => memory.limit(request),
      recordFailure: (key, policy, now) => {
        seen.push(policy)
        return memory.recordFailure(key, policy, now)
      },
    }
    const { kw, bearer } = setup({ limiter: spy, lockout: { ...base, count: ['invalid_token'] } })
    await kw.verify({ headers: bearer((await setup().mint()).key), ip: '198.51.100.9' })
    expect(seen).toEqual([base])
  })
})
