import { describe, expect, it, vi } from 'vitest'
import { createKeyward, KeywardError, MemoryRateLimiter, MemoryTokenStore, type KeyRecord, type TokenStore } from '../../src/index.js'
import { bindStore, setup } from '../support/setup.js'

const ok = <T extends { ok: boolean }>(r: T) => {
  expect(r.ok).toBe(true)
  return r as Extract<T, { ok: true }>
}
const refused = <T extends { ok: boolean }>(r: T) => {
  expect(r.ok).toBe(false)
  return (r as unknown as { error: KeywardError }).error
}

/** A well-formed key (right prefix, environment and checksum) that no store holds. */
function unknownKey(prefix = 'bsk', env = 'live') {
  return createKeyward({ prefix, environment: env as 'live' }).keys.create({
    name: 'x',
    orgId: 'o',
    projects: ['p'],
    environment: env as 'live',
  })
}

describe('verify: success', () => {
  it('returns the auth context with hierarchy-expanded scopes and the key info, without the secret', async () => {
    const { kw, mint, bearer } = setup()
    const { key, info } = await mint({ scopes: ['admin'], projects: ['a', 'b'] })
    const r = ok(await kw.verify({ headers: bearer(key), ip: '203.0.113.1' }))
    expect(r.auth).toMatchObject({ type: 'api_key', keyId: info.id, org: 'org_1', environment: 'live', projects: ['a', 'b'] })
    expect(r.auth.scopes).toEqual(['admin', 'write', 'read'])
    expect(r.auth.key?.scopes).toEqual(['admin'])
    expect(JSON.stringify(r)).not.toContain(key)
    expect(JSON.stringify(r)).not.toContain('hash')
    expect(Object.isFrozen(r.auth)).toBe(true)
    // Shared by every request with the key: nothing in it can be edited by one handler for the next.
    for (const part of [r.auth.key, r.auth.key?.metadata, r.auth.key?.projects, r.auth.scopes]) expect(Object.isFrozen(part)).toBe(true)
  })

  it("auth.key's Dates are each read's own: changing one changes nothing for other requests, the ceiling or the expiry", async () => {
    const { kw, mint, bearer, clock } = setup()
    const day = 86_400_000
    const { key, info } = await mint({ scopes: ['admin'], expiresAt: new Date(clock.now() + day) })
    const first = ok(await kw.verify({ headers: bearer(key) }))
    const second = ok(await kw.verify({ headers: bearer(key) }))
    const far = Date.UTC(2100, 0, 1)
    for (const field of ['expiresAt', 'createdAt', 'updatedAt'] as const) first.auth.key![field]!.setTime(far)
    for (const auth of [first.auth, second.auth]) {
      expect(auth.key?.expiresAt?.getTime()).toBe(info.expiresAt!.getTime())
      expect(auth.key?.createdAt.getTime()).toBe(info.createdAt.getTime())
      expect(auth.key?.updatedAt.getTime()).toBe(info.updatedAt.getTime())
    }
    // JSON and copies still see plain values.
    expect(JSON.parse(JSON.stringify(second.auth.key)).expiresAt).toBe(info.expiresAt!.toISOString())
    expect({ ...second.auth.key }.expiresAt).toEqual(info.expiresAt)
    // The grant ceiling reads the caller's real expiry: no key outlives it.
    const later = kw.keys.create(
      { name: 'x', orgId: 'org_1', projects: ['prod-site'], expiresAt: new Date(far - 1) },
      { auth: second.auth },
    )
    await expect(later).rejects.toMatchObject({ status: 403, errors: [{ field: 'expiresAt' }] })
    // Nor does verify() read them: the key expires when it does.
    clock.advance(day)
    expect(refused(await kw.verify({ headers: bearer(key) })).code).toBe('invalid_token')
  })

  it("auth.key reaches neither the key's hash nor anything a handler could change for others", async () => {
    const { kw, mint, bearer, clock } = setup()
    const { key, info } = await mint({ scopes: ['admin'], expiresAt: new Date(clock.now() + 86_400_000) })
    const first = ok(await kw.verify({ headers: bearer(key) }))
    const view = first.auth.key as unknown as Record<PropertyKey, unknown>
    const hidden = [...Object.getOwnPropertyNames(view), ...Object.getOwnPropertySymbols(view)].map((name) => view[name])
    // Whatever hangs off the view (hidden properties included) holds no string beyond the info's own fields.
    const strings = JSON.stringify(hidden, (_k, v: unknown) => (typeof v === 'symbol' ? String(v) : v))
    expect(strings).not.toMatch(/[0-9a-f]{64}/)
    // Fresh Dates aside (each read's own), everything reachable is frozen.
    for (const value of hidden)
      if (typeof value === 'object' && value !== null && !(value instanceof Date)) expect(Object.isFrozen(value)).toBe(true)
    for (const symbol of Object.getOwnPropertySymbols(view)) {
      const inner = view[symbol] as Record<string, unknown>
      expect(() => {
        'use strict'
        inner.expiresAt = null
      }).toThrow(TypeError)
    }
    expect(ok(await kw.verify({ headers: bearer(key) })).auth.key?.expiresAt?.getTime()).toBe(info.expiresAt!.getTime())
    // Nor through the prototype every API-key auth shares (review r-k).
    const proto = Object.getPrototypeOf(first.auth) as object
    expect(() => Object.defineProperty(proto, 'subject', { value: 'someone@else' })).toThrow(TypeError)
    expect(ok(await kw.verify({ headers: bearer(key) })).auth.subject).toBeUndefined()
  })

  it('reads X-API-Key and api-key as well as Authorization, from Headers or a record', async () => {
    const { kw, mint } = setup()
    const { key } = await mint()
    ok(await kw.verify({ headers: { 'x-api-key': key } }))
    ok(await kw.verify({ headers: new Headers({ 'api-key': key }) }))
    ok(await kw.verify({ headers: new Headers({ Authorization: `bearer ${key}` }) }))
    ok(await kw.verify({ headers: { authorization: `Bearer ${key}`, 'x-api-key': key } }))
  })

  it('accepts every configured prefix and only this server’s environment', async () => {
    const { kw, mint, bearer } = setup({ prefix: ['bsk', 'bk'], environment: 'test' })
    const a = await mint({ prefix: 'bk', environment: 'test' })
    expect(a.key.startsWith('bk_test_')).toBe(true)
    ok(await kw.verify({ headers: bearer(a.key) }))
    const live = await mint({ environment: 'live' })
    expect(live.key.startsWith('bsk_live_')).toBe(true)
    expect(refused(await kw.verify({ headers: bearer(live.key) })).code).toBe('invalid_token')
  })
})

describe('verify: credential extraction', () => {
  it('answers missing_credentials with a bare Bearer challenge (RFC 6750 §3.1)', async () => {
    const { kw } = setup()
    const e = refused(await kw.verify({ headers: {} }))
    expect(e.code).toBe('missing_credentials')
    expect(e.status).toBe(401)
    expect(e.message).toBe('Missing API token')
    expect(e.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('refuses two different credentials and a credential in the URL with 400', async () => {
    const { kw, mint } = setup()
    const { key } = await mint()
    const other = (await mint()).key
    const e = refused(await kw.verify({ headers: { authorization: `Bearer ${key}`, 'x-api-key': other } }))
    expect(e.code).toBe('invalid_request')
    expect(e.status).toBe(400)
    const u = refused(await kw.verify({ headers: { 'x-api-key': key }, url: `/track?api_key=${key}` }))
    expect(u.code).toBe('invalid_request')
    expect(JSON.stringify(u.toJSON())).not.toContain(key)
    // A key in any query parameter counts, whatever the parameter is called.
    expect(refused(await kw.verify({ headers: {}, url: `/track?k=${key}` })).code).toBe('invalid_request')
    ok(await kw.verify({ headers: { 'x-api-key': key }, url: '/track?page=2&token=abc' }))
  })

  it('reads only the configured headers (TokenKit: api-key beside a session bearer token)', async () => {
    const { kw, mint } = setup({ credentialHeaders: ['api-key'] })
    const { key } = await mint()
    ok(await kw.verify({ headers: { 'api-key': key, authorization: 'Bearer some.session.jwt' } }))
  })
})

describe('verify: token failures look the same whatever the cause', () => {
  it('unknown, bad checksum, foreign prefix, wrong environment, revoked, expired: identical 401s', async () => {
    const { kw, mint, bearer, clock } = setup({ lockout: false })
    const good = await mint({ expiresAt: clock.now() + 60_000 })
    const revoked = await mint()
    await kw.keys.revoke(revoked.info.id)
    const typo = good.key.slice(0, -1) + (good.key.endsWith('a') ? 'b' : 'a')
    const candidates = [
      (await unknownKey()).key,
      typo,
      (await unknownKey('xyz')).key,
      (await unknownKey('bsk', 'test')).key,
      revoked.key,
      'not-a-key-at-all',
      'eyJhbGciOiJIUzI1NiJ9.e30.sig',
    ]
    const bodies = new Set<string>()
    for (const credential of candidates) {
      const e = refused(await kw.verify({ headers: bearer(credential) }))
      expect(e.code).toBe('invalid_token')
      expect(JSON.stringify(e.toJSON())).not.toContain(credential)
      bodies.add(JSON.stringify([e.status, e.headers, e.toJSON()]))
    }
    ok(await kw.verify({ headers: bearer(good.key) }))
    clock.advance(60_000)
    const expired = refused(await kw.verify({ headers: bearer(good.key) }))
    bodies.add(JSON.stringify([expired.status, expired.headers, expired.toJSON()]))
    expect(bodies.size).toBe(1)
    expect(expired.message).toBe('Invalid API token')
    expect(expired.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
  })

  it('rejects malformed keys without touching the store', async () => {
    const store = new MemoryTokenStore()
    const findById = vi.spyOn(store, 'findById')
    const { kw, bearer } = setup({ store })
    for (const bad of ['bsk_live_short', 'bsk_live_' + 'A'.repeat(44), 'zz_live_' + 'A'.repeat(44), 'bsk_prod_' + 'A'.repeat(44)]) {
      expect(refused(await kw.verify({ headers: bearer(bad) })).code).toBe('invalid_token')
    }
    expect(findById).not.toHaveBeenCalled()
  })

  it('hashes with the pepper: a key stored under one pepper fails under another', async () => {
    const store = new MemoryTokenStore()
    const a = setup({ store, pepper: 'pepper-one-0123456789' })
    const { key } = await a.mint()
    ok(await a.kw.verify({ headers: a.bearer(key) }))
    const b = setup({ store, pepper: 'pepper-two-0123456789' })
    expect(refused(await b.kw.verify({ headers: b.bearer(key) })).code).toBe('invalid_token')
    const c = setup({ store })
    expect(refused(await c.kw.verify({ headers: c.bearer(key) })).code).toBe('invalid_token')
  })
})

describe('verify: project, origin, IP and scope rules', () => {
  it('refuses a project the key is not scoped to, and skips the check when no project is named', async () => {
    const { kw, mint, bearer } = setup()
    const { key } = await mint({ projects: ['prod-site'] })
    ok(await kw.verify({ headers: bearer(key), project: 'prod-site' }))
    ok(await kw.verify({ headers: bearer(key) }))
    const e = refused(await kw.verify({ headers: bearer(key), project: 'Prod-Site' }))
    expect(e.code).toBe('project_forbidden')
    expect(e.status).toBe(403)
    expect(e.message).toBe('Token does not have access to this project')
  })

  it('origins only: Origin must match, no Origin is refused, Origin: null never matches', async () => {
    const { kw, mint, bearer } = setup()
    const { key } = await mint({ allowedOrigins: ['example.com'] })
    ok(await kw.verify({ headers: bearer(key, { origin: 'https://example.com' }) }))
    for (const origin of ['https://www.example.com', 'null', 'https://example.com.evil.com']) {
      const e = refused(await kw.verify({ headers: bearer(key, { origin }), ip: '203.0.113.10' }))
      expect(e.code).toBe('origin_forbidden')
      expect(e.message).toBe('Domain not allowed for this token')
    }
    expect(refused(await kw.verify({ headers: bearer(key), ip: '203.0.113.10' })).code).toBe('origin_forbidden')
  })

  it('IPs only: checked whatever Origin the request claims; no address is refused', async () => {
    const { kw, mint, bearer } = setup()
    const { key } = await mint({ allowedIps: ['203.0.113.10', '10.0.0.0/8', '2001:db8::/32'] })
    ok(await kw.verify({ headers: bearer(key), ip: '203.0.113.10' }))
    ok(await kw.verify({ headers: bearer(key), ip: '10.200.3.4' }))
    ok(await kw.verify({ headers: bearer(key), ip: '::ffff:10.1.1.1' }))
    ok(await kw.verify({ headers: bearer(key), ip: '2001:db8:1::5' }))
    const spoof = refused(await kw.verify({ headers: bearer(key, { origin: 'https://example.com' }), ip: '198.51.100.1' }))
    expect(spoof.code).toBe('ip_forbidden')
    expect(spoof.message).toBe('IP address not allowed for this token')
    expect(refused(await kw.verify({ headers: bearer(key) })).code).toBe('ip_forbidden')
    expect(refused(await kw.verify({ headers: bearer(key), ip: 'garbage' })).code).toBe('ip_forbidden')
  })

  it('both: Origin present -> origin list; absent -> IP list', async () => {
    const { kw, mint, bearer } = setup()
    const { key } = await mint({ allowedOrigins: ['app.example.io'], allowedIps: ['203.0.113.10'] })
    ok(await kw.verify({ headers: bearer(key, { origin: 'https://app.example.io' }), ip: '198.51.100.1' }))
    expect(refused(await kw.verify({ headers: bearer(key, { origin: 'https://evil.io' }), ip: '203.0.113.10' })).code).toBe(
      'origin_forbidden',
    )
    ok(await kw.verify({ headers: bearer(key), ip: '203.0.113.10' }))
    expect(refused(await kw.verify({ headers: bearer(key), ip: '198.51.100.1' })).code).toBe('ip_forbidden')
  })

  it('reads X-Origin only when configured, and Origin still wins', async () => {
    const plain = setup()
    const k1 = await plain.mint({ allowedOrigins: ['example.io'] })
    expect(refused(await plain.kw.verify({ headers: plain.bearer(k1.key, { 'x-origin': 'https://example.io' }) })).code).toBe(
      'origin_forbidden',
    )
    const tk = setup({ originHeaders: ['origin', 'x-origin'] })
    const k2 = await tk.mint({ allowedOrigins: ['example.io'] })
    ok(await tk.kw.verify({ headers: tk.bearer(k2.key, { 'x-origin': 'https://example.io' }) }))
    // A page on evil.io cannot vouch for itself with X-Origin: the browser's Origin is read first.
    const e = refused(await tk.kw.verify({ headers: tk.bearer(k2.key, { origin: 'https://evil.io', 'x-origin': 'https://example.io' }) }))
    expect(e.code).toBe('origin_forbidden')
  })

  it('scopes: admin > write > read, other scopes exact and case-sensitive, challenge names what is missing', async () => {
    const { kw, mint, bearer } = setup()
    const read = await mint({ scopes: ['read'] })
    const admin = await mint({ scopes: ['admin', 'billing:view'] })
    ok(await kw.verify({ headers: bearer(admin.key), scopes: ['read', 'write', 'admin', 'billing:view'] }))
    ok(await kw.verify({ headers: bearer(read.key), scopes: 'read' }))
    const e = refused(await kw.verify({ headers: bearer(read.key), scopes: ['write'] }))
    expect(e.code).toBe('insufficient_scope')
    expect(e.status).toBe(403)
    expect(e.headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope", scope="write"')
    expect(refused(await kw.verify({ headers: bearer(admin.key), scopes: ['Billing:view'] })).code).toBe('insufficient_scope')
  })

  it('honours a custom scope hierarchy', async () => {
    const { kw, mint, bearer } = setup({ scopes: { owner: ['admin'], admin: ['write'], write: ['read'] } })
    const { key } = await mint({ scopes: ['owner'] })
    expect(ok(await kw.verify({ headers: bearer(key), scopes: 'read' })).auth.scopes).toEqual(['owner', 'admin', 'write', 'read'])
  })
})

describe('verify: rate limits', () => {
  it('counts successful calls per key against the key’s own rule, with RateLimit headers', async () => {
    const { kw, mint, bearer, clock } = setup()
    const { key } = await mint({ rateLimit: { limit: 3, windowMs: 3_600_000 } })
    const first = ok(await kw.verify({ headers: bearer(key) }))
    expect(first.headers['ratelimit-policy']).toBe('"default";q=3;w=3600')
    expect(first.headers.ratelimit).toBe('"default";r=2;t=1200')
    ok(await kw.verify({ headers: bearer(key) }))
    ok(await kw.verify({ headers: bearer(key) }))
    const e = refused(await kw.verify({ headers: bearer(key) }))
    expect(e.code).toBe('rate_limited')
    expect(e.status).toBe(429)
    expect(e.headers['retry-after']).toBe('1200')
    expect(e.headers['ratelimit']).toBe('"default";r=0;t=3600')
    clock.advance(1_200_000)
    ok(await kw.verify({ headers: bearer(key) }))
  })

  it('1,000 concurrent verifications on a limit of 100 allow exactly 100 (memory limiter)', async () => {
    const store = new MemoryTokenStore()
    const limiter = new MemoryRateLimiter()
    // Two instances sharing the limiter, cold caches: the calls interleave across store lookups.
    const a = setup({ store, limiter, lockout: false })
    const b = setup({ store, limiter, lockout: false })
    const { key } = await a.mint({ rateLimit: { limit: 100, windowMs: 3_600_000 } })
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 ? a : b).kw.verify({ headers: a.bearer(key) })))
    expect(results.filter((r) => r.ok)).toHaveLength(100)
    expect(results.filter((r) => !r.ok && r.error.code === 'rate_limited')).toHaveLength(900)
  })

  it('does not count refused calls toward the quota', async () => {
    const { kw, mint, bearer } = setup()
    const { key } = await mint({ rateLimit: { limit: 1, windowMs: 60_000 }, projects: ['a'] })
    for (let i = 0; i < 5; i++) expect(refused(await kw.verify({ headers: bearer(key), project: 'b' })).code).toBe('project_forbidden')
    ok(await kw.verify({ headers: bearer(key), project: 'a' }))
  })

  it('applies the server default to keys without a rule, and keeps each key’s quota apart', async () => {
    const { kw, mint, bearer } = setup({ defaultRateLimit: { limit: 1, windowMs: 60_000 } })
    const a = await mint()
    const b = await mint()
    ok(await kw.verify({ headers: bearer(a.key) }))
    expect(refused(await kw.verify({ headers: bearer(a.key) })).code).toBe('rate_limited')
    ok(await kw.verify({ headers: bearer(b.key) }))
  })
})

describe('verify: lockout after failed attempts', () => {
  it('blocks an address after 10 failures in 5 minutes, for the rest of the window, valid keys included', async () => {
    const { kw, mint, bearer, clock } = setup()
    const { key } = await mint()
    const bad = (await unknownKey()).key
    for (let i = 0; i < 10; i++) expect(refused(await kw.verify({ headers: bearer(bad), ip: '198.51.100.7' })).code).toBe('invalid_token')
    clock.advance(60_000)
    const blocked = refused(await kw.verify({ headers: bearer(key), ip: '198.51.100.7' }))
    expect(blocked.code).toBe('ip_blocked')
    expect(blocked.status).toBe(429)
    expect(blocked.headers['retry-after']).toBe('240')
    expect(refused(await kw.verify({ headers: bearer((await unknownKey()).key), ip: '198.51.100.7' })).code).toBe('ip_blocked')
    // Malformed keys are refused at parse, before the lockout is consulted: never counted, never a store read.
    expect(refused(await kw.verify({ headers: bearer('garbage'), ip: '198.51.100.7' })).code).toBe('invalid_token')
    ok(await kw.verify({ headers: bearer(key), ip: '198.51.100.8' }))
    clock.advance(240_000)
    ok(await kw.verify({ headers: bearer(key), ip: '198.51.100.7' }))
  })

  it('groups IPv6 addresses by /64 and counts origin/IP refusals but not project or scope refusals', async () => {
    const { kw, mint, bearer } = setup({ lockout: { maxFailures: 3, windowMs: 60_000 } })
    const { key } = await mint({ allowedOrigins: ['example.com'], projects: ['a'] })
    for (let i = 0; i < 5; i++)
      refused(await kw.verify({ headers: bearer(key, { origin: 'https://example.com' }), ip: `2001:db8:1:2::${i}`, project: 'b' }))
    ok(await kw.verify({ headers: bearer(key, { origin: 'https://example.com' }), ip: '2001:db8:1:2::99', project: 'a' }))
    for (let i = 0; i < 3; i++)
      expect(refused(await kw.verify({ headers: bearer(key, { origin: 'https://evil.com' }), ip: `2001:db8:1:2:${i}::1` })).code).toBe(
        'origin_forbidden',
      )
    expect(refused(await kw.verify({ headers: bearer(key, { origin: 'https://example.com' }), ip: '2001:db8:1:2:ffff::1' })).code).toBe(
      'ip_blocked',
    )
    ok(await kw.verify({ headers: bearer(key, { origin: 'https://example.com' }), ip: '2001:db8:1:3::1' }))
  })

  it('holds across keyward instances sharing one limiter', async () => {
    const store = new MemoryTokenStore()
    const limiter = new MemoryRateLimiter()
    const a = setup({ store, limiter, lockout: { maxFailures: 2, windowMs: 60_000 } })
    const b = setup({ store, limiter, lockout: { maxFailures: 2, windowMs: 60_000 } })
    const { key } = await a.mint()
    const bad = (await unknownKey()).key
    refused(await a.kw.verify({ headers: a.bearer(bad), ip: '192.0.2.1' }))
    refused(await a.kw.verify({ headers: a.bearer(bad), ip: '192.0.2.1' }))
    expect(refused(await b.kw.verify({ headers: b.bearer(key), ip: '192.0.2.1' })).code).toBe('ip_blocked')
  })

  it('can be turned off', async () => {
    const { kw, mint, bearer } = setup({ lockout: false })
    const { key } = await mint()
    const bad = (await unknownKey()).key
    for (let i = 0; i < 20; i++) refused(await kw.verify({ headers: bearer(bad), ip: '192.0.2.1' }))
    ok(await kw.verify({ headers: bearer(key), ip: '192.0.2.1' }))
  })
})

describe('verify: fails closed', () => {
  const failing = (base: MemoryTokenStore): TokenStore => ({
    ...bindStore(base),
    findById: () => Promise.reject(new Error('connection refused')),
  })

  it('answers 503 store_unavailable when the store fails, never a pass', async () => {
    const base = new MemoryTokenStore()
    const { mint } = setup({ store: base })
    const { key } = await mint()
    const kw = createKeyward({ prefix: 'bsk', store: failing(base), usageFlushMs: false })
    const e = refused(await kw.verify({ headers: { 'x-api-key': key } }))
    expect(e.code).toBe('store_unavailable')
    expect(e.status).toBe(503)
    expect(JSON.stringify(e.toJSON())).not.toContain('connection refused')
  })

  it('answers 503 when the limiter fails, on the success path and on the failure path', async () => {
    const limiter = { limit: () => Promise.reject(new Error('down')), recordFailure: () => Promise.reject(new Error('down')) }
    const {
      kw: syncKw,
      mint: syncMint,
      bearer: syncBearer,
    } = setup({
      limiter: {
        ...limiter,
        limitSync: () => {
          throw new Error('down')
        },
      },
    })
    expect(refused(await syncKw.verify({ headers: syncBearer((await syncMint()).key), ip: '192.0.2.1' })).code).toBe('store_unavailable')
    const { kw, mint, bearer } = setup({ limiter })
    const { key } = await mint()
    expect(refused(await kw.verify({ headers: bearer(key), ip: '192.0.2.1' })).code).toBe('store_unavailable')
    expect(refused(await kw.verify({ headers: bearer((await unknownKey()).key), ip: '192.0.2.1' })).code).toBe('store_unavailable')
  })

  it('answers 503 when an async limiter throws instead of rejecting, with and without rules on the key', async () => {
    const limiter = {
      limit: (): Promise<never> => {
        throw new Error('down')
      },
      recordFailure: () => Promise.resolve({ blocked: false, retryAfterMs: 0 }),
    }
    const { kw, mint, bearer } = setup({ limiter })
    expect(refused(await kw.verify({ headers: bearer((await mint()).key), ip: '192.0.2.1' })).code).toBe('store_unavailable')
    const limited = (await mint({ rateLimit: { limit: 5, windowMs: 60_000 } })).key
    expect(refused(await kw.verify({ headers: bearer(limited) })).code).toBe('store_unavailable')
  })

  it('resolves a refusal for any request, and rejects only a wrong call with a TypeError', async () => {
    const { kw } = setup()
    expect((await kw.verify({ headers: { authorization: 42, 'x-api-key': ['a', 'b'] } } as never)).ok).toBe(false)
    for (const input of [undefined, null, 42, { headers: null }, { headers: 'x' }, { headers: {}, scopes: 5 }] as unknown[]) {
      await expect(kw.verify(input as never)).rejects.toThrow(TypeError)
    }
  })

  it('answers 503 when the store hands back a record of the wrong shape, rather than trusting it', async () => {
    const base = new MemoryTokenStore()
    const { mint } = setup({ store: base })
    const { key, info } = await mint({ projects: ['prod-site'] })
    const record = (await base.findById(info.id))!
    const variants: Array<Partial<KeyRecord> | Record<string, unknown>> = [
      { projects: 'prod-site' },
      { expiresAt: '2020-01-01T00:00:00Z' },
      { revokedAt: 'yesterday' },
      { allowedOrigins: 'example.com' },
      { rateLimit: [{ limit: '5', windowMs: 1000 }] },
    ]
    for (const bad of variants) {
      const store: TokenStore = { ...bindStore(base), findById: async () => ({ ...record, ...bad }) as KeyRecord }
      const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
      const e = refused(await kw.verify({ headers: { 'x-api-key': key }, project: 'prod' }))
      expect([JSON.stringify(bad), e.code]).toEqual([JSON.stringify(bad), 'store_unavailable'])
    }
  })

  it('sends no RateLimit headers when the limiter could not report the rules (a fail-open policy)', async () => {
    const limiter = {
      limit: () => Promise.resolve({ allowed: true, blocked: false, retryAfterMs: 0, rules: [] }),
      recordFailure: () => Promise.resolve({ blocked: false, retryAfterMs: 0 }),
    }
    const { kw, mint, bearer } = setup({ limiter })
    const r = ok(await kw.verify({ headers: bearer((await mint({ rateLimit: { limit: 5, windowMs: 60_000 } })).key) }))
    expect(r.headers).toEqual({})
  })

  it('refuses whatever the limiter denies, even for a key with no rules of its own', async () => {
    const limiter = {
      limit: () => Promise.resolve({ allowed: false, blocked: false, retryAfterMs: 2000, rules: [] }),
      recordFailure: () => Promise.resolve({ blocked: false, retryAfterMs: 0 }),
    }
    const { kw, mint, bearer } = setup({ limiter })
    const e = refused(await kw.verify({ headers: bearer((await mint()).key), ip: '192.0.2.1' }))
    expect([e.code, e.headers['retry-after']]).toEqual(['rate_limited', '2'])
  })
})

describe('verify: cache and invalidation', () => {
  it('revoke, update and rotate take effect on the very next request despite the cache', async () => {
    const { kw, mint, bearer } = setup()
    const a = await mint({ projects: ['x'] })
    ok(await kw.verify({ headers: bearer(a.key), project: 'x' }))
    await kw.keys.update(a.info.id, { projects: ['y'] })
    expect(refused(await kw.verify({ headers: bearer(a.key), project: 'x' })).code).toBe('project_forbidden')
    await kw.keys.revoke(a.info.id)
    expect(refused(await kw.verify({ headers: bearer(a.key) })).code).toBe('invalid_token')
  })

  it('a revocation counts at once on an instance whose clock lags the revoking one', async () => {
    const store = new MemoryTokenStore()
    const ahead = setup({ store })
    ahead.clock.advance(5000)
    const behind = setup({ store })
    const { key, info } = await ahead.mint()
    ok(await behind.kw.verify({ headers: behind.bearer(key) }))
    await ahead.kw.keys.revoke(info.id)
    expect((await store.findById(info.id))!.revokedAt).toBeGreaterThan(behind.clock.now())
    expect(refused(await behind.kw.verify({ headers: behind.bearer(key) })).code).toBe('invalid_token')
  })

  it('an instance refuses a key revoked through another instance sharing the store', async () => {
    const store = new MemoryTokenStore()
    const a = setup({ store })
    const b = setup({ store })
    const { key, info } = await a.mint()
    ok(await b.kw.verify({ headers: b.bearer(key) }))
    await a.kw.keys.revoke(info.id)
    expect(refused(await b.kw.verify({ headers: b.bearer(key) })).code).toBe('invalid_token')
  })

  it('reads the store once per key while cached, and again after the TTL', async () => {
    const store = new MemoryTokenStore()
    const findById = vi.spyOn(store, 'findById')
    const { kw, mint, bearer, clock } = setup({ store, cache: { ttlMs: 30_000 } })
    const { key } = await mint()
    await Promise.all([kw.verify({ headers: bearer(key) }), kw.verify({ headers: bearer(key) })])
    for (let i = 0; i < 5; i++) ok(await kw.verify({ headers: bearer(key) }))
    expect(findById).toHaveBeenCalledTimes(1)
    clock.advance(30_001)
    ok(await kw.verify({ headers: bearer(key) }))
    expect(findById).toHaveBeenCalledTimes(2)
  })

  it('remembers unknown ids briefly so a flood of one unknown id does not hammer the store', async () => {
    const store = new MemoryTokenStore()
    const findById = vi.spyOn(store, 'findById')
    const { kw, bearer } = setup({ store, lockout: false })
    const bad = (await unknownKey()).key
    for (let i = 0; i < 5; i++) refused(await kw.verify({ headers: bearer(bad) }))
    expect(findById).toHaveBeenCalledTimes(1)
  })

  it('a lookup in flight during a revoke does not put the old record back in the cache', async () => {
    const base = new MemoryTokenStore()
    let release!: () => void
    let gate: Promise<void> | undefined
    const slow: TokenStore = {
      ...bindStore(base),
      findById: async (id) => {
        const held = gate
        const record = await base.findById(id)
        if (held) await held
        return record
      },
    }
    const { kw, mint, bearer } = setup({ store: slow })
    const { key, info } = await mint()
    gate = new Promise<void>((r) => (release = r))
    const inflight = kw.verify({ headers: bearer(key) })
    gate = undefined
    await kw.keys.revoke(info.id)
    release()
    await inflight
    expect(refused(await kw.verify({ headers: bearer(key) })).code).toBe('invalid_token')
  })
})

describe('verify: the hot path writes nothing', () => {
  it('only reads the store; last-used times are written in one batch on flush', async () => {
    const store = new MemoryTokenStore()
    const { kw, mint, bearer, clock } = setup({ store, usageFlushMs: 60_000 })
    const { key, info } = await mint()
    const spies = (['insert', 'update', 'touch'] as const).map((m) => vi.spyOn(store, m))
    for (let i = 0; i < 10; i++) {
      clock.advance(1000)
      ok(await kw.verify({ headers: bearer(key) }))
    }
    for (const spy of spies) expect(spy).not.toHaveBeenCalled()
    await kw.flushUsage()
    expect(spies[2]).toHaveBeenCalledTimes(1)
    expect((await kw.keys.get(info.id))?.lastUsedAt?.getTime()).toBe(clock.now())
    await kw.close()
  })
})

describe('verify: app-supplied input that cannot be trusted into headers', () => {
  it('keeps a required scope that is not a scope token out of the challenge', async () => {
    const { kw, mint, bearer } = setup()
    const { key } = await mint({ scopes: ['read'] })
    const e = refused(await kw.verify({ headers: bearer(key), scopes: ['write', 'evil"\r\nx'] }))
    expect(e.code).toBe('insufficient_scope')
    expect(e.headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope", scope="write"')
  })

  it('refuses a default rate-limit rule whose name would break the RateLimit headers', () => {
    expect(() => createKeyward({ prefix: 'bsk', defaultRateLimit: { limit: 1, windowMs: 1000, name: 'a"b' } })).toThrow(TypeError)
  })
})
