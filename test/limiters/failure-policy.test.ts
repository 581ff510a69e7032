import { describe, expect, it } from 'vitest'
import { createKeyward, MemoryTokenStore } from '../../src/index.js'
import { withFailurePolicy, type QuotaFailurePolicy } from '../../src/limiters/failure-policy.js'
import { MemoryRateLimiter } from '../../src/limiters/memory-rate-limiter.js'
import type { LimitRequest, LimitResult, RateLimiter } from '../../src/limiters/rate-limiter.js'

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0)
const RULE = { limit: 3, windowMs: 60_000 }
const LOCKOUT = { maxFailures: 2, windowMs: 60_000 }

/**
 * A limiter that fails as told: `quota` breaks calls with rules, `block` breaks block-only
 * calls (`rules: []`), `blocked` makes the block-only answer a block. Records every call.
 */
function broken({ quota = true, block = true, blocked = false, sync = false } = {}) {
  const calls: LimitRequest[] = []
  const down = () => {
    const error = new Error('ECONNREFUSED 127.0.0.1:6379')
    if (sync) throw error
    return Promise.reject(error)
  }
  const limiter: RateLimiter = {
    limit(request) {
      calls.push(request)
      const quotaPart = request.rules.length > 0
      if (quotaPart ? quota : block) return down()
      if (!quotaPart && blocked) return Promise.resolve({ allowed: false, blocked: true, retryAfterMs: 42_000, rules: [] })
      return Promise.resolve({ allowed: true, blocked: false, retryAfterMs: 0, rules: [] })
    },
    recordFailure: () => down(),
  }
  return { limiter, calls }
}

const request = (blockKey?: string): LimitRequest => ({ key: 'AbCd1234', rules: [RULE], blockKey, now: T0 })
const POLICIES: QuotaFailurePolicy[] = ['closed', 'open', 'memory']

describe('withFailurePolicy: lockout always fails closed', () => {
  it.each(POLICIES)('%s: recordFailure rejects when the limiter does', async (quota) => {
    const wrapped = withFailurePolicy(broken().limiter, { quota })
    await expect(wrapped.recordFailure('203.0.113.7', LOCKOUT, T0)).rejects.toThrow('ECONNREFUSED')
  })

  it.each(POLICIES)('%s: limit with a blockKey rejects when the block cannot be checked', async (quota) => {
    const { limiter, calls } = broken()
    await expect(withFailurePolicy(limiter, { quota }).limit(request('203.0.113.7'))).rejects.toThrow('ECONNREFUSED')
    // closed gives up at once; the others asked for the block alone before giving up.
    expect(calls.map((c) => c.rules.length)).toEqual(quota === 'closed' ? [1] : [1, 0])
  })

  it.each(['open', 'memory'] as const)('%s: a blocked address stays blocked when only the quota part fails', async (quota) => {
    const { limiter } = broken({ quota: true, block: false, blocked: true })
    expect(await withFailurePolicy(limiter, { quota }).limit(request('203.0.113.7'))).toEqual({
      allowed: false,
      blocked: true,
      retryAfterMs: 42_000,
      rules: [],
    })
  })

  it('a limiter that throws rather than rejects is treated the same', async () => {
    const { limiter } = broken({ sync: true })
    const wrapped = withFailurePolicy(limiter, { quota: 'open' })
    await expect(wrapped.limit(request('203.0.113.7'))).rejects.toThrow('ECONNREFUSED')
    await expect(wrapped.recordFailure('203.0.113.7', LOCKOUT, T0)).rejects.toThrow('ECONNREFUSED')
  })
})

describe('withFailurePolicy: quotas follow the policy', () => {
  it('closed (the default): the quota failure rejects, so keyward answers 503', async () => {
    for (const wrapped of [withFailurePolicy(broken().limiter), withFailurePolicy(broken().limiter, { quota: 'closed' })]) {
      await expect(wrapped.limit(request())).rejects.toThrow('ECONNREFUSED')
    }
  })

  it('open: allowed, with no rule states (no RateLimit values to report)', async () => {
    const wrapped = withFailurePolicy(broken().limiter, { quota: 'open' })
    for (let i = 0; i < 10; i++)
      expect(await wrapped.limit(request())).toEqual({ allowed: true, blocked: false, retryAfterMs: 0, rules: [] })
    // With an address whose block is checked and not set.
    expect(await withFailurePolicy(broken({ block: false }).limiter, { quota: 'open' }).limit(request('203.0.113.7'))).toEqual({
      allowed: true,
      blocked: false,
      retryAfterMs: 0,
      rules: [],
    })
  })

  it('memory: decided by a MemoryRateLimiter, the same answers as one used directly', async () => {
    const wrapped = withFailurePolicy(broken({ block: false }).limiter, { quota: 'memory' })
    const reference = new MemoryRateLimiter()
    for (let i = 0; i < 5; i++) {
      const expected = reference.limitSync({ ...request(), now: T0 })
      expect(await wrapped.limit(request(i % 2 === 0 ? '203.0.113.7' : undefined))).toEqual(expected)
    }
    expect((await wrapped.limit(request())).allowed).toBe(false)
  })

  it('memory: uses the fallback given', async () => {
    const fallback = new MemoryRateLimiter({ maxKeys: 10 })
    for (let i = 0; i < 3; i++) fallback.limitSync(request())
    const wrapped = withFailurePolicy(broken().limiter, { quota: 'memory', fallback })
    expect(await wrapped.limit(request())).toMatchObject({ allowed: false, blocked: false })
  })

  it('a limiter that answers is passed through untouched, denials included', async () => {
    const answer: LimitResult = {
      allowed: false,
      blocked: false,
      retryAfterMs: 500,
      rules: [{ rule: RULE, remaining: 0, resetMs: 60_000 }],
    }
    const block = { blocked: true, retryAfterMs: 1000 }
    const healthy: RateLimiter = { limit: () => Promise.resolve(answer), recordFailure: () => Promise.resolve(block) }
    for (const quota of POLICIES) {
      const wrapped = withFailurePolicy(healthy, { quota })
      expect(await wrapped.limit(request('203.0.113.7'))).toBe(answer)
      expect(await wrapped.recordFailure('203.0.113.7', LOCKOUT, T0)).toBe(block)
    }
  })

  it('validates its options eagerly with a TypeError', () => {
    const { limiter } = broken()
    expect(() => withFailurePolicy(null as never)).toThrow(TypeError)
    expect(() => withFailurePolicy({} as never)).toThrow(TypeError)
    expect(() => withFailurePolicy(limiter, { quota: 'fail-open' as never })).toThrow(TypeError)
    expect(() => withFailurePolicy(limiter, { quota: 'open', fallback: new MemoryRateLimiter() })).toThrow(TypeError)
    expect(() => withFailurePolicy(limiter, { quota: 'memory', fallback: {} as never })).toThrow(TypeError)
    expect(() => withFailurePolicy(limiter, { quota: 'memory', fallback: new MemoryRateLimiter() })).not.toThrow()
  })
})

describe('withFailurePolicy through verify()', () => {
  async function setup(quota: QuotaFailurePolicy, lockout: false | typeof LOCKOUT, failing = broken()) {
    const store = new MemoryTokenStore()
    const kw = createKeyward({
      prefix: 'bsk',
      store,
      usageFlushMs: false,
      now: () => T0,
      lockout,
      limiter: withFailurePolicy(failing.limiter, { quota }),
    })
    const { key } = await kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['p'], rateLimit: RULE })
    return (ip = '203.0.113.7') => kw.verify({ headers: { authorization: `Bearer ${key}` }, ip })
  }

  it('limiter down, lockout on: 503 under every policy', async () => {
    for (const quota of POLICIES) {
      const result = await (await setup(quota, LOCKOUT))()
      expect(result.ok ? 'ok' : result.error.code, quota).toBe('store_unavailable')
    }
  })

  it('limiter down, lockout off: closed 503, open passes, memory counts in process', async () => {
    const closed = await (await setup('closed', false))()
    expect(closed.ok ? 'ok' : closed.error.status).toBe(503)
    const open = await setup('open', false)
    for (let i = 0; i < 5; i++) expect((await open()).ok).toBe(true)
    const memory = await setup('memory', false)
    const codes = []
    for (let i = 0; i < 4; i++) {
      const r = await memory()
      codes.push(r.ok ? 'ok' : r.error.code)
    }
    expect(codes).toEqual(['ok', 'ok', 'ok', 'rate_limited'])
  })

  it('quota part down, block known: open and memory keep serving, with lockout on', async () => {
    const open = await setup('open', LOCKOUT, broken({ block: false }))
    expect((await open()).ok).toBe(true)
    const blocked = await setup('memory', LOCKOUT, broken({ block: false, blocked: true }))
    const r = await blocked()
    expect(r.ok ? 'ok' : r.error.code).toBe('ip_blocked')
  })
})
