/**
 * KeywardRateLimiterObject in Node, on an in-memory storage with the Durable Object storage's
 * semantics (values cloned on write, keys listed in order): the object decides on its own clock,
 * which the tests move with vitest's fake Date, so every figure below is exact. The same object
 * runs on workerd's real Durable Objects in durable-object-rate-limiter.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LimiterMessage } from '../../src/limiters/limiter-messages.js'
import { KeywardRateLimiterObject, type DurableObjectStorageLike } from '../../src/limiters/rate-limiter-object.js'
import type { RateLimitRule } from '../../src/types.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
// A whole number of hours: fixed windows of a minute or an hour start here.
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0)

class MemoryStorage implements DurableObjectStorageLike {
  readonly entries = new Map<string, unknown>()
  alarm: number | null = null
  async get(keys: string[]) {
    return new Map(keys.filter((k) => this.entries.has(k)).map((k) => [k, structuredClone(this.entries.get(k))]))
  }
  async put(entries: Record<string, unknown>) {
    for (const [k, v] of Object.entries(entries)) this.entries.set(k, structuredClone(v))
  }
  async delete(keys: string[]) {
    if (keys.length > 128) throw new Error('at most 128 keys')
    return keys.filter((k) => this.entries.delete(k)).length
  }
  async list({ limit = Infinity, startAfter }: { limit?: number; startAfter?: string } = {}) {
    const keys = [...this.entries.keys()].sort().filter((k) => startAfter === undefined || k > startAfter)
    return new Map(keys.slice(0, limit).map((k) => [k, structuredClone(this.entries.get(k))]))
  }
  async getAlarm() {
    return this.alarm
  }
  async setAlarm(at: number) {
    this.alarm = at
  }
}

let storage: MemoryStorage
let object: KeywardRateLimiterObject
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
  storage = new MemoryStorage()
  object = new KeywardRateLimiterObject({ storage })
})
afterEach(() => {
  vi.useRealTimers()
})

async function send(message: LimiterMessage | Record<string, unknown>) {
  const response = await object.fetch(new Request('https://keyward.limiter/', { method: 'POST', body: JSON.stringify(message) }))
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { rules: Array<{ remaining: number }> } }
}
const limit = (key: string, rules: RateLimitRule[], extra: Record<string, unknown> = {}) =>
  send({ op: 'limit', key, rules, ...extra }).then((r) => r.body)
const advance = (ms: number) => vi.setSystemTime(Date.now() + ms)

describe('KeywardRateLimiterObject decides with the shared decision code, on its own clock', () => {
  it.each([
    ['gcra', MINUTE / 2],
    ['fixed-window', MINUTE],
    ['sliding-window', MINUTE],
  ] as const)('%s: a burst of the limit, then the exact wait; the caller’s `now` changes nothing', async (algorithm, wait) => {
    const rule: RateLimitRule = { limit: 2, windowMs: MINUTE, algorithm }
    const results = [await limit('k', [rule]), await limit('k', [rule])]
    // A Worker whose clock runs two hours ahead (an old message still carrying `now`) gets nothing more.
    results.push(await limit('k', [rule], { now: T0 + 2 * HOUR }))
    expect(results.map((r) => [r.allowed, r.rules[0]!.remaining])).toStrictEqual([
      [true, 1],
      [true, 0],
      [false, 0],
    ])
    expect(results[2]!.retryAfterMs).toBe(wait)
    advance(wait - 1)
    expect((await limit('k', [rule])).allowed).toBe(false)
    advance(1)
    expect((await limit('k', [rule])).allowed).toBe(true)
  })

  it('a lockout ends on the object’s clock, whatever `now` the caller sends', async () => {
    const policy = { maxFailures: 2, windowMs: HOUR }
    await send({ op: 'fail', blockKey: '203.0.113.7', policy, now: T0 - 2 * HOUR })
    const blocked = await send({ op: 'fail', blockKey: '203.0.113.7', policy, now: T0 - 2 * HOUR })
    expect(blocked.body).toStrictEqual({ blocked: true, retryAfterMs: HOUR, failures: 2 })
    expect((await send({ op: 'blocked', blockKey: '203.0.113.7', now: T0 + 2 * HOUR })).body).toMatchObject({ blocked: true })
    advance(HOUR)
    expect((await send({ op: 'blocked', blockKey: '203.0.113.7' })).body).toMatchObject({ blocked: false, allowed: true })
  })

  it('counts shared groups with the key’s rules, all or none, states in order', async () => {
    const own: RateLimitRule = { limit: 3, windowMs: HOUR }
    const group = { key: 'shared:org:o1', rules: [{ limit: 4, windowMs: HOUR, algorithm: 'fixed-window' } as RateLimitRule] }
    const results = []
    for (const key of ['a', 'b', 'a', 'b', 'a']) results.push(await limit(key, [own], { shared: [group] }))
    expect(results.map((r) => r.allowed)).toStrictEqual([true, true, true, true, false])
    // The fifth is refused by the group: a's own rule is reported as it stands (one left), and counted nowhere.
    expect(results[4]!.rules.map((s) => s.remaining)).toStrictEqual([1, 0])
    expect((await limit('a', [own])).rules[0]!.remaining).toBe(0)
  })

  it('refuses a message whose rule names an unknown algorithm or a sliding window over 1000 calls (400)', async () => {
    expect((await send({ op: 'limit', key: 'k', rules: [{ limit: 1, windowMs: 1, algorithm: 'leaky' }] })).status).toBe(400)
    const large = { limit: 1001, windowMs: HOUR, algorithm: 'sliding-window' }
    expect((await send({ op: 'limit', key: 'k', rules: [large] })).body.error).toMatch(/limit must be at most 1000/)
    expect((await send({ op: 'limit', key: 'k', rules: [], shared: [{ key: '', rules: [] }] })).status).toBe(400)
    expect(storage.entries.size).toBe(0)
  })
})

describe('KeywardRateLimiterObject sweeps each state shape once it stops mattering', () => {
  it('drops GCRA, fixed-window and sliding-window states and failure windows at their end, keeps the live ones, re-arms', async () => {
    await limit('gcra', [{ limit: 5, windowMs: MINUTE }])
    await limit('fixed', [{ limit: 5, windowMs: MINUTE, algorithm: 'fixed-window' }])
    const sliding: RateLimitRule = { limit: 5, windowMs: 2 * MINUTE, algorithm: 'sliding-window' }
    await limit('sliding', [sliding])
    await send({ op: 'fail', blockKey: '198.51.100.1', policy: { maxFailures: 9, windowMs: 5 * MINUTE } })
    advance(1.5 * MINUTE)
    // The newest call keeps the log alive until two minutes after it.
    await limit('sliding', [sliding])
    expect(storage.alarm).toBe(T0 + HOUR)
    expect(storage.entries.size).toBe(4)

    advance(MINUTE) // T0 + 2.5 min: the GCRA bucket is full and the fixed window over; the log and the failures still count.
    await object.alarm()
    expect([...storage.entries.keys()].sort()).toStrictEqual(['f|198.51.100.1', 'q|sliding|5|120000|sliding-window'])
    expect(storage.alarm).toBe(Date.now() + HOUR)
    // What was kept decides as before: one of the two calls left the window, one is still in it.
    expect((await limit('sliding', [sliding])).rules[0]!.remaining).toBe(3)

    advance(5 * MINUTE)
    storage.alarm = null
    await object.alarm()
    expect(storage.entries.size).toBe(0)
    expect(storage.alarm).toBeNull()
  })
})
