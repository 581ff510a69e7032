/**
 * DurableObjectRateLimiter and KeywardRateLimiterObject on workerd (miniflare runs the real
 * Durable Object implementation): the limiter conformance suite of keyward/testing through two
 * Workers (two isolates) on one namespace, with one object and with several (where a key and an
 * address may live apart), and the option checks.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { describeRateLimiterConformance } from '../../testing/index.js'
import { DurableObjectRateLimiter } from '../../src/cloudflare.js'
import { createKeyward } from '../../src/index.js'
import type { RateLimitRule } from '../../src/types.js'
import { limiterProxy, startWorkers, type Workers } from '../cloudflare/harness.js'

// Each call is an HTTP round trip into workerd and a Durable Object: a limit on time, not an assertion about speed.
vi.setConfig({ testTimeout: 120_000 })

let workers: Workers
beforeAll(async () => {
  workers = await startWorkers()
}, 120_000)
afterAll(async () => {
  await workers?.dispose()
})

let runs = 0
for (const shards of [1, 4]) {
  describeRateLimiterConformance(`Durable Object on workerd, ${shards} shard(s)`, async () => {
    const options = { name: `conformance${(runs += 1)}`, shards }
    return {
      limiter: limiterProxy(workers, 'a', options),
      close: async () => {},
      peer: async () => limiterProxy(workers, 'b', options),
    }
  })
}

const HOUR = 3_600_000
let names = 0
const fresh = (what: string) => `${what}${Date.now().toString(36)}x${(names += 1)}`

describe('DurableObjectRateLimiter on workerd: the object’s clock, shared quotas', () => {
  it('decides on the object’s clock: a Worker whose clock runs ahead gets no refill and no early end of a block', async () => {
    const [a, b] = [limiterProxy(workers, 'a', { name: 'clock' }), limiterProxy(workers, 'b', { name: 'clock' })]
    const key = fresh('k')
    const rule: RateLimitRule = { limit: 2, windowMs: HOUR }
    for (let i = 0; i < 2; i++) expect((await a.limit({ key, rules: [rule], now: Date.now() })).allowed).toBe(true)
    // Two hours ahead: on its own clock the bucket would be full again.
    expect(await b.limit({ key, rules: [rule], now: Date.now() + 2 * HOUR })).toMatchObject({ allowed: false, rules: [{ remaining: 0 }] })
    const address = fresh('203.0.113.')
    const policy = { maxFailures: 1, windowMs: HOUR }
    // A failure stamped two hours back would have ended its block already on the caller's clock.
    const state = await a.recordFailure(address, policy, Date.now() - 2 * HOUR)
    expect(state.blocked).toBe(true)
    expect(state.retryAfterMs).toBeGreaterThan(HOUR - 60_000)
    expect(await b.limit({ key: fresh('k'), rules: [rule], blockKey: address, now: Date.now() + 2 * HOUR })).toMatchObject({
      allowed: false,
      blocked: true,
    })
  })

  it('with one object, counts shared quotas with the key’s rules in one decision, across Workers and under concurrency', async () => {
    const options = { name: 'shared', shards: 1 }
    const instances = [limiterProxy(workers, 'a', options), limiterProxy(workers, 'b', options)]
    const own: RateLimitRule = { limit: 3, windowMs: HOUR }
    const group = { key: fresh('shared:org:'), rules: [{ limit: 4, windowMs: HOUR, algorithm: 'sliding-window' } as RateLimitRule] }
    const [k1, k2] = [fresh('k'), fresh('k')]
    const results = []
    for (const [i, key] of [k1, k2, k1, k2, k1].entries()) {
      results.push(await instances[i % 2]!.limit({ key, rules: [own], shared: [group], now: Date.now() }))
    }
    expect(results.map((r) => r.allowed)).toStrictEqual([true, true, true, true, false])
    expect(results[4]!.rules.map((s) => [s.rule, s.remaining])).toStrictEqual([
      [own, 1],
      [group.rules[0], 0],
    ])
    // The refused call counted on none: k1's own rule still has one.
    expect((await instances[1]!.limit({ key: k1, rules: [own], now: Date.now() })).rules[0]!.remaining).toBe(0)

    const org = { key: fresh('shared:org:'), rules: [{ limit: 50, windowMs: 10 * HOUR }] }
    const keys = [fresh('k'), fresh('k'), fresh('k'), fresh('k')]
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        instances[i % 2]!.limit({ key: keys[i % 4]!, rules: [{ limit: 100, windowMs: HOUR }], shared: [org], now: Date.now() }),
      ),
    )
    expect(many.filter((r) => r.allowed)).toHaveLength(50)
  })
})

describe('DurableObjectRateLimiter options', () => {
  const namespace = { idFromName: () => ({}), get: () => ({ fetch: () => Promise.reject(new Error('unreachable')) }) }

  it('needs a namespace binding and checks every option, naming it', () => {
    expect(() => new DurableObjectRateLimiter({} as never)).toThrow(/namespace/)
    expect(() => new DurableObjectRateLimiter({ namespace: {} as never })).toThrow(/namespace must be a Durable Object namespace binding/)
    expect(() => new DurableObjectRateLimiter({ namespace, shards: 0 })).toThrow(/shards/)
    expect(() => new DurableObjectRateLimiter({ namespace, timeoutMs: -1 })).toThrow(/timeoutMs/)
    expect(() => new DurableObjectRateLimiter({ namespace, name: 'a b' })).toThrow(/name/)
    expect(() => new DurableObjectRateLimiter({ namespace, shard: 2 } as never)).toThrow(/shard/)
  })

  it('rejects (never passes) when the object cannot be reached, and refuses bad arguments before any call', async () => {
    const limiter = new DurableObjectRateLimiter({ namespace })
    const rule = { limit: 1, windowMs: 1000 }
    await expect(limiter.limit({ key: 'k', rules: [rule], now: Date.now() })).rejects.toThrow('unreachable')
    await expect(limiter.recordFailure('a', { maxFailures: 1, windowMs: 1000 }, Date.now())).rejects.toThrow('unreachable')
    await expect(limiter.limit({ key: 'k', rules: [{ limit: 0, windowMs: 1 }], now: Date.now() })).rejects.toThrow(TypeError)
    await expect(limiter.limit({ key: '', rules: [rule], now: Date.now() })).rejects.toThrow(TypeError)
  })

  it('declares sharedQuotas only with one object; with more, refuses them (createKeyward and limit) before any call', async () => {
    let sent = 0
    const counting = { idFromName: () => ({}), get: () => ({ fetch: () => ((sent += 1), Promise.reject(new Error('unreachable'))) }) }
    const rules = { limit: 5, windowMs: HOUR }
    expect(new DurableObjectRateLimiter({ namespace: counting }).sharedQuotas).toBe(true)
    const sharded = new DurableObjectRateLimiter({ namespace: counting, shards: 4 })
    expect(sharded.sharedQuotas).toBe(false)
    expect(() => createKeyward({ prefix: 'bsk', limiter: sharded, sharedQuotas: [{ name: 'org', by: 'org', rules }] })).toThrow(
      /sharedQuotas needs a limiter/,
    )
    const request = { key: 'k', rules: [rules], shared: [{ key: 'shared:org:o', rules: [rules] }], now: Date.now() }
    await expect(sharded.limit(request)).rejects.toThrow(/shards > 1 cannot count shared quotas/)
    expect(sent).toBe(0)
    await expect(sharded.limit({ ...request, shared: [{ key: '', rules: [rules] }] })).rejects.toThrow(TypeError)
  })

  it('rejects an answer that is not a limit result: a broken object is a 503, never a pass', async () => {
    const lying = {
      idFromName: () => ({}),
      get: () => ({ fetch: () => Promise.resolve(Response.json({ allowed: true })) }),
    }
    const limiter = new DurableObjectRateLimiter({ namespace: lying })
    await expect(limiter.limit({ key: 'k', rules: [{ limit: 1, windowMs: 1000 }], now: Date.now() })).rejects.toThrow(/not a limit result/)
  })
})
