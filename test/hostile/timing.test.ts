/**
 * Timing: can a caller tell an unknown key id from a known id with a wrong secret, or learn how
 * much of a secret is right? Method (also in SECURITY.md):
 *
 * 1. Same path, counted (deterministic): both requests make the same store and limiter calls and
 *    get the very same refusal object back. This holds with the cache on and off.
 * 2. Same time, measured (statistical): R rounds; in each, A and B alternate call by call in a
 *    random order, each call timed alone, and the round's statistic is log(median time of A /
 *    median time of B). The result is the median over rounds. Per-call medians drop the calls a
 *    preemption or GC pause hit (and those hit A and B alike); alternating call by call cancels
 *    drifts of the machine's speed; the median over rounds ignores rounds noise ruled.
 *    It must stay within ±log(BOUND). Its power is shown in the same run: a control pair that
 *    differs by one SHA-256 of the key (the work an id check that skipped the dummy hash would
 *    save) must come out beyond the bound.
 *
 * Nothing here asserts how long a single call takes.
 */
import { describe, expect, it } from 'vitest'
import { sha256 } from '@noble/hashes/sha2.js'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore, type Keyward, type LimitRequest, type TokenStore } from 'keyward'
import { generateKey } from '../../src/keys/format.js'
import { constantTimeEqual } from '../../src/keys/hashing.js'

const ROUNDS = 31
const PER_ROUND = 300
const BOUND = 1.2

const median = (values: number[]) => values.sort((x, y) => x - y)[values.length >> 1]!

/**
 * Median over rounds of log(median time of A / median time of B). Within a round, A and B
 * alternate call by call in a random order, each call timed alone: a preemption or GC pause
 * hits one call, which the median discards, and hits A and B alike.
 */
async function logRatio(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<number> {
  const time = async (f: () => Promise<unknown>) => {
    const start = process.hrtime.bigint()
    await f()
    return Number(process.hrtime.bigint() - start)
  }
  // Warm both paths up first (JIT, caches).
  for (let i = 0; i < 2000; i++) await (i % 2 === 0 ? a : b)()
  const ratios: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const ta: number[] = []
    const tb: number[] = []
    for (let i = 0; i < PER_ROUND; i++) {
      if (Math.random() < 0.5) {
        ta.push(await time(a))
        tb.push(await time(b))
      } else {
        tb.push(await time(b))
        ta.push(await time(a))
      }
    }
    ratios.push(Math.log(median(ta) / median(tb)))
  }
  return median(ratios)
}

/** A store and a limiter that log every call, to compare the paths two requests take. */
function tracing() {
  const trace: string[] = []
  const inner = new MemoryTokenStore()
  const store: TokenStore = {
    findById: (id) => {
      trace.push('store.findById')
      return inner.findById(id)
    },
    insert: (record) => inner.insert(record),
    update: (id, patch, condition) => inner.update(id, patch, condition),
    listByOrg: (org, options) => inner.listByOrg(org, options),
    touch: (entries) => inner.touch(entries),
  }
  const limiterInner = new MemoryRateLimiter()
  const limiter = {
    limit: (r: LimitRequest) => {
      trace.push(`limiter.limit(${r.rules.length})`)
      return limiterInner.limit(r)
    },
    recordFailure: (k: string, p: { maxFailures: number; windowMs: number }, now: number) => {
      trace.push('limiter.recordFailure')
      return limiterInner.recordFailure(k, p, now)
    },
  }
  return { trace, store, limiter }
}

async function keys(kw: Keyward) {
  const { key } = await kw.keys.create({ name: 'timing', orgId: 'org_1', projects: ['p'] })
  const id = key.slice(9, 17)
  // A known id with a wrong secret (checksum recomputed, so it reaches the store like any key).
  const wrongSecret = generateKey('bsk', 'live', id).key
  const unknownId = generateKey('bsk', 'live').key
  return { key, wrongSecret, unknownId }
}

describe('timing: unknown id vs known id with a wrong secret', () => {
  it.each([
    ['cache on (default)', {}],
    ['cache off', { cache: false as const }],
  ])('take the same path and get the same refusal (%s)', async (_, options) => {
    const { trace, store, limiter } = tracing()
    const kw = createKeyward({
      prefix: 'bsk',
      store,
      limiter,
      usageFlushMs: false,
      lockout: { maxFailures: 1_000_000, windowMs: 60_000 },
      ...options,
    })
    const { wrongSecret, unknownId } = await keys(kw)
    const run = async (credential: string) => {
      const results = []
      trace.length = 0
      // Twice: the first call may fill a cache, the second shows the steady state.
      for (let i = 0; i < 2; i++) results.push(await kw.verify({ headers: { 'x-api-key': credential }, ip: '198.51.100.7' }))
      return { trace: [...trace], results }
    }
    const unknown = await run(unknownId)
    const known = await run(wrongSecret)
    expect(unknown.trace).toEqual(known.trace)
    expect(unknown.results[0]).toBe(known.results[0])
    expect(unknown.results[1]).toBe(known.results[1])
  })

  it('are indistinguishable in time with the cache on, while one SHA-256 more is not (statistical, interleaved)', async () => {
    const kw = createKeyward({ prefix: 'bsk', usageFlushMs: false, lockout: false })
    const { wrongSecret, unknownId } = await keys(kw)
    const verify = (credential: string) => () => kw.verify({ headers: { 'x-api-key': credential }, ip: '198.51.100.7' })
    const bytes = new TextEncoder().encode(unknownId)
    const withOneMoreHash = () => {
      sha256(bytes)
      return kw.verify({ headers: { 'x-api-key': unknownId }, ip: '198.51.100.7' })
    }
    const real = await logRatio(verify(unknownId), verify(wrongSecret))
    const control = await logRatio(withOneMoreHash, verify(unknownId))
    const ratios = { unknownVsWrongSecret: Math.exp(real), oneMoreHashVsUnknown: Math.exp(control) }
    expect(Math.abs(real), `median time ratios: ${JSON.stringify(ratios)}`).toBeLessThan(Math.log(BOUND))
    expect(control, `median time ratios: ${JSON.stringify(ratios)}`).toBeGreaterThan(Math.log(BOUND))
  })

  it('the digest compare takes as long whether the first or the last byte differs; an early-exit one does not (statistical)', async () => {
    const stored = sha256(new TextEncoder().encode('bsk_live_stored'))
    const lastDiffers = stored.slice()
    lastDiffers[31]! ^= 1
    const firstDiffers = stored.slice()
    firstDiffers[0]! ^= 1
    const earlyExit = (a: Uint8Array, b: Uint8Array) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
      return true
    }
    const many = (compare: (a: Uint8Array, b: Uint8Array) => boolean, other: Uint8Array) => () => {
      let equal = 0
      for (let i = 0; i < 200; i++) if (compare(stored, other)) equal++
      return Promise.resolve(equal)
    }
    const real = await logRatio(many(constantTimeEqual, lastDiffers), many(constantTimeEqual, firstDiffers))
    const control = await logRatio(many(earlyExit, lastDiffers), many(earlyExit, firstDiffers))
    const ratios = { constantTime: Math.exp(real), earlyExit: Math.exp(control) }
    expect(Math.abs(real), `median time ratios: ${JSON.stringify(ratios)}`).toBeLessThan(Math.log(BOUND))
    expect(control, `median time ratios: ${JSON.stringify(ratios)}`).toBeGreaterThan(Math.log(BOUND))
  })
})
