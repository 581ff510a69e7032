/**
 * kw.verify's synchronous-when-possible twin (VERIFY_NOW), which keyward's adapters call so that a
 * framework's next() runs in the request's own turn: the same answers as verify(), a promise
 * only where something has to wait, and never on a verify() replaced by a wrapper.
 */
import { describe, expect, it, vi } from 'vitest'
import { MemoryRateLimiter, type RateLimiter, type VerifyInput, type VerifyResult } from '../../src/index.js'
import { verifyNowOf } from '../../src/internal/verify-now.js'
import { instrumentKeyward } from '../../src/otel.js'
import { setup } from '../support/setup.js'

const nowOf = verifyNowOf

describe("verify()'s synchronous twin", () => {
  it('answers a cached key at once, with no promise; a first lookup of the store as a promise', async () => {
    const { kw, mint, bearer } = setup()
    const { key } = await mint({ scopes: ['read'], rateLimit: { limit: 100, windowMs: 60_000 } })
    const now = nowOf(kw.verify)!
    const input: VerifyInput = { headers: bearer(key), ip: '203.0.113.1', scopes: 'read' }
    const first = now(input)
    expect(first).toBeInstanceOf(Promise)
    expect((await first).ok).toBe(true)
    const second = now(input)
    expect(second).not.toBeInstanceOf(Promise)
    expect((second as VerifyResult).ok).toBe(true)
  })

  it('gives the very answers verify() gives: success, refusals, lockout and rate limit included', async () => {
    // The same sequence on two identical instances, one through verify(), one through VERIFY_NOW.
    async function run(through: 'verify' | 'now') {
      const { kw, mint, bearer } = setup({ lockout: { maxFailures: 3, windowMs: 60_000 } })
      const call = through === 'verify' ? kw.verify : (input: VerifyInput) => nowOf(kw.verify)!(input)
      const limited = await mint({ scopes: ['read'], rateLimit: { limit: 2, windowMs: 60_000 } })
      const revoked = await mint()
      await kw.keys.revoke(revoked.info.id)
      const inputs: VerifyInput[] = [
        { headers: bearer(limited.key), ip: '203.0.113.1', scopes: 'read' },
        { headers: bearer(limited.key), ip: '203.0.113.1', scopes: 'admin' },
        { headers: bearer(revoked.key), ip: '203.0.113.2' },
        { headers: {}, ip: '203.0.113.3' },
        { headers: bearer('bsk_live_notakey'), ip: '203.0.113.4' },
      ]
      const answers: unknown[] = []
      for (let round = 0; round < 3; round++)
        for (const input of inputs) {
          const r = await call(input)
          answers.push(r.ok ? { ok: true, scopes: r.auth.scopes } : { ok: false, code: r.error.code, status: r.error.status })
        }
      return answers
    }
    const viaNow = await run('now')
    expect(viaNow).toEqual(await run('verify'))
    // The rate limit of 2 ran out on the way.
    expect(viaNow).toContainEqual({ ok: false, code: 'rate_limited', status: 429 })
  })

  it('fails closed, at once or later: a limiter that throws or rejects is a 503', async () => {
    const throwing: RateLimiter = {
      limit: () => {
        throw new Error('limiter bug')
      },
      recordFailure: () => Promise.reject(new Error('down')),
    }
    const rejecting: RateLimiter = {
      limit: () => Promise.reject(new Error('down')),
      recordFailure: () => Promise.reject(new Error('down')),
    }
    for (const limiter of [throwing, rejecting]) {
      const { kw, mint, bearer } = setup({ limiter, lockout: false })
      const { key } = await mint({ rateLimit: { limit: 5, windowMs: 1000 } })
      const now = nowOf(kw.verify)!
      await now({ headers: bearer(key) }) // the store lookup
      const result = await now({ headers: bearer(key) })
      expect(result.ok).toBe(false)
      expect(!result.ok && result.error.code).toBe('store_unavailable')
    }
  })

  it("a store whose lookups return another library's promise (a thenable) is read, not taken for the record", async () => {
    const { kw, mint, bearer, store } = setup()
    const { key } = await mint()
    const findById = store.findById.bind(store)
    // Like Bluebird's: then() answers another thenable of its own kind, never a native promise.
    const foreign = <T>(promise: Promise<T>): PromiseLike<T> => ({
      then: (resolve, reject) => foreign(promise.then(resolve, reject)) as never,
    })
    store.findById = (id: string) => foreign(findById(id)) as unknown as ReturnType<typeof findById>
    const first = await kw.verify({ headers: bearer(key) })
    expect(first.ok).toBe(true)
  })

  it('throws a wrong call synchronously (the application’s bug), where verify() rejects', async () => {
    const { kw } = setup()
    expect(() => nowOf(kw.verify)!({ headers: null } as never)).toThrow(TypeError)
    await expect(kw.verify({ headers: null } as never)).rejects.toThrow(TypeError)
  })

  it('is never the twin of a spy, a Proxy or a copy: what wraps verify() is what is called', () => {
    const { kw } = setup()
    const original = kw.verify
    // A Proxy reads the target's properties, Object.assign copies them, vi.spyOn copies them too.
    expect(nowOf(new Proxy(original, {}))).toBeUndefined()
    expect(nowOf(Object.assign((input: VerifyInput) => original(input), original))).toBeUndefined()
    const spy = vi.spyOn(kw, 'verify')
    expect(nowOf(kw.verify)).toBeUndefined()
    spy.mockRestore()
    expect(nowOf(kw.verify)).toBeTypeOf('function')
    // Not enumerable: a spread of the function's properties carries nothing.
    expect(Object.getOwnPropertySymbols({ ...original })).toEqual([])
  })

  it('is not there when verify() does more than the pipeline (onEvent) or was replaced (telemetry)', () => {
    expect(nowOf(setup({ onEvent: () => {} }).kw.verify)).toBeUndefined()
    expect(nowOf(instrumentKeyward(setup().kw).verify)).toBeUndefined()
    expect(nowOf(setup({ limiter: new MemoryRateLimiter() }).kw.verify)).toBeTypeOf('function')
  })
})
