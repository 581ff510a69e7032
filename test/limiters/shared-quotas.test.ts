import Redis from 'ioredis'
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore, type VerifyResult } from '../../src/index.js'
import { withFailurePolicy } from '../../src/limiters/failure-policy.js'
import type { RateLimiter } from '../../src/limiters/rate-limiter.js'
import { RedisRateLimiter } from '../../src/limiters/redis-rate-limiter.js'
import { manualClock } from '../support/clock.js'
import { CI, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'

const HOUR = 3_600_000
const code = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code)
const headersOf = (r: VerifyResult) => (r.ok ? r.headers : r.error.headers)

const up = await redisAnswers()
if (!up) warnSkipped(`Redis on ${REDIS.host}:${REDIS.port}`, 'the shared-quota tests on RedisRateLimiter')
const clients: Redis[] = []
afterAll(async () => {
  const admin = clients[0]
  if (admin !== undefined) {
    const keys = await admin.keys('kwtest:shared:*')
    if (keys.length > 0) await admin.del(...keys)
  }
  await Promise.all(clients.map((c) => c.quit()))
})
const redisLimiter = (options: { cluster?: boolean } = {}) => {
  const client = new Redis({ host: REDIS.host, port: REDIS.port, maxRetriesPerRequest: 1 })
  clients.push(client)
  return new RedisRateLimiter({ client, prefix: `kwtest:shared:${randomUUID()}:`, timeoutMs: 10_000, ...options })
}

const backends: Array<[string, () => RateLimiter]> = [['memory', () => new MemoryRateLimiter()]]
if (up || CI) backends.push(['Redis', () => redisLimiter()])

describe.each(backends)('shared quotas on the %s limiter', (_name, makeLimiter) => {
  function setupShared(limiter = makeLimiter()) {
    const clock = manualClock()
    const kw = createKeyward({
      prefix: 'bsk',
      store: new MemoryTokenStore(),
      limiter,
      now: clock.now,
      usageFlushMs: false,
      lockout: false,
      sharedQuotas: [
        { name: 'org', by: 'org', rules: { limit: 5, windowMs: HOUR } },
        {
          name: 'team',
          by: (auth) => auth.key?.metadata.team as string | undefined,
          rules: [{ limit: 4, windowMs: HOUR, algorithm: 'fixed-window' }],
        },
      ],
    })
    const mint = (orgId: string, rateLimit = { limit: 3, windowMs: HOUR }, metadata = {}) =>
      kw.keys.create({ name: 'k', orgId, projects: ['p'], rateLimit, metadata }).then((c) => c.key)
    const call = (key: string) => kw.verify({ headers: { authorization: `Bearer ${key}` } })
    return { kw, mint, call }
  }

  it('an org’s keys share one budget, counted with each key’s own in one decision; another org’s keys are apart', async () => {
    const { mint, call } = setupShared()
    const [a, b, other] = [await mint('org_1'), await mint('org_1'), await mint('org_2')]
    const results = []
    for (let i = 0; i < 4; i++) results.push(code(await call(a)))
    // Three: the key's own rule; the fourth is refused by it and counts on the org's budget nowhere.
    expect(results).toEqual(['ok', 'ok', 'ok', 'rate_limited'])
    const first = await call(b)
    expect(code(first)).toBe('ok')
    expect(headersOf(first)).toEqual({
      'ratelimit-policy': '"default";q=3;w=3600, "org";q=5;w=3600',
      ratelimit: '"default";r=2;t=1200, "org";r=1;t=2880',
    })
    expect(headersOf(await call(b)).ratelimit).toBe('"default";r=1;t=2400, "org";r=0;t=3600')
    // The org's five are spent (a's three, b's two): b's third is refused by the org, b's own quota untouched.
    const refused = await call(b)
    expect(code(refused)).toBe('rate_limited')
    expect(headersOf(refused).ratelimit).toBe('"default";r=1;t=2400, "org";r=0;t=3600')
    expect(code(await call(other))).toBe('ok')
  })

  it('a group the app names (by), with its own algorithm; a request outside every group spends only its own', async () => {
    const { mint, call } = setupShared()
    const lots = { limit: 100, windowMs: HOUR }
    const t1 = await mint('org_a', lots, { team: 'blue' })
    const t2 = await mint('org_b', lots, { team: 'blue' })
    const none = await mint('org_c', lots)
    const seen = []
    for (let i = 0; i < 3; i++) seen.push(code(await call(t1)), code(await call(t2)))
    expect(seen).toEqual(['ok', 'ok', 'ok', 'ok', 'rate_limited', 'rate_limited'])
    const outside = await call(none)
    expect(headersOf(outside)['ratelimit-policy']).toBe('"default";q=100;w=3600, "org";q=5;w=3600')
  })

  it('200 concurrent calls from 4 keys of one org on a shared rule of 50 allow exactly 50', async () => {
    const limiter = makeLimiter()
    const kw = createKeyward({
      prefix: 'bsk',
      limiter,
      usageFlushMs: false,
      lockout: false,
      sharedQuotas: [{ name: 'org', by: 'org', rules: { limit: 50, windowMs: 10 * HOUR } }],
    })
    const keys = await Promise.all(
      Array.from({ length: 4 }, () => kw.keys.create({ name: 'k', orgId: 'org_c', projects: ['p'] }).then((c) => c.key)),
    )
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => kw.verify({ headers: { authorization: `Bearer ${keys[i % 4]}` } })),
    )
    expect(results.filter((r) => r.ok)).toHaveLength(50)
  })
})

describe('sharedQuotas: refused where they cannot hold, checked eagerly', () => {
  const rules = { limit: 5, windowMs: HOUR }
  it('needs a limiter that counts them (a custom one without sharedQuotas, a Redis Cluster limiter)', () => {
    const custom: RateLimiter = {
      limit: () => Promise.reject(new Error('unused')),
      recordFailure: () => Promise.reject(new Error('unused')),
    }
    expect(() => createKeyward({ prefix: 'bsk', limiter: custom, sharedQuotas: [{ name: 'org', by: 'org', rules }] })).toThrow(
      /sharedQuotas needs a limiter/,
    )
    const cluster = new RedisRateLimiter({
      client: { evalsha: () => Promise.reject(new Error('x')), eval: () => Promise.reject(new Error('x')) },
      cluster: true,
    })
    expect(cluster.sharedQuotas).toBe(false)
    expect(() => createKeyward({ prefix: 'bsk', limiter: cluster, sharedQuotas: [{ name: 'org', by: 'org', rules }] })).toThrow(TypeError)
    expect(withFailurePolicy(new MemoryRateLimiter(), { quota: 'memory' }).sharedQuotas).toBe(true)
    expect(withFailurePolicy(cluster).sharedQuotas).toBe(false)
    // A fallback that cannot count them would drop group budgets during an outage, unannounced.
    const withCustomFallback = withFailurePolicy(new MemoryRateLimiter(), { quota: 'memory', fallback: custom })
    expect(withCustomFallback.sharedQuotas).toBe(false)
    expect(() => createKeyward({ prefix: 'bsk', limiter: withCustomFallback, sharedQuotas: [{ name: 'org', by: 'org', rules }] })).toThrow(
      /sharedQuotas needs a limiter/,
    )
  })

  it('a Cluster limiter rejects a call with shared quotas (a 503), never counting the key alone', async () => {
    let sent = 0
    const cluster = new RedisRateLimiter({
      client: { evalsha: () => ((sent += 1), Promise.resolve([1, 0, 0, 1, 1])), eval: () => Promise.reject(new Error('x')) },
      cluster: true,
    })
    await expect(cluster.limit({ key: 'k', rules: [rules], shared: [{ key: 'shared:org:o', rules: [rules] }], now: 0 })).rejects.toThrow(
      /Cluster cannot count shared quotas/,
    )
    expect(sent).toBe(0)
  })

  it('checks names, by and rules with a TypeError naming the option', () => {
    const make = (sharedQuotas: unknown) => () => createKeyward({ prefix: 'bsk', sharedQuotas: sharedQuotas as never })
    expect(make({})).toThrow(/sharedQuotas must be a list/)
    expect(make([{ name: 'a b', by: 'org', rules }])).toThrow(/sharedQuotas\[0\]\.name/)
    expect(
      make([
        { name: 'org', by: 'org', rules },
        { name: 'org', by: 'org', rules },
      ]),
    ).toThrow(/used twice/)
    expect(make([{ name: 'org', by: 'team', rules }])).toThrow(/sharedQuotas\[0\]\.by/)
    expect(make([{ name: 'org', by: 'org', rules: { limit: 0, windowMs: HOUR } }])).toThrow(/sharedQuotas\[0\]\.rules\.limit/)
    expect(make([{ name: 'org', by: 'org', rules: [rules, { limit: 2000, windowMs: HOUR, algorithm: 'sliding-window' }] }])).toThrow(
      /sharedQuotas\[0\]\.rules\[1\]\.limit must be at most 1000/,
    )
    expect(make([{ name: 'org', by: 'org', rules, extra: 1 }])).toThrow(/unknown option "extra"/)
    expect(make([{ name: 'org', by: 'org', rules }])).not.toThrow()
  })
})
