/**
 * DurableObjectRateLimiter and KeywardRateLimiterObject on workerd (miniflare runs the real
 * Durable Object implementation): the limiter conformance suite of keyward/testing through two
 * Workers (two isolates) on one namespace, with one object and with several (where a key and an
 * address may live apart), and the option checks.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { describeRateLimiterConformance } from '../../testing/index.js'
import { DurableObjectRateLimiter } from '../../src/cloudflare.js'
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

  it('rejects an answer that is not a limit result: a broken object is a 503, never a pass', async () => {
    const lying = {
      idFromName: () => ({}),
      get: () => ({ fetch: () => Promise.resolve(Response.json({ allowed: true })) }),
    }
    const limiter = new DurableObjectRateLimiter({ namespace: lying })
    await expect(limiter.limit({ key: 'k', rules: [{ limit: 1, windowMs: 1000 }], now: Date.now() })).rejects.toThrow(/not a limit result/)
  })
})
