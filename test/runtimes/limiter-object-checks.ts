/**
 * keyward/cloudflare's DurableObjectRateLimiter from the BUILT package, inside the runtimes Worker
 * on workerd with a real Durable Object namespace (workerd-driver.ts binds it): exact quota under
 * concurrency through keyward, and lockout. The full suites run in `npm test` (test/cloudflare/).
 */
import { createKeyward } from 'keyward'
import { DurableObjectRateLimiter, type DurableObjectNamespaceLike } from 'keyward/cloudflare'
import { assert, type Check } from './checks.js'

export function limiterObjectChecks(namespace: DurableObjectNamespaceLike): Check[] {
  const limiter = new DurableObjectRateLimiter({ namespace, shards: 2 })
  return [
    {
      name: 'workers limiter: 30 concurrent verifications on a key limited to 5 allow exactly 5',
      async run() {
        const kw = createKeyward({ prefix: 'bsk', limiter, usageFlushMs: false })
        const { key } = await kw.keys.create({ name: 'do', orgId: 'org_1', projects: ['p1'], rateLimit: { limit: 5, windowMs: 3_600_000 } })
        const results = await Promise.all(Array.from({ length: 30 }, () => kw.verify({ headers: { authorization: `Bearer ${key}` } })))
        const codes = results.map((r) => (r.ok ? 'ok' : r.error.code))
        assert(codes.filter((c) => c === 'ok').length === 5, `allowed ${codes.filter((c) => c === 'ok').length} of 30`)
        assert(codes.filter((c) => c === 'rate_limited').length === 25, `codes: ${[...new Set(codes)].join(', ')}`)
      },
    },
    {
      name: 'workers limiter: an address blocked by its failures is refused, and only it',
      async run() {
        const address = `198.51.100.${Math.floor(Math.random() * 250)}`
        const policy = { maxFailures: 3, windowMs: 3_600_000 }
        let state = { blocked: false }
        for (let i = 0; i < 3; i++) state = await limiter.recordFailure(address, policy, Date.now())
        assert(state.blocked, 'not blocked after maxFailures failures')
        const rules = [{ limit: 10, windowMs: 3_600_000 }]
        const refused = await limiter.limit({ key: 'k1', rules, blockKey: address, now: Date.now() })
        assert(!refused.allowed && refused.blocked, `blocked address: ${JSON.stringify(refused)}`)
        const other = await limiter.limit({ key: 'k1', rules, blockKey: `${address}0`, now: Date.now() })
        assert(other.allowed && !other.blocked, `another address: ${JSON.stringify(other)}`)
      },
    },
  ]
}
