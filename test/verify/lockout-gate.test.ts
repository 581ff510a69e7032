/**
 * The lockout gate through the real pipeline: the per-address table empties once every request has
 * settled, and an address with no failures is never told it is blocked because it is busy.
 * Calls start in one synchronous loop, so how they queue is fixed by the order written.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createKeyward, MemoryTokenStore, type VerifyResult } from 'keyward'
import { generateKey } from '../../src/keys/format.js'
import { LockoutGate } from '../../src/verify/lockout-gate.js'

const code = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code)

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1
  return counts
}

/** The gate createKeyward built, caught as the pipeline first holds a slot on it. */
function gateOf(spy: { mock: { contexts: unknown[] } }): LockoutGate {
  const gate = spy.mock.contexts[0]
  if (!(gate instanceof LockoutGate)) throw new Error('no slot was held: the test no longer exercises the gate')
  return gate
}

/** A store that answers each lookup on a later timer turn, one by one, as a database's replies arrive. */
class SlowStore extends MemoryTokenStore {
  override async findById(id: string) {
    await new Promise((resolve) => setTimeout(resolve, 1))
    return super.findById(id)
  }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('lockout gate: memory', () => {
  it('2,000 addresses each sending 6 unknown keys at once (maxFailures 3) leave no slot behind', { timeout: 60_000 }, async () => {
    const hold = vi.spyOn(LockoutGate.prototype, 'hold')
    const kw = createKeyward({ prefix: 'bsk', store: new SlowStore(), usageFlushMs: false, lockout: { maxFailures: 3, windowMs: 60_000 } })
    const calls: Promise<VerifyResult>[] = []
    for (let a = 0; a < 2000; a++) {
      const ip = `10.0.${a >> 8}.${a & 255}`
      for (let i = 0; i < 6; i++) calls.push(kw.verify({ headers: { 'x-api-key': generateKey('bsk', 'live').key }, ip }))
    }
    const codes = countBy((await Promise.all(calls)).map(code))
    // The behaviour the table serves is unchanged: three evaluated per address, three refused as blocked.
    expect(codes).toEqual({ invalid_token: 6000, ip_blocked: 6000 })
    expect(gateOf(hold).size).toBe(0)
  })

  it('a slot held over a store lookup goes back when the origin check meets a header it cannot read', async () => {
    const hold = vi.spyOn(LockoutGate.prototype, 'hold')
    const store = new MemoryTokenStore()
    const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, lockout: { maxFailures: 3, windowMs: 60_000 } })
    const ip = '203.0.113.9'
    // An app may build a header record with a null in it; a fresh key each time misses the cache,
    // so every call holds a slot over its lookup.
    for (let i = 0; i < 5; i++) {
      const { key } = await kw.keys.create({ name: 'site', orgId: 'org_1', projects: ['p'], allowedOrigins: ['example.com'] })
      const result = await kw.verify({ headers: { 'x-api-key': key, origin: null as unknown as string }, ip })
      // Never a pass; and every call answers (a leaked slot would leave the fourth waiting for good).
      expect(result.ok).toBe(false)
    }
    expect(gateOf(hold).size).toBe(0)
  })
})

describe('lockout gate: valid traffic sharing an address', () => {
  const lockout = { maxFailures: 5, windowMs: 60_000 }

  // The first lookups are held (one shared lookup of the key), so the rest queue behind them.
  it(
    'past maxFailures + 4,096 concurrent valid calls from a clean address: the overflow is 503 busy with Retry-After, never ip_blocked',
    { timeout: 60_000 },
    async () => {
      const kw = createKeyward({ prefix: 'bsk', store: new SlowStore(), usageFlushMs: false, lockout })
      const { key } = await kw.keys.create({ name: 'busy', orgId: 'org_1', projects: ['p'] })
      const results = await Promise.all(
        Array.from({ length: 4200 }, () => kw.verify({ headers: { 'x-api-key': key }, ip: '198.51.100.7' })),
      )
      // Five hold a slot (one shared lookup), 4,096 wait for it, the 99 beyond are turned away.
      expect(countBy(results.map(code))).toEqual({ ok: 4101, store_unavailable: 99 })
      const busy = results.find((r) => !r.ok)
      expect(busy !== undefined && !busy.ok && busy.error.status).toBe(503)
      expect(busy !== undefined && !busy.ok && busy.error.headers['retry-after']).toBe('1')
      // Nothing was counted against the address: a valid key right after is served.
      expect(code(await kw.verify({ headers: { 'x-api-key': key }, ip: '198.51.100.7' }))).toBe('ok')
    },
  )

  it(
    'a JWT answered from the verified-token cache holds no slot: 4,200 concurrent calls from one address are all served',
    { timeout: 60_000 },
    async () => {
      const hold = vi.spyOn(LockoutGate.prototype, 'hold')
      const kw = createKeyward({
        prefix: 'bsk',
        usageFlushMs: false,
        lockout,
        jwt: {
          issuer: 'https://api.example',
          audience: 'api',
          signingKey: { alg: 'HS256', secret: 'a-test-secret-of-at-least-32-bytes!!' },
        },
      })
      const { accessToken } = await kw.tokens.issue({ subject: 'user_1', org: 'org_1', scopes: ['read'] })
      const input = { headers: { authorization: `Bearer ${accessToken}` }, ip: '198.51.100.8' }
      expect(code(await kw.verify(input))).toBe('ok') // verified once: cached from here on
      hold.mockClear()
      const results = await Promise.all(Array.from({ length: 4200 }, () => kw.verify(input)))
      expect(countBy(results.map(code))).toEqual({ ok: 4200 })
      expect(hold).not.toHaveBeenCalled()
    },
  )
})
