/**
 * Faults in the store and the limiter, injected by wrappers around the real in-memory ones:
 * every outcome is a documented status (503 `store_unavailable`, or what the configured
 * failure policy says), nothing stored is half-changed, and no rejection goes unhandled.
 * Timeouts (latency past them, hangs) are exercised against the real backends in
 * faults-backends.test.ts, since the timeouts live there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, MemoryRateLimiter, withFailurePolicy, type KeywardOptions, type RateLimiter } from 'keyward'
import { generateKey } from '../../src/keys/format.js'
import { manualClock } from '../support/clock.js'
import { FaultPlan, faultyLimiter, faultyStore, watchUnhandledRejections, type Fault } from './support/faults.js'
import { RecordingStore } from './support/recording-store.js'

const unhandled = watchUnhandledRejections()
afterAll(async () => {
  // Late work of half-completed calls settles within a tick or two; then nothing may be left.
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(unhandled.stop()).toEqual([])
})

type WrapLimiter = (inner: RateLimiter, plan: FaultPlan) => RateLimiter

function harness(options: { wrapLimiter?: WrapLimiter } & Omit<Partial<KeywardOptions>, 'limiter'> = {}) {
  const { wrapLimiter, ...rest } = options
  const store = new RecordingStore()
  const storePlan = new FaultPlan()
  const limiterPlan = new FaultPlan()
  const innerLimiter = new MemoryRateLimiter()
  const clock = manualClock()
  const kw = createKeyward({
    prefix: 'bsk',
    now: clock.now,
    usageFlushMs: false,
    cache: false,
    store: faultyStore(store, storePlan),
    limiter: (wrapLimiter ?? faultyLimiter)(innerLimiter, limiterPlan),
    ...rest,
  })
  const mint = async (input: Record<string, unknown> = {}) =>
    (await kw.keys.create({ name: 'faults', orgId: 'org_1', projects: ['prod-site'], ...input })).key
  const call = (key: string, ip = '198.51.100.7') => kw.verify({ headers: { authorization: `Bearer ${key}` }, ip })
  return { kw, store, storePlan, limiterPlan, innerLimiter, clock, mint, call }
}

interface FaultCase {
  name: string
  target: 'store' | 'limiter'
  method: string
  fault: Fault
  /** Present the valid key (else a forged, well-formed unknown one). */
  valid: boolean
  expect: number
}

const CASES: FaultCase[] = [
  { name: 'store lookup rejects', target: 'store', method: 'findById', fault: 'reject', valid: true, expect: 503 },
  { name: 'store lookup rejects, unknown key', target: 'store', method: 'findById', fault: 'reject', valid: false, expect: 503 },
  {
    name: 'store lookup returns a torn record (string time)',
    target: 'store',
    method: 'findById',
    fault: 'torn',
    valid: true,
    expect: 503,
  },
  {
    name: 'store lookup completes, then the connection drops',
    target: 'store',
    method: 'findById',
    fault: 'half',
    valid: true,
    expect: 503,
  },
  { name: 'quota check rejects', target: 'limiter', method: 'limit', fault: 'reject', valid: true, expect: 503 },
  { name: 'quota check counts, then rejects', target: 'limiter', method: 'limit', fault: 'half', valid: true, expect: 503 },
  {
    name: 'failure count rejects (lockout fails closed)',
    target: 'limiter',
    method: 'recordFailure',
    fault: 'reject',
    valid: false,
    expect: 503,
  },
  { name: 'failure count counts, then rejects', target: 'limiter', method: 'recordFailure', fault: 'half', valid: false, expect: 503 },
  {
    name: 'store writes failing do not matter to verify() (the hot path writes nothing)',
    target: 'store',
    method: 'update',
    fault: 'reject',
    valid: true,
    expect: 200,
  },
]

describe('faults under verify(): a documented status, nothing written', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const h = harness({ defaultRateLimit: { limit: 100, windowMs: 60_000 } })
    const key = await h.mint()
    const forged = generateKey('bsk', 'live').key
    ;(c.target === 'store' ? h.storePlan : h.limiterPlan).set(c.method, c.fault)
    const before = await h.store.snapshot()
    const result = await h.call(c.valid ? key : forged)
    expect(result.ok ? 200 : result.error.status).toBe(c.expect)
    if (!result.ok && c.expect === 503) {
      expect(result.error.code).toBe('store_unavailable')
      expect(result.error.headers['retry-after']).toBe('1')
      // The cause is kept for the application's logs, never put in the response body.
      expect(JSON.stringify(result.error.toJSON())).not.toContain('injected')
    }
    expect(await h.store.snapshot()).toEqual(before)
    // Once the fault is gone, the same request is answered normally.
    h.storePlan.clear()
    h.limiterPlan.clear()
    const after = await h.call(c.valid ? key : forged)
    expect(after.ok ? 200 : after.error.status).toBe(c.valid ? 200 : 401)
  })

  it('a quota check that counted and then failed stays counted (fail closed, never a free call)', async () => {
    const h = harness({ defaultRateLimit: { limit: 2, windowMs: 60_000 } })
    const key = await h.mint()
    h.limiterPlan.set('limit', 'half')
    const failed = await h.call(key)
    expect(failed.ok ? 200 : failed.error.status).toBe(503)
    h.limiterPlan.clear()
    expect((await h.call(key)).ok).toBe(true)
    const third = await h.call(key)
    expect(third.ok ? 200 : third.error.code).toBe('rate_limited')
  })
})

describe('faults under a failure policy (withFailurePolicy)', () => {
  const policy =
    (quota: 'open' | 'memory'): WrapLimiter =>
    (inner, plan) =>
      withFailurePolicy(faultyLimiter(inner, plan), { quota })

  it("'open', lockout off: a failing quota check lets the call through, without RateLimit headers", async () => {
    const h = harness({ wrapLimiter: policy('open'), lockout: false, defaultRateLimit: { limit: 1, windowMs: 60_000 } })
    const key = await h.mint()
    h.limiterPlan.set('limit', 'reject')
    for (let i = 0; i < 3; i++) {
      const result = await h.call(key)
      expect(result.ok).toBe(true)
      if (result.ok) expect(result.headers).toEqual({})
    }
  })

  it("'open', lockout on: the block cannot be checked either, so 503 (lockout fails closed)", async () => {
    const h = harness({ wrapLimiter: policy('open'), defaultRateLimit: { limit: 5, windowMs: 60_000 } })
    const key = await h.mint()
    h.limiterPlan.set('limit', 'reject')
    const result = await h.call(key)
    expect(result.ok ? 200 : result.error.code).toBe('store_unavailable')
  })

  it("'memory', lockout off: the fallback limiter enforces the quota exactly", async () => {
    const h = harness({ wrapLimiter: policy('memory'), lockout: false, defaultRateLimit: { limit: 3, windowMs: 60_000 } })
    const key = await h.mint()
    h.limiterPlan.set('limit', 'reject')
    const outcomes = []
    for (let i = 0; i < 5; i++) {
      const result = await h.call(key)
      outcomes.push(result.ok ? 200 : result.error.status)
    }
    expect(outcomes).toEqual([200, 200, 200, 429, 429])
  })

  it("'open': a failing failure count is still a 503 (lockout always fails closed)", async () => {
    const h = harness({ wrapLimiter: policy('open') })
    await h.mint()
    h.limiterPlan.set('recordFailure', 'reject')
    const result = await h.call(generateKey('bsk', 'live').key)
    expect(result.ok ? 200 : result.error.code).toBe('store_unavailable')
  })
})

describe('faults under key management: nothing half-done that matters', () => {
  it('create: the insert fails, nothing is stored and no key is handed out', async () => {
    const h = harness()
    await h.mint()
    const before = await h.store.snapshot()
    h.storePlan.set('insert', 'reject')
    await expect(h.mint()).rejects.toMatchObject({ code: 'store_unavailable', status: 503 })
    expect((await h.store.snapshot()).records).toEqual(before.records)
  })

  it('rotate: the old key is not retired when the retirement fails; the new one was never shown', async () => {
    const h = harness()
    const key = await h.mint()
    h.storePlan.set('update', 'reject')
    await expect(h.kw.keys.rotate(key.slice(9, 17))).rejects.toMatchObject({ code: 'store_unavailable' })
    h.storePlan.clear()
    expect((await h.call(key)).ok).toBe(true)
    const old = (await h.store.snapshot()).records.find((r) => r.id === key.slice(9, 17))!
    expect(old).toMatchObject({ revokedAt: null, rotatedTo: null })
  })

  it('revoke: a revocation written but reported failed holds at once, even with a warm cache and a store announcing nothing', async () => {
    // Cache on, and the faulty store has no subscribe(): only keyward's own invalidation protects.
    const h = harness({ cache: { ttlMs: 30_000 } })
    const key = await h.mint()
    const id = key.slice(9, 17)
    expect((await h.call(key)).ok).toBe(true) // now cached
    h.storePlan.set('update', 'half')
    await expect(h.kw.keys.revoke(id)).rejects.toMatchObject({ code: 'store_unavailable' })
    h.storePlan.clear()
    const afterFailure = await h.call(key)
    expect(afterFailure.ok ? 200 : afterFailure.error.code).toBe('invalid_token')
    // The retry finds it revoked and says so; the key stays refused.
    await expect(h.kw.keys.revoke(id)).resolves.toMatchObject({ id })
    const afterRetry = await h.call(key)
    expect(afterRetry.ok ? 200 : afterRetry.error.code).toBe('invalid_token')
  })
})

describe('no unhandled rejection from late or abandoned work', () => {
  let h: ReturnType<typeof harness>
  beforeAll(() => {
    h = harness()
  })

  it('many concurrent requests over a store that rejects some and completes others half', async () => {
    const key = await h.mint()
    const outcomes = new Map<number, number>()
    for (let round = 0; round < 20; round++) {
      h.storePlan.set('findById', (['reject', 'half', 'torn', 'none'] as const)[round % 4]!)
      const results = await Promise.all(Array.from({ length: 25 }, () => h.call(key)))
      for (const r of results) {
        const status = r.ok ? 200 : r.error.status
        outcomes.set(status, (outcomes.get(status) ?? 0) + 1)
      }
    }
    expect([...outcomes.keys()].sort()).toEqual([200, 503])
  })
})
