/**
 * Lockout through each adapter over real HTTP: spoofed forwarding headers and fresh addresses
 * inside one IPv6 /64 do not escape it, and a block refuses valid keys too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore, type Keyward, type LimitRequest, type VerifyResult } from 'keyward'
import { generateKey } from '../../src/keys/format.js'
import { ADAPTERS, serve, type Served } from './support/apps.js'
import { rawRequest } from './support/raw-http.js'
import { RecordingStore } from './support/recording-store.js'

describe.each(ADAPTERS)('lockout through %s over HTTP', (_name, build) => {
  const store = new RecordingStore()
  let kw: Keyward
  let key: string
  const servers: Served[] = []

  beforeAll(async () => {
    kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, lockout: { maxFailures: 5, windowMs: 60_000 } })
    key = (await kw.keys.create({ name: 'lockout', orgId: 'org_1', projects: ['prod-site'], scopes: ['read'] })).key
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  const get = (server: Served, credential: string, forwardedFor: string) =>
    rawRequest(server.url, '/api/projects/prod-site/data', [
      ['X-API-Key', credential],
      ['X-Forwarded-For', forwardedFor],
    ])

  it('no proxy trusted: a new spoofed X-Forwarded-For on every attempt does not escape the block', async () => {
    const server = await serve(build, kw)
    servers.push(server)
    const before = await store.snapshot()
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await get(server, generateKey('bsk', 'live').key, `198.51.100.${i}`)).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401])
    const blocked = await get(server, key, '203.0.113.99')
    expect([blocked.status, blocked.body.code]).toEqual([429, 'ip_blocked'])
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0)
    expect(await store.snapshot()).toEqual(before)
  })

  it('behind a trusted proxy: rotating addresses within one IPv6 /64 does not escape the block', async () => {
    const server = await serve(build, kw, ['127.0.0.1'])
    servers.push(server)
    for (let i = 1; i <= 5; i++)
      expect((await get(server, generateKey('bsk', 'live').key, `2001:db8:5:6::${i.toString(16)}`)).status).toBe(401)
    const blocked = await get(server, key, '2001:db8:5:6:ffff::1')
    expect([blocked.status, blocked.body.code]).toEqual([429, 'ip_blocked'])
    // Another /64 is another subscriber.
    expect((await get(server, key, '2001:db8:5:7::1')).status).toBe(200)
  })
})

/**
 * Lockout under concurrency (issue 12.7): failures that arrive together are bounded as if they had
 * come one after another. Calls are started in one synchronous loop, so the order in which they
 * reach the pipeline is the order written; nothing depends on timing.
 */
describe('lockout under concurrency (memory limiter, one instance)', () => {
  const lockout = { maxFailures: 5, windowMs: 60_000 }
  const code = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code)

  /** A keyward whose store counts lookups and whose limiter counts calls. */
  async function setup() {
    const store = new CountingStore()
    const limiter = new CountingLimiter()
    const kw = createKeyward({ prefix: 'bsk', store, limiter, usageFlushMs: false, lockout })
    const { key, info } = await kw.keys.create({ name: 'burst', orgId: 'org_1', projects: ['p'] })
    store.lookups = 0
    const call = (credential: string, ip = '198.51.100.20') => kw.verify({ headers: { 'x-api-key': credential }, ip })
    // A wrong secret for the real key id (cached after one lookup), and unknown ids (a lookup each).
    const wrongSecret = () => wrongSecretFor(key, info.id)
    return { kw, key, store, limiter, call, wrongSecret }
  }

  it('50 wrong keys for unknown ids at once: 5 are looked up and answered 401, 45 are 429 ip_blocked', async () => {
    const { store, call } = await setup()
    const results = await Promise.all(Array.from({ length: 50 }, () => call(generateKey('bsk', 'live').key)))
    expect(countBy(results.map(code))).toEqual({ invalid_token: 5, ip_blocked: 45 })
    expect(store.lookups, 'store lookups: only the attempts the budget admits are evaluated').toBe(5)
  })

  it('50 wrong secrets for a cached key id at once: 5 are answered 401, 45 are 429', async () => {
    const { call, key, wrongSecret } = await setup()
    expect(code(await call(key))).toBe('ok') // caches the record
    const results = await Promise.all(Array.from({ length: 50 }, () => call(wrongSecret())))
    expect(countBy(results.map(code))).toEqual({ invalid_token: 5, ip_blocked: 45 })
  })

  it('failures already counted shrink the budget of the next burst', async () => {
    const { call } = await setup()
    for (let i = 0; i < 3; i++) expect(code(await call(generateKey('bsk', 'live').key))).toBe('invalid_token')
    const results = await Promise.all(Array.from({ length: 20 }, () => call(generateKey('bsk', 'live').key)))
    expect(countBy(results.map(code))).toEqual({ invalid_token: 2, ip_blocked: 18 })
  })

  it('in a burst the right key is answered as the wrong keys beside it would be: 429 once the budget is spent ahead of it', async () => {
    const { call, key, wrongSecret } = await setup()
    expect(code(await call(key))).toBe('ok')
    // Five failures ahead of it spend the budget, exactly as five sequential failures would.
    const burst = [
      ...Array.from({ length: 5 }, () => call(wrongSecret())),
      call(key),
      ...Array.from({ length: 5 }, () => call(wrongSecret())),
    ]
    const codes = (await Promise.all(burst)).map(code)
    expect(codes).toEqual([...Array(5).fill('invalid_token'), 'ip_blocked', ...Array(5).fill('ip_blocked')])
  })

  it('inside a burst the right key ahead of the failures is served, as it would be sequentially', async () => {
    const { call, key, wrongSecret } = await setup()
    expect(code(await call(key))).toBe('ok')
    const codes = (await Promise.all([call(key), ...Array.from({ length: 8 }, () => call(wrongSecret()))])).map(code)
    expect(codes).toEqual(['ok', ...Array(5).fill('invalid_token'), ...Array(3).fill('ip_blocked')])
  })

  it('a right key for an uncached id, in flight as the budget fills, is refused as a wrong one once the address is blocked', async () => {
    const { call, key } = await setup()
    // Not cached: its lookup is in flight with four unknown ids; the fifth slot is its own.
    const codes = (
      await Promise.all([
        ...Array.from({ length: 4 }, () => call(generateKey('bsk', 'live').key)),
        call(key),
        ...Array.from({ length: 6 }, () => call(generateKey('bsk', 'live').key)),
      ])
    ).map(code)
    // It resolved as a success, freeing its slot for one more failure: the same answers as in that sequential order.
    expect(codes.filter((c) => c === 'invalid_token')).toHaveLength(5)
    expect(codes[4]).toBe('ok')
    expect(codes.filter((c) => c === 'ip_blocked')).toHaveLength(5)
  })

  it('a busy valid key never gets 429s: 200 concurrent calls from one IP, cold cache, all served, one limiter call each', async () => {
    const { call, key, limiter, store } = await setup()
    const results = await Promise.all(Array.from({ length: 200 }, () => call(key)))
    expect(countBy(results.map(code))).toEqual({ ok: 200 })
    expect(limiter.calls).toEqual({ limit: 200, recordFailure: 0 })
    expect(store.lookups).toBeGreaterThanOrEqual(1)
  })

  it('a valid cached key pays no extra limiter call: one limit() per request, nothing else', async () => {
    const { call, key, limiter } = await setup()
    expect(code(await call(key))).toBe('ok')
    limiter.calls = { limit: 0, recordFailure: 0 }
    for (let i = 0; i < 20; i++) expect(code(await call(key))).toBe('ok')
    expect(limiter.calls).toEqual({ limit: 20, recordFailure: 0 })
  })

  it('another address is not held back by a saturated one', async () => {
    const { call, key } = await setup()
    const flood = Array.from({ length: 30 }, () => call(generateKey('bsk', 'live').key))
    const other = call(key, '192.0.2.44')
    expect(code(await other)).toBe('ok')
    expect(countBy((await Promise.all(flood)).map(code))).toEqual({ invalid_token: 5, ip_blocked: 25 })
  })
})

describe.each(ADAPTERS)('lockout under concurrency through %s over HTTP', (_name, build) => {
  it('40 wrong keys sent at once from one address: exactly maxFailures 401s, the rest 429 ip_blocked', async () => {
    // Lookups that take a while, as a real database's do, so that the attempts overlap. The
    // answer counted does not depend on how much they overlap: with none it is the same.
    const kw = createKeyward({ prefix: 'bsk', store: new SlowStore(), usageFlushMs: false, lockout: { maxFailures: 5, windowMs: 60_000 } })
    const server = await serve(build, kw)
    try {
      const replies = await Promise.all(
        Array.from({ length: 40 }, () =>
          rawRequest(server.url, '/api/projects/prod-site/data', [['X-API-Key', generateKey('bsk', 'live').key]]),
        ),
      )
      expect(countBy(replies.map((r) => `${r.status} ${String(r.body.code)}`))).toEqual({ '401 invalid_token': 5, '429 ip_blocked': 35 })
    } finally {
      await server.close()
    }
  })
})

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1
  return counts
}

/** The real key id with a fresh secret and a valid checksum: parses, then fails the hash. */
function wrongSecretFor(key: string, keyId: string): string {
  for (;;) {
    const forged = generateKey('bsk', 'live', keyId).key
    if (forged !== key) return forged
  }
}

class CountingStore extends MemoryTokenStore {
  lookups = 0
  override findById(id: string) {
    this.lookups++
    return super.findById(id)
  }
}

class SlowStore extends MemoryTokenStore {
  override async findById(id: string) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    return super.findById(id)
  }
}

class CountingLimiter extends MemoryRateLimiter {
  calls = { limit: 0, recordFailure: 0 }
  override limit(request: LimitRequest) {
    this.calls.limit++
    return super.limit(request)
  }
  override limitSync(request: LimitRequest) {
    this.calls.limit++
    return super.limitSync(request)
  }
  override recordFailure(...args: Parameters<MemoryRateLimiter['recordFailure']>) {
    this.calls.recordFailure++
    return super.recordFailure(...args)
  }
}
