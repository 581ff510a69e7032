import { describe, expect, it } from 'vitest'
import { KeywardError, MemoryTokenStore, type TokenStore } from '../../src/index.js'
import { bindStore, setup } from '../support/setup.js'

/** The KeywardError a management call rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<KeywardError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeywardError)
  return error as KeywardError
}

async function validationError(promise: Promise<unknown>): Promise<KeywardError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeywardError)
  expect((error as KeywardError).code).toBe('validation_failed')
  expect((error as KeywardError).status).toBe(400)
  return error as KeywardError
}

describe('keys.create', () => {
  it('returns the key once and info without secret or hash; stores only the hash', async () => {
    const { kw, store } = setup()
    const { key, info } = await kw.keys.create({
      name: 'Production Website Token',
      description: 'Token for tracking events',
      orgId: 'org_1',
      projects: ['prod-site'],
      scopes: ['write'],
      allowedOrigins: ['https://Example.com/', 'www.example.com', 'example.com'],
      allowedIps: ['203.0.113.10', '10.0.0.0/8', '2001:DB8:0:0::/32', '::ffff:192.0.2.1'],
      rateLimit: { limit: 5000, windowMs: 3_600_000 },
      expiresAt: new Date('2027-01-01'),
      metadata: { team: 'web' },
    })
    expect(key).toMatch(/^bsk_live_[0-9A-Za-z]{44}$/)
    expect(info.displayPrefix).toBe(key.slice(0, 'bsk_live_'.length + 8))
    expect(info.allowedOrigins).toEqual(['example.com', 'www.example.com'])
    expect(info.allowedIps).toEqual(['203.0.113.10', '10.0.0.0/8', '2001:db8::/32', '192.0.2.1'])
    expect(info.expiresAt?.toISOString()).toBe('2027-01-01T00:00:00.000Z')
    const record = await store.findById(info.id)
    expect(record?.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(record)).not.toContain(key.slice(17, 47))
    for (const view of [info, await kw.keys.get(info.id), await kw.keys.list({ orgId: 'org_1' })]) {
      const json = JSON.stringify(view)
      expect(json).not.toContain(key)
      expect(json).not.toContain(record!.hash)
      expect(json).not.toContain('"hash"')
    }
  })

  it('accepts the legacy domain field as one allowed origin', async () => {
    const { kw } = setup()
    const { info } = await kw.keys.create({ name: 'legacy', orgId: 'o', projects: ['p'], domain: 'Example.io' })
    expect(info.allowedOrigins).toEqual(['example.io'])
  })

  it('defaults scopes to read and the environment and prefix to the server’s', async () => {
    const { kw } = setup({ prefix: ['bk', 'bsk'], environment: 'test' })
    const { key, info } = await kw.keys.create({ name: 'n', orgId: 'o', projects: ['p'] })
    expect(info.scopes).toEqual(['read'])
    expect(key.startsWith('bk_test_')).toBe(true)
  })

  it('names every bad field in one error and stores nothing', async () => {
    const { kw, store, clock } = setup()
    const e = await validationError(
      kw.keys.create({
        name: '',
        description: 'x'.repeat(501),
        orgId: '',
        projects: [],
        scopes: ['read write'],
        allowedOrigins: ['*.example.com', 'https://example.com/path', 'example.com.'],
        allowedIps: ['10.0.0.1/8', '300.1.1.1', 'fe80::1%eth0'],
        rateLimit: { limit: 0, windowMs: 10 },
        expiresAt: new Date(clock.now() - 1),
        environment: 'prod' as never,
        metadata: [] as never,
      }),
    )
    expect(e.errors?.map((i) => i.field).sort()).toEqual(
      [
        'name',
        'description',
        'orgId',
        'projects',
        'scopes[0]',
        'allowedOrigins[0]',
        'allowedOrigins[1]',
        'allowedOrigins[2]',
        'allowedIps[0]',
        'allowedIps[1]',
        'allowedIps[2]',
        'rateLimit.limit',
        'rateLimit.windowMs',
        'expiresAt',
        'environment',
        'metadata',
      ].sort(),
    )
    expect(e.toJSON().errors).toEqual(e.errors)
    expect(await store.listByOrg('', { includeRevoked: true })).toEqual([])
  })

  it('refuses unknown fields, so a misspelt restriction cannot create an open key', async () => {
    const { kw, store } = setup()
    const e = await validationError(
      kw.keys.create({ name: 'n', orgId: 'org_1', projects: ['p'], allowed_origins: ['example.com'] } as never),
    )
    expect(e.errors).toEqual([{ field: 'allowed_origins', message: 'unknown field' }])
    expect(await store.listByOrg('org_1')).toEqual([])
  })

  it('enforces the length limits at their edges', async () => {
    const { kw } = setup()
    await kw.keys.create({ name: 'n'.repeat(100), description: 'd'.repeat(500), orgId: 'o', projects: ['p'] })
    await validationError(kw.keys.create({ name: 'n'.repeat(101), orgId: 'o', projects: ['p'] }))
    await validationError(kw.keys.create({ name: '   ', orgId: 'o', projects: ['p'] }))
    await validationError(kw.keys.create({ name: 'n', orgId: 'o', projects: ['p'], rateLimit: { limit: 1.5, windowMs: 1000 } }))
    await validationError(kw.keys.create(null as never))
    await validationError(kw.keys.create({ name: 'n', orgId: 'o', projects: ['p'], expiresAt: 1e300 }))
    await validationError(kw.keys.create({ name: 'n', orgId: 'o', projects: ['p'], expiresAt: 8.64e15 + 1 }))
    // The RateLimit-Policy header states windows in whole seconds.
    await validationError(kw.keys.create({ name: 'n', orgId: 'o', projects: ['p'], rateLimit: { limit: 5, windowMs: 1500 } }))
  })

  it('turns a store failure into store_unavailable', async () => {
    const base = new MemoryTokenStore()
    const store: TokenStore = { ...bindStore(base), insert: () => Promise.reject(new Error('db down')) }
    const { kw } = setup({ store })
    const e = await rejection(kw.keys.create({ name: 'n', orgId: 'o', projects: ['p'] }))
    expect(e.code).toBe('store_unavailable')
    expect(e.status).toBe(503)
  })
})

describe('keys.list / get', () => {
  it('lists one org’s live keys, revoked ones on request, with keyset pagination', async () => {
    const { kw, mint } = setup()
    const a = await mint()
    const b = await mint()
    await mint({ orgId: 'org_2' })
    await kw.keys.revoke(b.info.id)
    expect((await kw.keys.list({ orgId: 'org_1' })).map((k) => k.id)).toEqual([a.info.id])
    const all = await kw.keys.list({ orgId: 'org_1', includeRevoked: true })
    expect(all.map((k) => k.id).sort()).toEqual([a.info.id, b.info.id].sort())
    const first = await kw.keys.list({ orgId: 'org_1', includeRevoked: true, limit: 1 })
    const second = await kw.keys.list({ orgId: 'org_1', includeRevoked: true, limit: 1, after: first[0]!.id })
    expect([...first, ...second].map((k) => k.id).sort()).toEqual(all.map((k) => k.id).sort())
    await validationError(kw.keys.list({ orgId: '' }))
  })

  it('get returns null for unknown or malformed ids', async () => {
    const { kw } = setup()
    expect(await kw.keys.get('AAAAAAAA')).toBeNull()
    expect(await kw.keys.get('../../etc')).toBeNull()
  })
})

describe('keys.update / revoke', () => {
  it('updates mutable fields, refuses immutable ones and revoked keys', async () => {
    const { kw, mint, clock } = setup()
    const { info } = await mint()
    clock.advance(1000)
    const updated = await kw.keys.update(info.id, { name: 'Renamed', allowedIps: ['192.0.2.0/24'], expiresAt: null, description: null })
    expect(updated).toMatchObject({ name: 'Renamed', allowedIps: ['192.0.2.0/24'], expiresAt: null, description: null })
    expect(updated.updatedAt.getTime()).toBe(clock.now())
    const e = await validationError(kw.keys.update(info.id, { orgId: 'org_2' } as never))
    expect(e.errors).toEqual([{ field: 'orgId', message: 'cannot be changed after creation' }])
    expect((await kw.keys.get(info.id))?.orgId).toBe('org_1')
    await kw.keys.revoke(info.id)
    const gone = await rejection(kw.keys.update(info.id, { name: 'x' }))
    expect(gone.code).toBe('not_found')
  })

  it('revoke is idempotent and unknown ids are not_found', async () => {
    const { kw, mint } = setup()
    const { info } = await mint()
    const first = await kw.keys.revoke(info.id)
    const again = await kw.keys.revoke(info.id)
    expect(again.revokedAt).toEqual(first.revokedAt)
    expect((await rejection(kw.keys.revoke('AAAAAAAA'))).code).toBe('not_found')
  })
})

describe('keys.rotate', () => {
  it('issues a new secret with the same settings; the old key dies at once by default', async () => {
    const { kw, mint, bearer } = setup()
    const old = await mint({ scopes: ['write'], allowedIps: ['192.0.2.1'], rateLimit: { limit: 10, windowMs: 60_000 } })
    const fresh = await kw.keys.rotate(old.info.id)
    expect(fresh.key).not.toBe(old.key)
    expect(fresh.info).toMatchObject({
      scopes: ['write'],
      allowedIps: ['192.0.2.1'],
      rateLimit: [{ limit: 10, windowMs: 60_000 }],
      rotatedFrom: old.info.id,
    })
    expect((await kw.keys.get(old.info.id))?.rotatedTo).toBe(fresh.info.id)
    expect((await kw.verify({ headers: bearer(old.key), ip: '192.0.2.1' })).ok).toBe(false)
    expect((await kw.verify({ headers: bearer(fresh.key), ip: '192.0.2.1' })).ok).toBe(true)
  })

  it('keeps the old key valid for the grace period, and only that long', async () => {
    const { kw, mint, bearer, clock } = setup()
    const old = await mint()
    await kw.keys.rotate(old.info.id, { gracePeriodMs: 3_600_000 })
    expect((await kw.verify({ headers: bearer(old.key) })).ok).toBe(true)
    clock.advance(3_600_000 - 1)
    expect((await kw.verify({ headers: bearer(old.key) })).ok).toBe(true)
    clock.advance(1)
    expect((await kw.verify({ headers: bearer(old.key) })).ok).toBe(false)
  })

  it('a rotated-out key cannot be revived by update, nor rotated twice', async () => {
    const { kw, mint, bearer, clock } = setup()
    const old = await mint()
    const first = await kw.keys.rotate(old.info.id, { gracePeriodMs: 3_600_000 })
    expect((await rejection(kw.keys.update(old.info.id, { expiresAt: null }))).code).toBe('not_found')
    expect((await rejection(kw.keys.rotate(old.info.id))).code).toBe('not_found')
    expect((await kw.keys.get(old.info.id))?.rotatedTo).toBe(first.info.id)
    clock.advance(3_600_000)
    expect((await kw.verify({ headers: bearer(old.key) })).ok).toBe(false)
    // It can still be revoked outright, ending the grace period early.
    const fresh = await mint()
    await kw.keys.rotate(fresh.info.id, { gracePeriodMs: 60_000 })
    await kw.keys.revoke(fresh.info.id)
    expect((await kw.verify({ headers: bearer(fresh.key) })).ok).toBe(false)
  })

  it('an expired key cannot be updated back to life', async () => {
    const { kw, mint, clock } = setup()
    const k = await mint({ expiresAt: clock.now() + 1000 })
    clock.advance(1000)
    expect((await rejection(kw.keys.update(k.info.id, { expiresAt: null }))).code).toBe('not_found')
  })

  it('validates the grace period and refuses revoked keys', async () => {
    const { kw, mint } = setup()
    const old = await mint()
    await validationError(kw.keys.rotate(old.info.id, { gracePeriodMs: -1 }))
    await validationError(kw.keys.rotate(old.info.id, null as never))
    await kw.keys.revoke(old.info.id)
    expect((await rejection(kw.keys.rotate(old.info.id))).code).toBe('not_found')
  })
})

describe('createKeyward options', () => {
  it('refuses bad options eagerly with a TypeError', async () => {
    const { createKeyward } = await import('../../src/index.js')
    expect(() => createKeyward({ prefix: 'my_app' })).toThrow(TypeError)
    expect(() => createKeyward({ prefix: [] })).toThrow(TypeError)
    expect(() => createKeyward({ prefix: 'bsk', environment: 'prod' as never })).toThrow(TypeError)
    expect(() => createKeyward({ prefix: 'bsk', lockout: { maxFailures: 0, windowMs: 1000 } })).toThrow(TypeError)
    expect(() => createKeyward({ prefix: 'bsk', pepper: 'short' })).toThrow(TypeError)
    expect(() => createKeyward({ prefix: 'bsk', defaultRateLimit: { limit: -1, windowMs: 1000 } })).toThrow(TypeError)
    expect(() => createKeyward({ prefix: 'bsk', cache: { ttlMs: -5 } })).toThrow(TypeError)
    expect(() => createKeyward({ prefix: 'bsk', credentialHeaders: ['Authorization'] })).toThrow(TypeError)
  })
})
