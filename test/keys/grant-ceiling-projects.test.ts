/**
 * The projects a JWT caller may grant agree with the projects verify() lets it use: a token
 * whose `projects` claim is missing or malformed holds none, so it grants none, unless the app
 * answers the caller's projects itself (`callerProjects`).
 */
import type { JWTPayload } from 'jose'
import { describe, expect, it } from 'vitest'
import { createManagementHandler, KeywardError, type AuthContext, type ManagementOptions } from '../../src/index.js'
import { accessClaims, bearer, jwtSetup, SECRET, sign } from '../jwt/support.js'

const AT = { alg: 'HS256', kid: 'default', typ: 'at+jwt' }
const hsKey = new TextEncoder().encode(SECRET)

async function rejection(promise: Promise<unknown>): Promise<KeywardError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeywardError)
  return error as KeywardError
}

/** keyward trusting tokens signed with the test secret, and a forger for any `projects` claim. */
function trusted() {
  const s = jwtSetup({ signingKey: undefined, verificationKeys: [{ alg: 'HS256', secret: SECRET }] })
  const token = (extra: JWTPayload) => sign(accessClaims(s.clock.now(), { scope: 'admin', ...extra }), AT, hsKey)
  const authOf = async (extra: JWTPayload): Promise<AuthContext> => {
    const r = await s.kw.verify({ headers: bearer(await token(extra)) })
    if (!r.ok) throw new Error(r.error.code)
    return r.auth
  }
  const names = async () => (await s.kw.keys.list({ orgId: 'org_1', includeRevoked: true })).map((k) => k.name).sort()
  return { ...s, token, authOf, names }
}

const MALFORMED: Array<[string, unknown]> = [
  ['a string', 'site-a'],
  ['an object', { 'site-a': true }],
  ['a number', 7],
  ['an empty list', []],
  ['only invalid entries', [7, '', 'x\u0000y']],
  ['a valid id beside an invalid one', ['site-a', 7]],
  ['a valid id beside an overlong one', ['site-a', 'p'.repeat(129)]],
]

describe('grant ceiling: a JWT caller grants only the projects verify() lets it use', () => {
  it('the review\'s repro: scope admin, projects "site-a" (a string) cannot mint a key for billing', async () => {
    const { kw, token, authOf, names } = trusted()
    const auth = await authOf({ projects: 'site-a' })
    const error = await rejection(
      kw.keys.create({ name: 'billing key', orgId: 'org_1', projects: ['billing'], scopes: ['read'] }, { auth }),
    )
    expect(error.code).toBe('insufficient_scope')
    expect(error.errors).toEqual([{ field: 'projects', message: 'the caller does not hold: billing' }])
    expect(await names()).toEqual([])
    // And verify() agrees: this token holds no project at all.
    const r = await kw.verify({ headers: bearer(await token({ projects: 'site-a' })), project: 'site-a' })
    expect(r.ok === false && r.error.code).toBe('project_forbidden')
  })

  it.each(MALFORMED)('a projects claim that is %s holds no project, in verify() and in the ceiling', async (_label, projects) => {
    const { kw, token, authOf, names } = trusted()
    const auth = await authOf({ projects })
    expect(auth.projects).toEqual([])
    const r = await kw.verify({ headers: bearer(await token({ projects })), project: 'site-a' })
    expect(r.ok === false && r.error.code).toBe('project_forbidden')
    for (const wanted of [['site-a'], ['billing']]) {
      const error = await rejection(kw.keys.create({ name: 'x', orgId: 'org_1', projects: wanted }, { auth }))
      expect(error.errors?.map((e) => e.field)).toEqual(['projects'])
    }
    expect(await names()).toEqual([])
  })

  it('a JWT without a projects claim grants no project, and cannot change or rotate any key', async () => {
    const { kw, authOf, names } = trusted()
    const auth = await authOf({})
    const error = await rejection(kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['site-a'] }, { auth }))
    expect(error.errors).toEqual([{ field: 'projects', message: 'the caller does not hold: site-a' }])
    const { info } = await kw.keys.create({ name: 'app key', orgId: 'org_1', projects: ['site-a'], scopes: ['read'] })
    expect((await rejection(kw.keys.update(info.id, { name: 'renamed' }, { auth }))).code).toBe('insufficient_scope')
    expect((await rejection(kw.keys.rotate(info.id, {}, { auth }))).code).toBe('insufficient_scope')
    expect(await names()).toEqual(['app key'])
  })

  it('a JWT listing projects grants within them', async () => {
    const { kw, authOf } = trusted()
    const auth = await authOf({ projects: ['site-a', 'site-b'] })
    expect((await kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['site-b'] }, { auth })).info.projects).toEqual(['site-b'])
    expect((await rejection(kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['site-c'] }, { auth }))).code).toBe('insufficient_scope')
  })
})

describe('callerProjects on kw.keys.*: the app answers what a signed-in user holds', () => {
  it("'*' lets a JWT caller grant any project of its org; other checks still hold", async () => {
    const { kw, authOf } = trusted()
    const auth = await authOf({ scope: 'write' })
    const { info } = await kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['billing'] }, { auth, callerProjects: '*' })
    expect(info.projects).toEqual(['billing'])
    expect(
      (
        await rejection(
          kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['billing'], scopes: ['admin'] }, { auth, callerProjects: '*' }),
        )
      ).scope,
    ).toBe('admin')
    expect(
      (await rejection(kw.keys.create({ name: 'x', orgId: 'org_2', projects: ['billing'] }, { auth, callerProjects: '*' }))).errors?.map(
        (e) => e.field,
      ),
    ).toEqual(['orgId'])
    expect((await kw.keys.update(info.id, { name: 'renamed' }, { auth, callerProjects: '*' })).name).toBe('renamed')
  })

  it("a list replaces the token's claim for a JWT caller", async () => {
    const { kw, authOf } = trusted()
    const auth = await authOf({ projects: ['site-a'] })
    expect(
      (await kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['site-b'] }, { auth, callerProjects: ['site-b'] })).info.projects,
    ).toEqual(['site-b'])
    expect(
      (await rejection(kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['site-a'] }, { auth, callerProjects: ['site-b'] }))).code,
    ).toBe('insufficient_scope')
  })

  it("never widens an API key: a key's own projects bound it whatever the app answers", async () => {
    const { kw } = trusted()
    const { key } = await kw.keys.create({ name: 'caller', orgId: 'org_1', projects: ['site-a'], scopes: ['admin'] })
    const r = await kw.verify({ headers: bearer(key) })
    if (!r.ok) throw new Error(r.error.code)
    const error = await rejection(
      kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['billing'] }, { auth: r.auth, callerProjects: '*' }),
    )
    expect(error.errors?.map((e) => e.field)).toEqual(['projects'])
  })

  it('refuses an answer that is neither a list of project ids nor "*" (a TypeError: a bug in the app)', async () => {
    const { kw, authOf, names } = trusted()
    const auth = await authOf({})
    for (const bad of ['all', [7], ['ok', ''], 'site-a', null]) {
      await expect(
        kw.keys.create({ name: 'x', orgId: 'org_1', projects: ['site-a'] }, { auth, callerProjects: bad as never }),
      ).rejects.toThrow(TypeError)
    }
    expect(await names()).toEqual([])
  })
})

describe('callerProjects on the management routes', () => {
  async function route(options: ManagementOptions, claims: JWTPayload, body: Record<string, unknown>) {
    const s = trusted()
    const handle = createManagementHandler(s.kw, options)
    const reply = await handle({
      method: 'POST',
      path: '/keys',
      headers: { ...bearer(await s.token(claims)), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { ...s, status: reply.status, body: JSON.parse(reply.body) as Record<string, unknown> }
  }

  it('without the option, a token with a malformed projects claim is refused (403), nothing stored', async () => {
    const { status, body, names } = await route({}, { projects: 'site-a' }, { name: 'billing key', projects: ['billing'] })
    expect(status).toBe(403)
    expect(body.code).toBe('insufficient_scope')
    expect(await names()).toEqual([])
  })

  it("the app's answer is the JWT caller's projects: a list, or '*' for the whole org", async () => {
    const seen: string[] = []
    const callerProjects = (auth: AuthContext) => {
      seen.push(auth.subject!)
      return auth.subject === 'user_42' ? Promise.resolve(['site-a'] as const) : ('*' as const)
    }
    const listed = await route({ callerProjects }, {}, { name: 'a', projects: ['site-a'] })
    expect(listed.status).toBe(201)
    const outside = await route({ callerProjects }, {}, { name: 'b', projects: ['billing'] })
    expect(outside.status).toBe(403)
    expect(await outside.names()).toEqual([])
    const orgWide = await route({ callerProjects }, { sub: 'owner_1' }, { name: 'c', projects: ['billing'] })
    expect(orgWide.status).toBe(201)
    expect(seen).toEqual(['user_42', 'user_42', 'owner_1'])
  })

  it('fails closed: a resolver that throws or answers nonsense is a 500 and nothing is stored', async () => {
    const errors: unknown[] = []
    for (const callerProjects of [() => Promise.reject(new Error('db down')), () => 'everything' as never, () => null as never]) {
      const { status, names } = await route({ callerProjects, onError: (e) => errors.push(e) }, {}, { name: 'x', projects: ['site-a'] })
      expect(status).toBe(500)
      expect(await names()).toEqual([])
    }
    expect(errors).toHaveLength(3)
  })

  it('is not asked for an API-key caller, nor on reads', async () => {
    const s = trusted()
    let calls = 0
    const handle = createManagementHandler(s.kw, { callerProjects: () => (calls++, '*') })
    const { key } = await s.kw.keys.create({ name: 'caller', orgId: 'org_1', projects: ['site-a'], scopes: ['admin'] })
    const post = await handle({
      method: 'POST',
      path: '/keys',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', projects: ['billing'] }),
    })
    expect(post.status).toBe(403)
    expect((await handle({ method: 'GET', path: '/keys', headers: bearer(await s.token({})) })).status).toBe(200)
    expect(calls).toBe(0)
  })

  it('is checked at start-up', () => {
    const { kw } = trusted()
    expect(() => createManagementHandler(kw, { callerProjects: '*' as never })).toThrow(/callerProjects must be a function/)
  })
})
