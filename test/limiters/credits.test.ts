import Redis from 'ioredis'
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it, vi } from 'vitest'
import {
  createKeyward,
  type KeywardError,
  MemoryRateLimiter,
  MemoryTokenStore,
  type TokenStore,
  type VerifyResult,
} from '../../src/index.js'
import { withFailurePolicy } from '../../src/limiters/failure-policy.js'
import type { RateLimiter } from '../../src/limiters/rate-limiter.js'
import { RedisRateLimiter } from '../../src/limiters/redis-rate-limiter.js'
import { manualClock } from '../support/clock.js'
import { bindStore } from '../support/setup.js'
import { CI, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const code = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code)
const headersOf = (r: VerifyResult) => (r.ok ? r.headers : r.error.headers)

const up = await redisAnswers()
if (!up) warnSkipped(`Redis on ${REDIS.host}:${REDIS.port}`, 'the credit tests on RedisRateLimiter')
const clients: Redis[] = []
afterAll(async () => {
  const admin = clients[0]
  if (admin !== undefined) {
    const keys = await admin.keys('kwtest:credits:*')
    if (keys.length > 0) await admin.del(...keys)
  }
  await Promise.all(clients.map((c) => c.quit()))
})
const redisLimiter = (options: { cluster?: boolean } = {}) => {
  const client = new Redis({ host: REDIS.host, port: REDIS.port, maxRetriesPerRequest: 1 })
  clients.push(client)
  return new RedisRateLimiter({ client, prefix: `kwtest:credits:${randomUUID()}:`, timeoutMs: 10_000, ...options })
}

const backends: Array<[string, () => RateLimiter, boolean]> = [['memory', () => new MemoryRateLimiter(), true]]
// Redis decides on its own clock: the refill tests, which move keyward's clock, are memory's alone.
if (up || CI) backends.push(['Redis', () => redisLimiter(), false], ['Redis, Cluster layout', () => redisLimiter({ cluster: true }), false])

function setup(limiter: RateLimiter, options: { lockout?: false } = {}) {
  const clock = manualClock()
  const kw = createKeyward({ prefix: 'bsk', store: new MemoryTokenStore(), limiter, now: clock.now, usageFlushMs: false, ...options })
  const call = (key: string, cost?: number, ip = '203.0.113.7') =>
    kw.verify({ headers: { authorization: `Bearer ${key}` }, ip, ...(cost === undefined ? {} : { cost }) })
  return { kw, clock, call }
}

function setupOn(limiter: RateLimiter, store: TokenStore, cache: { ttlMs: number } | false) {
  const kw = createKeyward({ prefix: 'bsk', store, limiter, usageFlushMs: false, cache })
  const call = (key: string, cost?: number) =>
    kw.verify({ headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.7', ...(cost === undefined ? {} : { cost }) })
  return { kw, call }
}

describe.each(backends)('usage credits on the %s limiter', (_name, makeLimiter, ownClock) => {
  it('spends one credit a request, says the balance in the auth, KeyInfo and a header, then refuses 402', async () => {
    const { kw, call } = setup(makeLimiter())
    const { key, info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 3 } })
    expect(info.credits).toStrictEqual({ remaining: 3, refill: null })
    const seen: Array<[string, unknown, unknown, string | undefined]> = []
    for (let i = 0; i < 4; i++) {
      const r = await call(key)
      seen.push([
        code(r),
        r.ok ? r.auth.credits : undefined,
        r.ok ? r.auth.key?.credits?.remaining : undefined,
        headersOf(r)['credits-remaining'],
      ])
    }
    expect(seen).toStrictEqual([
      ['ok', 2, 2, '2'],
      ['ok', 1, 1, '1'],
      ['ok', 0, 0, '0'],
      ['credits_exhausted', undefined, undefined, '0'],
    ])
    const refused = await call(key)
    expect(refused.ok).toBe(false)
    const error = (refused as { error: KeywardError }).error
    expect(error.status).toBe(402)
    // No refill: waiting will not help, so no Retry-After.
    expect(error.headers['retry-after']).toBeUndefined()
    expect(error.toJSON()).toMatchObject({ code: 'credits_exhausted', status: 402, title: 'Payment Required' })
    expect((await kw.keys.get(info.id))?.credits).toStrictEqual({ remaining: 0, refill: null })
    // The store was never written by a request: the balance set is still the one created.
    expect((await kw.keys.get(info.id, { credits: 'configured' }))?.credits).toStrictEqual({ remaining: 3, refill: null })
  })

  it('spends the cost given, 0 included, and a key without credits ignores it and shows none', async () => {
    const { kw, call } = setup(makeLimiter())
    const credited = (await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 10 } })).key
    const plain = (await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'] })).key
    expect(headersOf(await call(credited, 7))['credits-remaining']).toBe('3')
    expect(headersOf(await call(credited, 0))['credits-remaining']).toBe('3')
    expect(code(await call(credited, 4))).toBe('credits_exhausted')
    expect(headersOf(await call(credited, 3))['credits-remaining']).toBe('0')
    const free = await call(plain, 1_000_000)
    expect(code(free)).toBe('ok')
    expect(headersOf(free)).not.toHaveProperty('credits-remaining')
    expect(free.ok && 'credits' in free.auth).toBe(false)
    expect(free.ok && free.auth.key?.credits).toBeNull()
  })

  it('N concurrent requests at K < N credits: exactly K pass', async () => {
    const { kw, call } = setup(makeLimiter(), { lockout: false })
    const { key } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 25 } })
    const results = await Promise.all(Array.from({ length: 80 }, () => call(key)))
    expect(results.filter((r) => r.ok)).toHaveLength(25)
    expect(results.filter((r) => code(r) === 'credits_exhausted')).toHaveLength(55)
  })

  it('with a quota: a request the quota refuses spends nothing, one the credits refuse counts on no quota', async () => {
    const { kw, call } = setup(makeLimiter())
    const { key, info } = await kw.keys.create({
      name: 'k',
      orgId: 'o',
      projects: ['p'],
      rateLimit: { limit: 2, windowMs: HOUR },
      credits: { remaining: 5 },
    })
    expect([code(await call(key)), code(await call(key)), code(await call(key))]).toStrictEqual(['ok', 'ok', 'rate_limited'])
    expect((await kw.keys.get(info.id))?.credits?.remaining).toBe(3)
    const other = await kw.keys.create({
      name: 'k',
      orgId: 'o',
      projects: ['p'],
      rateLimit: { limit: 2, windowMs: HOUR },
      credits: { remaining: 1 },
    })
    const refused = await call(other.key, 2)
    expect(code(refused)).toBe('credits_exhausted')
    // The quota counted nothing: its header still shows both calls left.
    expect(headersOf(refused).ratelimit).toBe('"default";r=2;t=0')
    expect(headersOf(refused)['credits-remaining']).toBe('1')
  })

  it('a set replaces the balance at once; a top-up adds to the running one; null removes the credits', async () => {
    const { kw, call } = setup(makeLimiter())
    const { key, info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 2 } })
    await call(key)
    await call(key)
    expect(code(await call(key))).toBe('credits_exhausted')
    const set = await kw.keys.update(info.id, { credits: { remaining: 5 } })
    expect(set.credits).toStrictEqual({ remaining: 5, refill: null })
    expect(headersOf(await call(key))['credits-remaining']).toBe('4')
    const topped = await kw.keys.update(info.id, { credits: { add: 10 } })
    expect(topped.credits).toStrictEqual({ remaining: 14, refill: null })
    expect(headersOf(await call(key))['credits-remaining']).toBe('13')
    expect((await kw.keys.get(info.id))?.credits?.remaining).toBe(13)
    await kw.keys.update(info.id, { credits: null })
    const free = await call(key, 100)
    expect(code(free)).toBe('ok')
    expect(headersOf(free)).not.toHaveProperty('credits-remaining')
    // Set again after removal: a newer epoch still, so the limiter takes the new balance.
    await kw.keys.update(info.id, { credits: { remaining: 1 } })
    expect(headersOf(await call(key))['credits-remaining']).toBe('0')
  })

  it('a top-up past 2^53 is 400, nothing written; of racing top-ups that together pass it, one lands, the other writes none', async () => {
    const { kw, clock } = setup(makeLimiter())
    const { info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 1e15 } })
    for (let i = 0; i < 7; i++) await kw.keys.update(info.id, { credits: { add: 1e15 } })
    await kw.keys.update(info.id, { credits: { add: 5e14 } })
    const stored = async () => {
      const now = await kw.keys.get(info.id)
      return { remaining: now?.credits?.remaining, updatedAt: now?.updatedAt.getTime(), name: now?.name }
    }
    const before = await stored()
    expect(before.remaining).toBe(8.5e15)
    // Any write would show: the clock has moved since the key was last written.
    clock.advance(1000)
    const overflow = { code: 'validation_failed', status: 400, errors: [{ field: 'credits.add' }] }
    await expect(kw.keys.update(info.id, { credits: { add: 6e14 } })).rejects.toMatchObject(overflow)
    await expect(kw.keys.update(info.id, { name: 'renamed', credits: { add: 6e14 } })).rejects.toMatchObject(overflow)
    expect(await stored()).toStrictEqual(before)
    // Each fits alone (8.5e15 + 5e14 < 2^53), both do not: the limiter takes one whole and refuses the other.
    const race = await Promise.allSettled([
      kw.keys.update(info.id, { credits: { add: 5e14 } }),
      kw.keys.update(info.id, { credits: { add: 5e14 } }),
    ])
    expect(race.map((r) => r.status).sort()).toStrictEqual(['fulfilled', 'rejected'])
    expect((race.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject(overflow)
    expect(await stored()).toStrictEqual({ ...before, remaining: 9e15 })
  })

  it('a top-up sent with other changes is 400 on credits.add, nothing written (each update all or nothing)', async () => {
    const { kw, clock } = setup(makeLimiter())
    const { info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 10 } })
    const stored = async () => {
      const now = await kw.keys.get(info.id)
      return { remaining: now?.credits?.remaining, updatedAt: now?.updatedAt.getTime(), name: now?.name, scopes: now?.scopes }
    }
    const before = await stored()
    clock.advance(1000)
    for (const other of [{ name: 'renamed' }, { scopes: ['read', 'write'] }, { metadata: { a: 1 } }, { expiresAt: null }]) {
      await expect(kw.keys.update(info.id, { ...other, credits: { add: 5 } })).rejects.toMatchObject({
        code: 'validation_failed',
        status: 400,
        errors: [{ field: 'credits.add', message: expect.stringMatching(/on its own/) }],
      })
    }
    expect(await stored()).toStrictEqual(before)
    // Sent apart, both land.
    await kw.keys.update(info.id, { name: 'renamed' })
    await kw.keys.update(info.id, { credits: { add: 5 } })
    expect(await stored()).toMatchObject({ remaining: 15, name: 'renamed' })
  })

  it('a rotated key keeps spending its chain’s balance', async () => {
    const { kw, call } = setup(makeLimiter())
    const { key, info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 3 } })
    await call(key)
    const rotated = await kw.keys.rotate(info.id, { gracePeriodMs: HOUR })
    expect(headersOf(await call(rotated.key))['credits-remaining']).toBe('1')
    expect(headersOf(await call(key))['credits-remaining']).toBe('0')
    expect(code(await call(rotated.key))).toBe('credits_exhausted')
  })

  it('a rotated predecessor in its grace period never refills the successor’s downgraded balance with its old refill', async () => {
    const { kw, call } = setup(makeLimiter())
    const plan = { remaining: 1000, refill: { amount: 1000, intervalMs: 1000 } }
    const { key, info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: plan })
    const rotated = await kw.keys.rotate(info.id, { gracePeriodMs: DAY })
    await kw.keys.update(rotated.info.id, { credits: { remaining: 1, refill: null } })
    expect(code(await call(rotated.key))).toBe('ok')
    // The predecessor's record keeps the old plan's refill: it spends from the successor's balance, never refills it.
    const viaOld = await call(key, 0)
    expect([code(viaOld), viaOld.ok ? viaOld.auth.credits : undefined]).toStrictEqual(['ok', 0])
    expect(code(await call(key))).toBe('credits_exhausted')
    expect(code(await call(rotated.key))).toBe('credits_exhausted')
    expect((await kw.keys.get(rotated.info.id))?.credits?.remaining).toBe(0)
  })

  it('an instance with a stale cached record neither refills a cut-off key nor spends the balance it replaced', async () => {
    const limiter = makeLimiter()
    const store = new MemoryTokenStore()
    // Instance a reads through a store without an invalidation feed: its cached record stays stale.
    const a = setupOn(limiter, bindStore(store), { ttlMs: 60_000 })
    const b = setupOn(limiter, store, false)
    const withRefill = await b.kw.keys.create({
      name: 'k',
      orgId: 'o',
      projects: ['p'],
      credits: { remaining: 1000, refill: { amount: 1000, intervalMs: 1000 } },
    })
    const noRefill = await b.kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 1000 } })
    for (const { key } of [withRefill, noRefill]) expect(code(await a.call(key))).toBe('ok') // cached on a at epoch 1
    // Cut off to 0 without refill, refused at once through b: the cut-off is held from then on.
    for (const { info } of [withRefill, noRefill]) await b.kw.keys.update(info.id, { credits: { remaining: 0, refill: null } })
    for (const { key } of [withRefill, noRefill]) {
      expect(code(await b.call(key))).toBe('credits_exhausted')
      expect(code(await a.call(key))).toBe('credits_exhausted')
      expect(code(await b.call(key))).toBe('credits_exhausted')
    }
  })

  it.skipIf(!ownClock)('refills to the amount at each interval (UTC-aligned), with Retry-After until then', async () => {
    const { kw, clock, call } = setup(makeLimiter())
    clock.set(Date.UTC(2026, 10, 22, 18, 0, 0))
    const { key } = await kw.keys.create({
      name: 'k',
      orgId: 'o',
      projects: ['p'],
      credits: { remaining: 1, refill: { amount: 3, intervalMs: DAY } },
    })
    expect(code(await call(key))).toBe('ok')
    const refused = await call(key)
    expect(code(refused)).toBe('credits_exhausted')
    // Six hours to midnight UTC.
    expect(headersOf(refused)['retry-after']).toBe(String(6 * 3600))
    clock.set(Date.UTC(2026, 10, 23, 0, 0, 0))
    expect(headersOf(await call(key))['credits-remaining']).toBe('2')
    // A cost above the refill amount will never be covered: no Retry-After.
    const never = await call(key, 4)
    expect(code(never)).toBe('credits_exhausted')
    expect(headersOf(never)['retry-after']).toBeUndefined()
  })
})

describe('usage credits: input', () => {
  const bad: Array<[string, unknown]> = [
    ['a negative balance', { remaining: -1 }],
    ['a fractional balance', { remaining: 1.5 }],
    ['NaN', { remaining: Number.NaN }],
    ['a huge balance', { remaining: 1e16 }],
    ['a balance as text', { remaining: '5' }],
    ['no balance', {}],
    ['an unknown field', { remaining: 5, bonus: 1 }],
    ['a refill too short', { remaining: 5, refill: { amount: 5, intervalMs: 999 } }],
    ['a refill too long', { remaining: 5, refill: { amount: 5, intervalMs: 367 * DAY } }],
    ['a negative refill', { remaining: 5, refill: { amount: -5, intervalMs: DAY } }],
    ['a refill with an unknown field', { remaining: 5, refill: { amount: 5, intervalMs: DAY, at: 0 } }],
    ['a top-up on create', { add: 5 }],
    ['a list', [5]],
  ]
  for (const [what, credits] of bad) {
    it(`refuses ${what} on create, storing nothing`, async () => {
      const { kw } = setup(new MemoryRateLimiter())
      await expect(kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: credits as never })).rejects.toMatchObject({
        code: 'validation_failed',
      })
      expect(await kw.keys.list({ orgId: 'o' })).toStrictEqual([])
    })
  }

  it('refuses bad updates, changing nothing: a bad top-up, a top-up with other fields, a top-up of a key without credits', async () => {
    const { kw } = setup(new MemoryRateLimiter())
    const { info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 5 } })
    const plain = (await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'] })).info
    for (const credits of [{ add: 0 }, { add: -1 }, { add: 1.5 }, { add: 1e16 }, { add: 1, remaining: 5 }])
      await expect(kw.keys.update(info.id, { credits: credits as never })).rejects.toMatchObject({ code: 'validation_failed' })
    await expect(kw.keys.update(plain.id, { credits: { add: 5 } })).rejects.toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'credits.add' }],
    })
    expect((await kw.keys.get(info.id))?.credits).toStrictEqual({ remaining: 5, refill: null })
    expect((await kw.keys.get(info.id))?.updatedAt).toStrictEqual(info.updatedAt)
    expect((await kw.keys.get(plain.id))?.credits).toBeNull()
  })

  it('verify() refuses a cost that is not a non-negative safe integer with a TypeError', async () => {
    const { kw } = setup(new MemoryRateLimiter())
    const { key } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 5 } })
    for (const cost of [-1, 1.5, Number.NaN, '1', 2 ** 60])
      await expect(kw.verify({ headers: { authorization: `Bearer ${key}` }, cost: cost as never })).rejects.toThrow(TypeError)
  })
})

describe('usage credits: limiters that cannot hold them fail closed', () => {
  // A limiter that counts quotas but says nothing of credits (a custom one, or an older keyward's).
  function quotaOnly(): RateLimiter {
    const inner = new MemoryRateLimiter()
    return { limit: (r) => inner.limit(r), recordFailure: (...a) => inner.recordFailure(...a) }
  }

  it('kw.keys.create and update refuse credits up front', async () => {
    const { kw } = setup(quotaOnly())
    await expect(kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 5 } })).rejects.toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'credits' }],
    })
    const { info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'] })
    await expect(kw.keys.update(info.id, { credits: { remaining: 5 } })).rejects.toMatchObject({ code: 'validation_failed' })
    expect(await kw.keys.list({ orgId: 'o' })).toHaveLength(1)
  })

  it('a key with credits in the store is refused 503, and the app is told once', async () => {
    const store = new MemoryTokenStore()
    const writer = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
    const { key } = await writer.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 5 } })
    const errors: unknown[] = []
    const kw = createKeyward({ prefix: 'bsk', store, limiter: quotaOnly(), usageFlushMs: false, onBackgroundError: (e) => errors.push(e) })
    for (let i = 0; i < 3; i++) expect(code(await kw.verify({ headers: { authorization: `Bearer ${key}` } }))).toBe('store_unavailable')
    expect(errors).toHaveLength(1)
    expect(String(errors[0])).toMatch(/limiter cannot spend credits/)
  })

  it('withFailurePolicy open or memory: a failing limiter lets keys without credits through, never a key with credits', async () => {
    for (const quota of ['open', 'memory'] as const) {
      const broken = new MemoryRateLimiter()
      let failing = false
      const flaky: RateLimiter = {
        credits: true,
        adjustCredits: (a) => broken.adjustCredits(a),
        limit: (r) => (failing ? Promise.reject(new Error('down')) : broken.limit(r)),
        recordFailure: (...a) => broken.recordFailure(...a),
      }
      const { kw, call } = setup(withFailurePolicy(flaky, { quota }), { lockout: false })
      const credited = (await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 5 } })).key
      const plain = (await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], rateLimit: { limit: 5, windowMs: HOUR } })).key
      failing = true
      expect(code(await call(plain))).toBe('ok')
      expect(code(await call(credited))).toBe('store_unavailable')
    }
  })

  it('a limiter that claims credits but answers no balance is a 503, never a pass', async () => {
    const inner = new MemoryRateLimiter()
    const liar: RateLimiter = {
      credits: true,
      adjustCredits: (a) => inner.adjustCredits(a),
      limit: async () => ({ allowed: true, blocked: false, retryAfterMs: 0, rules: [] }),
      recordFailure: (...a) => inner.recordFailure(...a),
    }
    const { kw, call } = setup(liar)
    const { key } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 5 } })
    expect(code(await call(key))).toBe('store_unavailable')
  })
})

describe('usage credits: a per-process limiter over a shared store says so', () => {
  const shared = () => bindStore(new MemoryTokenStore()) // any store but MemoryTokenStore counts as shared
  it('warns once per instance, through onBackgroundError, on create, update or verify of a key with credits', async () => {
    const store = shared()
    const told: string[][] = [[], []]
    const [a, b] = told.map((list) =>
      createKeyward({ prefix: 'bsk', store, usageFlushMs: false, onBackgroundError: (e) => list.push((e as Error).message) }),
    )
    const free = await a!.keys.create({ name: 'free', orgId: 'o', projects: ['p'] })
    expect((await a!.verify({ headers: { authorization: `Bearer ${free.key}` } })).ok).toBe(true)
    expect(told[0]).toStrictEqual([]) // keys without credits: nothing to say
    const { key, info } = await a!.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 3 } })
    await a!.keys.update(info.id, { credits: { add: 1 } })
    for (let i = 0; i < 3; i++) await a!.verify({ headers: { authorization: `Bearer ${key}` } })
    expect(told[0]).toHaveLength(1)
    expect(told[0]![0]).toMatch(/MemoryRateLimiter with a shared store.*each instance and each restart spends the whole balance/)
    expect(told[1]).toStrictEqual([])
    for (let i = 0; i < 2; i++) await b!.verify({ headers: { authorization: `Bearer ${key}` } })
    expect(told[1]).toHaveLength(1)
  })

  it('without onBackgroundError, warns on the console; never with a MemoryTokenStore or a shared limiter', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const loud = createKeyward({ prefix: 'bsk', store: shared(), usageFlushMs: false })
      await loud.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 3 } })
      await loud.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 3 } })
      expect(warn).toHaveBeenCalledTimes(1)
      expect(String(warn.mock.calls[0]![0])).toMatch(/MemoryRateLimiter with a shared store/)
      warn.mockClear()
      const local = createKeyward({ prefix: 'bsk', store: new MemoryTokenStore(), usageFlushMs: false })
      const { key } = await local.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 3 } })
      await local.verify({ headers: { authorization: `Bearer ${key}` } })
      if (up) {
        const other = createKeyward({ prefix: 'bsk', store: shared(), limiter: redisLimiter(), usageFlushMs: false })
        const created = await other.keys.create({ name: 'k', orgId: 'o', projects: ['p'], credits: { remaining: 3 } })
        await other.verify({ headers: { authorization: `Bearer ${created.key}` } })
      }
      expect(warn).not.toHaveBeenCalled()
    } finally {
      warn.mockRestore()
    }
  })
})
