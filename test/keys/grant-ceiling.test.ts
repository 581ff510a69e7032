import { describe, expect, it } from 'vitest'
import { actorOf, KeywardError, MemoryTokenStore, type AuthContext, type CreateKeyInput } from '../../src/index.js'
import { jwtSetup, refused } from '../jwt/support.js'
import { GatedStore } from '../support/gated-store.js'
import { setup } from '../support/setup.js'

/** The KeywardError a call rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<KeywardError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeywardError)
  return error as KeywardError
}

function fields(error: KeywardError): string[] {
  return (error.errors ?? []).map((e) => e.field).sort()
}

/** keyward plus a caller: the AuthContext verify() gives for a key minted with `input`. */
async function withCaller(input: Partial<CreateKeyInput>, options: Parameters<typeof setup>[0] = {}) {
  const s = setup(options)
  const { key } = await s.mint({ name: 'Caller', ...input })
  const result = await s.kw.verify({ headers: s.bearer(key) })
  if (!result.ok) throw new Error(`caller key refused: ${result.error.code}`)
  const ids = async () => (await s.kw.keys.list({ orgId: 'org_1', includeRevoked: true })).map((k) => k.id).sort()
  return { ...s, auth: result.auth, ids }
}

describe('grant ceiling on kw.keys.* with the caller', () => {
  it('create: a keys:manage key cannot mint admin (403 naming every missing scope), nothing stored', async () => {
    const { kw, auth, ids } = await withCaller({ scopes: ['keys:manage'] })
    const before = await ids()
    const error = await rejection(kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['prod-site'], scopes: ['admin'] }, { auth }))
    expect(error.code).toBe('insufficient_scope')
    expect(error.status).toBe(403)
    expect(error.scope).toBe('admin write read')
    expect(error.headers['www-authenticate']).toContain('scope="admin write read"')
    expect(fields(error)).toEqual(['scopes'])
    expect(await ids()).toEqual(before)
  })

  it('create: an admin key cannot mint a scope outside the hierarchy, nor owner under a custom one', async () => {
    const { kw, auth, ids } = await withCaller({ scopes: ['admin'] }, { scopes: { owner: ['admin'], admin: ['write'], write: ['read'] } })
    const before = await ids()
    const refund = await rejection(
      kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['prod-site'], scopes: ['write', 'billing:refund'] }, { auth }),
    )
    expect(refund.scope).toBe('billing:refund')
    const owner = await rejection(kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['prod-site'], scopes: ['owner'] }, { auth }))
    expect(owner.scope).toBe('owner')
    expect(await ids()).toEqual(before)
    // Within the ceiling it works, the hierarchy applied: admin covers write and read.
    const { info } = await kw.keys.create(
      { name: 'ok', orgId: 'org_1', projects: ['prod-site'], scopes: ['write', 'read', 'admin'] },
      { auth },
    )
    expect(info.scopes).toEqual(['write', 'read', 'admin'])
  })

  it('the actor actorOf(auth) builds carries the ceiling; a hand-built actor or no context does not (the app vouches)', async () => {
    const { kw, auth } = await withCaller({ scopes: ['write'] })
    const input = { name: 'x', orgId: 'org_1', projects: ['prod-site'], scopes: ['admin'] }
    const error = await rejection(kw.keys.create(input, { actor: actorOf(auth), ip: '203.0.113.10' }))
    expect(error.scope).toBe('admin')
    expect((await kw.keys.create(input, { actor: { type: 'app', subject: 'ops' } })).info.scopes).toEqual(['admin'])
    expect((await kw.keys.create(input)).info.scopes).toEqual(['admin'])
  })

  it('update: cannot widen scopes, and cannot change a key that holds more than the caller; nothing changed', async () => {
    const { kw, mint, auth } = await withCaller({ scopes: ['write'] })
    const reader = await mint({ scopes: ['read'] })
    const widened = await rejection(kw.keys.update(reader.info.id, { scopes: ['admin'] }, { auth }))
    expect(widened.code).toBe('insufficient_scope')
    expect(widened.scope).toBe('admin')
    const stronger = await mint({ scopes: ['admin'], name: 'Stronger' })
    const renamed = await rejection(kw.keys.update(stronger.info.id, { name: 'Mine now', expiresAt: null }, { auth }))
    expect(renamed.code).toBe('insufficient_scope')
    expect(await kw.keys.get(reader.info.id)).toMatchObject({ scopes: ['read'] })
    expect(await kw.keys.get(stronger.info.id)).toMatchObject({ name: 'Stronger', scopes: ['admin'] })
    // Narrowing its own or a weaker key is fine.
    expect((await kw.keys.update(reader.info.id, { scopes: ['write'] }, { auth })).scopes).toEqual(['write'])
  })

  it('update: a weaker caller cannot narrow, rename or shorten a key that holds more than it does (the key as it is counts)', async () => {
    // The review's repro: ['read', 'keys:manage'] turned an admin key into its own ('pwned', read).
    const { kw, mint, auth } = await withCaller({ scopes: ['read', 'keys:manage'] })
    const adminKey = await mint({ scopes: ['admin'], name: 'Admin' })
    const pwned = await rejection(kw.keys.update(adminKey.info.id, { name: 'pwned', scopes: ['read'] }, { auth }))
    expect(pwned.code).toBe('insufficient_scope')
    expect(pwned.scope).toBe('admin write')
    expect(pwned.errors).toEqual([{ field: 'scopes', message: 'the key holds what the caller does not: admin, write' }])
    const wide = await mint({ scopes: ['read'], projects: ['prod-site', 'billing'], name: 'Wide' })
    const narrowed = await rejection(kw.keys.update(wide.info.id, { projects: ['prod-site'] }, { auth }))
    expect(narrowed.errors).toEqual([{ field: 'projects', message: 'the key holds what the caller does not: billing' }])
    expect(await kw.keys.get(adminKey.info.id)).toMatchObject({ name: 'Admin', scopes: ['admin'] })
    expect(await kw.keys.get(wide.info.id)).toMatchObject({ name: 'Wide', projects: ['prod-site', 'billing'] })
    // Revoking it is still allowed: taking power away grants nothing.
    expect((await kw.keys.revoke(adminKey.info.id, {}, { auth })).revokedAt).not.toBeNull()
    // The context alone in second place, as actor or ip already were (it was 400 "unknown option").
    expect((await kw.keys.revoke(wide.info.id, { auth })).revokedAt).not.toBeNull()
  })

  it('update: an expiring caller cannot change a key that outlives it, even to shorten it', async () => {
    const s = setup()
    const expires = s.clock.now() + 86_400_000
    const { key } = await s.mint({ scopes: ['admin'], expiresAt: expires })
    const result = await s.kw.verify({ headers: s.bearer(key) })
    if (!result.ok) throw new Error(result.error.code)
    const forever = await s.mint({ scopes: ['read'], name: 'Forever' })
    const error = await rejection(s.kw.keys.update(forever.info.id, { name: 'mine', expiresAt: expires }, { auth: result.auth }))
    expect(error.errors?.map((e) => e.field)).toEqual(['expiresAt'])
    expect(await s.kw.keys.get(forever.info.id)).toMatchObject({ name: 'Forever', expiresAt: null })
  })

  it('rotate: a key holding more than the caller cannot be rotated; the old key keeps working, no successor stored', async () => {
    const { kw, mint, auth, ids, bearer } = await withCaller({ scopes: ['write'] })
    const stronger = await mint({ scopes: ['admin'] })
    const before = await ids()
    const error = await rejection(kw.keys.rotate(stronger.info.id, {}, { auth }))
    expect(error.code).toBe('insufficient_scope')
    expect(error.scope).toBe('admin')
    expect(await ids()).toEqual(before)
    expect((await kw.verify({ headers: bearer(stronger.key) })).ok).toBe(true)
    const weaker = await mint({ scopes: ['read'] })
    expect((await kw.keys.rotate(weaker.info.id, {}, { auth })).info.scopes).toEqual(['read'])
  })

  it('projects: a key restricted to projects cannot mint or widen a key to others', async () => {
    const { kw, mint, auth, ids } = await withCaller({ scopes: ['admin'], projects: ['site-a', 'site-b'] })
    const before = await ids()
    const error = await rejection(kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['site-a', 'site-c'] }, { auth }))
    expect(error.code).toBe('insufficient_scope')
    expect(error.errors).toEqual([{ field: 'projects', message: 'the caller does not hold: site-c' }])
    expect(await ids()).toEqual(before)
    const other = await mint({ projects: ['site-a'] })
    await rejection(kw.keys.update(other.info.id, { projects: ['site-a', 'site-z'] }, { auth }))
    expect(await kw.keys.get(other.info.id)).toMatchObject({ projects: ['site-a'] })
    expect((await kw.keys.create({ name: 'ok', orgId: 'org_1', projects: ['site-b'] }, { auth })).info.projects).toEqual(['site-b'])
  })

  it('addresses and origins: a key held to networks or origins grants only keys held within them; nothing stored or changed', async () => {
    const s = setup()
    const { key } = await s.mint({
      name: 'Office admin',
      scopes: ['admin'],
      allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
      allowedOrigins: ['app.example.com', 'admin.example.com'],
    })
    const result = await s.kw.verify({ headers: { ...s.bearer(key), origin: 'https://app.example.com' }, ip: '10.1.2.3' })
    if (!result.ok) throw new Error(result.error.code)
    const auth = result.auth
    const ids = async () => (await s.kw.keys.list({ orgId: 'org_1', includeRevoked: true })).map((k) => k.id).sort()
    const before = await ids()
    const base = { name: 'x', orgId: 'org_1', projects: ['prod-site'] }
    // Unrestricted: usable from anywhere, which the caller is not. (Held to both lists, the caller
    // requires an origin list; an IP list is optional, as requests without an Origin meet its own.)
    const anywhere = await rejection(s.kw.keys.create(base, { auth }))
    expect(anywhere.status).toBe(403)
    expect(fields(anywhere)).toEqual(['allowedOrigins'])
    // Wider networks, another family's network outside, an origin the caller lacks.
    const wider = await rejection(
      s.kw.keys.create(
        { ...base, allowedIps: ['10.0.0.0/7', '10.2.0.0/16', '2001:db9::/48', '192.0.2.1'], allowedOrigins: ['evil.example'] },
        { auth },
      ),
    )
    expect(wider.errors).toEqual([
      { field: 'allowedIps', message: 'outside the addresses the caller is held to: 10.0.0.0/7, 2001:db9::/48, 192.0.2.1' },
      { field: 'allowedOrigins', message: 'outside the origins the caller is held to: evil.example' },
    ])
    expect(await ids()).toEqual(before)
    // Within: narrower networks (an address, a /16, an IPv6 /48) and a subset of the origins.
    const { info } = await s.kw.keys.create(
      { ...base, allowedIps: ['10.2.0.0/16', '10.9.9.9', '2001:db8:1::/48'], allowedOrigins: ['app.example.com'] },
      { auth },
    )
    expect(info.allowedIps).toEqual(['10.2.0.0/16', '10.9.9.9', '2001:db8:1::/48'])
    // Update: clearing the origins or widening a list is refused and changes nothing; narrowing works.
    for (const patch of [{ allowedOrigins: [] }, { domain: 'evil.example' }, { allowedIps: ['0.0.0.0/0'] }]) {
      expect((await rejection(s.kw.keys.update(info.id, patch, { auth }))).code).toBe('insufficient_scope')
    }
    expect(await s.kw.keys.get(info.id)).toMatchObject({ allowedIps: info.allowedIps, allowedOrigins: ['app.example.com'] })
    expect((await s.kw.keys.update(info.id, { allowedIps: ['10.2.3.0/24'] }, { auth })).allowedIps).toEqual(['10.2.3.0/24'])
    // A key usable from anywhere holds more than the caller: it cannot be rotated or changed by it.
    const open = await s.mint({ name: 'open', scopes: ['read'] })
    expect(fields(await rejection(s.kw.keys.rotate(open.info.id, {}, { auth })))).toEqual(['allowedOrigins'])
    expect((await rejection(s.kw.keys.update(open.info.id, { name: 'renamed' }, { auth }))).code).toBe('insufficient_scope')
    // A caller held to nothing keeps granting anything.
    const free = await withCaller({ scopes: ['admin'] })
    expect((await free.kw.keys.create(base, { auth: free.auth })).info.allowedIps).toEqual([])
  })

  it('held to addresses only (strict mode): no key it grants admits a request from outside them, whatever Origin is claimed', async () => {
    const s = setup()
    const { key } = await s.mint({ name: 'Office admin', scopes: ['admin'], allowedIps: ['10.0.0.0/8'] })
    const caller = await s.kw.verify({ headers: s.bearer(key), ip: '10.1.2.3' })
    if (!caller.ok) throw new Error(caller.error.code)
    const auth = caller.auth
    const outside = (k: string) => s.kw.verify({ headers: { ...s.bearer(k), origin: 'https://evil.example' }, ip: '198.51.100.7' })
    expect(refused(await outside(key)).code).toBe('ip_forbidden')
    const base = { name: 'x', orgId: 'org_1', projects: ['prod-site'] }
    // An origin list would admit that Origin from any address: refused, on create, update (domain too) and so on rotate.
    const withOrigin = await rejection(
      s.kw.keys.create({ ...base, allowedIps: ['10.0.0.0/8'], allowedOrigins: ['evil.example'] }, { auth }),
    )
    expect(fields(withOrigin)).toEqual(['allowedOrigins'])
    const { key: inner, info } = await s.kw.keys.create({ ...base, allowedIps: ['10.2.0.0/16'] }, { auth })
    for (const patch of [{ allowedOrigins: ['evil.example'] }, { domain: 'evil.example' }, { allowedIps: [] }])
      expect((await rejection(s.kw.keys.update(info.id, patch, { auth }))).code).toBe('insufficient_scope')
    expect(refused(await outside(inner)).code).toBe('ip_forbidden')
    // A key with an origin list made by someone else holds more than the caller: not rotated by it.
    const site = await s.mint({ name: 'site', scopes: ['read'], allowedIps: ['10.2.0.0/16'], allowedOrigins: ['evil.example'] })
    expect(fields(await rejection(s.kw.keys.rotate(site.info.id, {}, { auth })))).toEqual(['allowedOrigins'])
  })

  it('held to origins only (strict mode): no key it grants admits a request without an Origin', async () => {
    const s = setup()
    const { key } = await s.mint({ name: 'Site admin', scopes: ['admin'], allowedOrigins: ['app.example.com'] })
    const caller = await s.kw.verify({ headers: { ...s.bearer(key), origin: 'https://app.example.com' } })
    if (!caller.ok) throw new Error(caller.error.code)
    const auth = caller.auth
    expect(refused(await s.kw.verify({ headers: s.bearer(key), ip: '198.51.100.7' })).code).toBe('origin_forbidden')
    const base = { name: 'x', orgId: 'org_1', projects: ['prod-site'] }
    const withIps = await rejection(
      s.kw.keys.create({ ...base, allowedOrigins: ['app.example.com'], allowedIps: ['0.0.0.0/0', '::/0'] }, { auth }),
    )
    expect(fields(withIps)).toEqual(['allowedIps'])
    const { key: granted } = await s.kw.keys.create({ ...base, allowedOrigins: ['app.example.com'] }, { auth })
    expect(refused(await s.kw.verify({ headers: s.bearer(granted), ip: '198.51.100.7' })).code).toBe('origin_forbidden')
  })

  it("restrictionMode 'origin-or-ip': the lists are independent, so each one the caller has, the key needs within it", async () => {
    const s = setup({ restrictionMode: 'origin-or-ip' })
    const { key } = await s.mint({ name: 'Office admin', scopes: ['admin'], allowedIps: ['10.0.0.0/8'] })
    const caller = await s.kw.verify({ headers: s.bearer(key), ip: '10.1.2.3' })
    if (!caller.ok) throw new Error(caller.error.code)
    const base = { name: 'x', orgId: 'org_1', projects: ['prod-site'] }
    // The caller itself admits any Origin here, so an origin list grants nothing more.
    const { info } = await s.kw.keys.create(
      { ...base, allowedIps: ['10.2.0.0/16'], allowedOrigins: ['www.example.com'] },
      { auth: caller.auth },
    )
    expect(info.allowedOrigins).toEqual(['www.example.com'])
    expect(fields(await rejection(s.kw.keys.create(base, { auth: caller.auth })))).toEqual(['allowedIps'])
  })

  it("grantRestrictions: 'any' lets a caller held to addresses or origins give a key others or none; scopes still bound", async () => {
    const s = setup({ grantRestrictions: 'any' })
    const { key } = await s.mint({ name: 'CI', scopes: ['write'], allowedIps: ['10.0.0.0/8'] })
    const result = await s.kw.verify({ headers: s.bearer(key), ip: '10.1.2.3' })
    if (!result.ok) throw new Error(result.error.code)
    const base = { name: 'site', orgId: 'org_1', projects: ['prod-site'] }
    const { info } = await s.kw.keys.create({ ...base, allowedOrigins: ['www.example.com'] }, { auth: result.auth })
    expect(info.allowedIps).toEqual([])
    expect(fields(await rejection(s.kw.keys.create({ ...base, scopes: ['admin'] }, { auth: result.auth })))).toEqual(['scopes'])
    expect(() => setup({ grantRestrictions: 'none' as never })).toThrow(/grantRestrictions/)
  })

  it('expiry: a key that expires cannot mint or extend a key past its own expiry', async () => {
    const s = setup()
    const expires = s.clock.now() + 86_400_000
    const { key } = await s.mint({ scopes: ['admin'], expiresAt: expires })
    const result = await s.kw.verify({ headers: s.bearer(key) })
    if (!result.ok) throw new Error(result.error.code)
    const auth = result.auth
    const forever = await rejection(s.kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['prod-site'] }, { auth }))
    expect(forever.errors).toEqual([
      { field: 'expiresAt', message: `must be set and no later than the caller's own expiry, ${new Date(expires).toISOString()}` },
    ])
    await rejection(s.kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['prod-site'], expiresAt: expires + 1 }, { auth }))
    const short = await s.kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['prod-site'], expiresAt: expires }, { auth })
    await rejection(s.kw.keys.update(short.info.id, { expiresAt: null }, { auth }))
    expect((await s.kw.keys.get(short.info.id))?.expiresAt?.getTime()).toBe(expires)
  })

  it('org and environment: no key in another org or environment, whatever the scopes', async () => {
    const { kw, auth, mint } = await withCaller({ scopes: ['admin'] })
    const foreign = await rejection(kw.keys.create({ name: 'x', orgId: 'org_2', projects: ['prod-site'] }, { auth }))
    expect(fields(foreign)).toEqual(['orgId'])
    const testKey = await rejection(kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['prod-site'], environment: 'test' }, { auth }))
    expect(fields(testKey)).toEqual(['environment'])
    expect(await kw.keys.list({ orgId: 'org_2' })).toHaveLength(0)
    // Another org's key looks missing, as through the routes.
    const theirs = await mint({ orgId: 'org_2', scopes: ['read'] })
    expect((await rejection(kw.keys.update(theirs.info.id, { name: 'x' }, { auth }))).code).toBe('not_found')
    expect((await rejection(kw.keys.rotate(theirs.info.id, {}, { auth }))).code).toBe('not_found')
  })

  it('a JWT caller: scopes are its ceiling, and its projects claim (none without one) unless the app answers', async () => {
    const s = jwtSetup()
    const verified = async (projects?: string[]): Promise<AuthContext> => {
      const { accessToken } = await s.kw.tokens.issue({
        subject: 'alice',
        org: 'org_1',
        scopes: ['write'],
        ...(projects === undefined ? {} : { projects }),
      })
      const r = await s.kw.verify({ headers: { authorization: `Bearer ${accessToken}` } })
      if (!r.ok) throw new Error(r.error.code)
      return r.auth
    }
    const signedIn = await verified()
    expect(
      fields(await rejection(s.kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['any'], scopes: ['write'] }, { auth: signedIn }))),
    ).toEqual(['projects'])
    expect(
      (await s.kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['any'], scopes: ['write'] }, { auth: signedIn, callerProjects: '*' }))
        .info.projects,
    ).toEqual(['any'])
    expect(
      (
        await rejection(
          s.kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['any'], scopes: ['admin'] }, { auth: signedIn, callerProjects: '*' }),
        )
      ).scope,
    ).toBe('admin')
    const scoped = await verified(['site-a'])
    expect(fields(await rejection(s.kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['any'] }, { auth: scoped })))).toEqual([
      'projects',
    ])
    expect((await s.kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['site-a'] }, { auth: scoped })).info.projects).toEqual([
      'site-a',
    ])
  })
})

describe('grant ceiling: a caller context built by hand', () => {
  it("an api_key caller without its key's record is a TypeError before anything is stored, never unrestricted", async () => {
    // Held to one address and expiring: what verify()'s auth.key carries, and a hand-built context drops.
    const { kw, mint, bearer } = setup()
    const { key } = await mint({ name: 'Caller', scopes: ['admin'], allowedIps: ['10.0.0.1'], expiresAt: new Date(Date.UTC(2030, 0, 1)) })
    const result = await kw.verify({ headers: bearer(key), ip: '10.0.0.1' })
    if (!result.ok) throw new Error(result.error.code)
    const auth = result.auth
    const ids = async () => (await kw.keys.list({ orgId: 'org_1', includeRevoked: true })).map((k) => k.id).sort()
    const target = await mint({ scopes: ['read'] })
    const before = await ids()
    const { key: _key, ...bare } = auth as AuthContext & { key: unknown }
    const contexts: unknown[] = [
      bare,
      { ...bare, key: undefined },
      { ...bare, key: null },
      { ...bare, key: {} },
      { ...bare, key: { ...auth.key, expiresAt: '2030-01-01T00:00:00.000Z' } },
      { ...bare, key: { ...auth.key, allowedIps: undefined } },
      { ...bare, key: { ...auth.key, credits: undefined } },
      { ...bare, type: 'API_KEY' },
      { ...bare, type: undefined },
    ]
    const wide = { name: 'x', orgId: 'org_1', projects: ['prod-site'], scopes: ['read'] }
    for (const context of contexts) {
      const caller = { auth: context as AuthContext }
      await expect(kw.keys.create(wide, caller), JSON.stringify(context)).rejects.toThrow(TypeError)
      await expect(kw.keys.create(wide, { actor: { type: 'app' }, ...caller })).rejects.toThrow(/context\.auth/)
      await expect(kw.keys.update(target.info.id, { expiresAt: null }, caller)).rejects.toThrow(TypeError)
      await expect(kw.keys.rotate(target.info.id, {}, caller)).rejects.toThrow(TypeError)
    }
    expect(await ids()).toEqual(before)
    expect((await kw.keys.get(target.info.id))?.updatedAt.getTime()).toBe(target.info.updatedAt.getTime())
    // The same caller as verify() returned it: held to its address and expiry (403), not unrestricted.
    const held = await rejection(kw.keys.create(wide, { auth }))
    expect(fields(held)).toEqual(['allowedIps', 'expiresAt'])
  })
})

describe('grant ceiling: a context naming no caller', () => {
  it('{ auth: undefined } or { auth: null } (no request authenticated: optional route) is a TypeError, not the app itself', async () => {
    const { kw, mint } = setup()
    const ids = async () => (await kw.keys.list({ orgId: 'org_1', includeRevoked: true })).map((k) => k.id).sort()
    const target = await mint({ scopes: ['read'] })
    const before = await ids()
    const admin = { name: 'x', orgId: 'org_1', projects: ['prod-site'], scopes: ['admin'] }
    for (const auth of [undefined, null]) {
      const context = { auth } as unknown as { auth: AuthContext }
      await expect(kw.keys.create(admin, context)).rejects.toThrow(/context\.auth is (undefined|null)/)
      await expect(kw.keys.create(admin, { ...context, ip: '10.0.0.1' })).rejects.toThrow(TypeError)
      await expect(kw.keys.update(target.info.id, { scopes: ['admin'] }, context)).rejects.toThrow(TypeError)
      await expect(kw.keys.rotate(target.info.id, {}, context)).rejects.toThrow(TypeError)
      await expect(kw.keys.revoke(target.info.id, context)).rejects.toThrow(TypeError)
      await expect(kw.keys.revoke(target.info.id, {}, context)).rejects.toThrow(TypeError)
    }
    expect(await ids()).toEqual(before)
    expect((await kw.keys.get(target.info.id))?.scopes).toEqual(['read'])
    // Leaving auth out is the app acting on its own, as documented.
    await expect(kw.keys.create(admin, { ip: '10.0.0.1' })).resolves.toMatchObject({ info: { scopes: ['admin'] } })
  })
})

describe('grant ceiling under concurrency', () => {
  // The check and the write must see the same record: a key raised to admin between a weaker
  // caller's check and its write must make that write lose and the retry refuse it.
  it('update: a key made stronger between the check and the write is refused, the raise stands', async () => {
    const store = new GatedStore(new MemoryTokenStore())
    const { kw, mint, bearer } = setup({ store })
    const caller = await kw.verify({ headers: bearer((await mint({ name: 'Caller', scopes: ['write'] })).key) })
    if (!caller.ok) throw new Error('caller refused')
    const target = await mint({ name: 'Target', scopes: ['write'] })
    const held = store.holdNextUpdate()
    const rename = kw.keys.update(target.info.id, { name: 'renamed' }, { auth: caller.auth }).then(
      () => null,
      (e: unknown) => e,
    )
    await held.reached
    await kw.keys.update(target.info.id, { scopes: ['admin'] })
    held.release()
    const error = await rename
    expect(error).toBeInstanceOf(KeywardError)
    expect((error as KeywardError).code).toBe('insufficient_scope')
    const after = await kw.keys.get(target.info.id)
    expect(after?.name).toBe('Target')
    expect(after?.scopes).toEqual(['admin'])
  })

  it('rotate: a key made stronger between the check and the write is not rotated by a weaker caller', async () => {
    const store = new GatedStore(new MemoryTokenStore())
    const { kw, mint, bearer } = setup({ store })
    const caller = await kw.verify({ headers: bearer((await mint({ name: 'Caller', scopes: ['write'] })).key) })
    if (!caller.ok) throw new Error('caller refused')
    const target = await mint({ name: 'Target', scopes: ['write'] })
    // The rotation inserts its successor, then its retiring write is held.
    const held = store.holdNextUpdate()
    const rotation = kw.keys.rotate(target.info.id, {}, { auth: caller.auth }).then(
      () => null,
      (e: unknown) => e,
    )
    await held.reached
    await kw.keys.update(target.info.id, { scopes: ['admin'] })
    held.release()
    const error = await rotation
    expect(error).toBeInstanceOf(KeywardError)
    expect((error as KeywardError).code).toBe('insufficient_scope')
    const after = await kw.keys.get(target.info.id)
    expect(after?.rotatedTo).toBeNull()
    // The successor the lost attempt stored never works.
    const live = (await kw.keys.list({ orgId: 'org_1' })).filter((k) => k.name === 'Target')
    expect(live.map((k) => k.id)).toEqual([target.info.id])
  })
})

describe('grant ceiling: a caller that spends credits', () => {
  it('cannot create keys, rotate a key that spends none, nor set, top up or remove any key’s credits; nothing changes', async () => {
    const { kw, auth, ids, mint } = await withCaller({ scopes: ['admin'], credits: { remaining: 5 } })
    expect(auth.credits).toBe(4)
    const before = await ids()
    const create = await rejection(kw.keys.create({ name: 'free', orgId: 'org_1', projects: ['prod-site'] }, { auth }))
    expect([create.code, create.status, fields(create)]).toStrictEqual(['insufficient_scope', 403, ['credits']])
    const nulled = await rejection(kw.keys.create({ name: 'free', orgId: 'org_1', projects: ['prod-site'], credits: null }, { auth }))
    expect(fields(nulled)).toStrictEqual(['credits'])
    // Every issue at once: the scope beyond the caller and the credits.
    const both = await rejection(kw.keys.create({ name: 'free', orgId: 'org_1', projects: ['other'] }, { auth }))
    expect(fields(both)).toStrictEqual(['credits', 'projects'])
    const { info: free } = await mint({ name: 'free' })
    expect(fields(await rejection(kw.keys.rotate(free.id, {}, { auth })))).toStrictEqual(['credits'])
    const own = auth.keyId!
    for (const credits of [{ add: 1_000_000 }, { remaining: 1_000_000 }, null]) {
      const error = await rejection(kw.keys.update(own, { credits }, { auth }))
      expect([error.code, fields(error)]).toStrictEqual(['insufficient_scope', ['credits']])
    }
    expect(fields(await rejection(kw.keys.update(free.id, { credits: { remaining: 1 } }, { auth })))).toStrictEqual(['credits'])
    expect((await kw.keys.get(own, { credits: 'configured' }))?.credits?.remaining).toBe(5)
    expect((await kw.keys.get(free.id))?.credits).toBe(null)
    expect((await ids()).length).toBe(before.length + 1) // the uncredited key minted without a caller
    // A key with credits is refused too: its balance would be one of its own, beside the caller's.
    const withOwn = await rejection(
      kw.keys.create({ name: 'm', orgId: 'org_1', projects: ['prod-site'], credits: { remaining: 1_000_000 } }, { auth }),
    )
    expect(fields(withOwn)).toStrictEqual(['credits'])
    // What stays allowed: a rotation of a credited key (the successor spends the same balance), other fields.
    const { info: metered } = await mint({ name: 'm', credits: { remaining: 1 } })
    expect((await kw.keys.rotate(metered.id, {}, { auth })).info.credits).toMatchObject({ remaining: 1 })
    expect((await kw.keys.update(free.id, { name: 'renamed' }, { auth })).name).toBe('renamed')
    // Nothing that carries power on a key that spends none (review r-d): its holder would use it unmetered.
    for (const patch of [{ scopes: ['read'] }, { projects: ['prod-site'] }, { expiresAt: null }]) {
      expect(fields(await rejection(kw.keys.update(free.id, patch, { auth }))), JSON.stringify(patch)).toStrictEqual(['credits'])
    }
    // A question about the key is answered only to a caller that may act on it: 403, not a 400 on its credits.
    expect((await rejection(kw.keys.update(free.id, { credits: { add: 5 } }, { auth }))).status).toBe(403)
  })

  it('a caller without credits keeps today’s behaviour', async () => {
    const { kw, auth } = await withCaller({ scopes: ['admin'] })
    const { info } = await kw.keys.create({ name: 'free', orgId: 'org_1', projects: ['prod-site'] }, { auth })
    expect((await kw.keys.update(info.id, { credits: { remaining: 3 } }, { auth })).credits).toMatchObject({ remaining: 3 })
  })
})
