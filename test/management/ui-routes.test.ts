/**
 * The routes the `<keyward-keys>` component needs, on the framework-neutral handler: the script
 * at /ui/keyward-keys.js (no credential, cacheable, revalidated by ETag), GET /capabilities (what
 * the caller may do and grant, narrowed by the app, never widened) and the `csrfHeader` option.
 * The same routes through every adapter, in a browser, are test/ui/browser.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { createManagementHandler, KeywardError, type ManagementOptions, type ManagementRequest } from 'keyward'
import { UI_SCRIPT, UI_SCRIPT_ETAG } from '../../src/management/ui-script.generated.js'
import { setup } from '../support/setup.js'

function harness(options: ManagementOptions = {}) {
  const s = setup()
  const handle = createManagementHandler(s.kw, options)
  const call = async (path: string, init: Partial<ManagementRequest> & { key?: string } = {}) => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) }
    if (init.key !== undefined) headers.authorization = `Bearer ${init.key}`
    const response = await handle({ method: 'GET', ip: '203.0.113.5', ...init, path, headers })
    const json = response.headers['content-type']?.includes('json') ? (JSON.parse(response.body) as Record<string, unknown>) : undefined
    return { ...response, json }
  }
  const mint = async (input: Parameters<typeof s.mint>[0] = {}) => (await s.mint(input)).key
  return { ...s, mint, call }
}

describe('GET /ui/keyward-keys.js', () => {
  it('serves the component without a credential: JavaScript, nosniff, cacheable with an ETag', async () => {
    const { call } = harness({ csrfHeader: 'x-keyward-csrf' })
    const response = await handle200(call)
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(response.headers['x-content-type-options']).toBe('nosniff')
    expect(response.headers['cache-control']).toBe('public, max-age=300')
    expect(response.headers.etag).toBe(UI_SCRIPT_ETAG)
    expect(response.body).toBe(UI_SCRIPT)
    expect(response.body).toContain('customElements.define("keyward-keys"')
  })

  it('answers 304 to a matching If-None-Match, HEAD without a body, 405 to other methods', async () => {
    const { call } = harness()
    expect((await call('/ui/keyward-keys.js', { headers: { 'if-none-match': `W/"x", ${UI_SCRIPT_ETAG}` } })).status).toBe(304)
    expect((await call('/ui/keyward-keys.js', { headers: { 'if-none-match': '"stale"' } })).status).toBe(200)
    const head = await call('/ui/keyward-keys.js', { method: 'HEAD' })
    expect([head.status, head.body]).toEqual([200, ''])
    const post = await call('/ui/keyward-keys.js', { method: 'POST' })
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD'])
  })

  it('is a 404 with ui: false, and a non-boolean ui is a TypeError', async () => {
    const { call, kw } = harness({ ui: false })
    expect((await call('/ui/keyward-keys.js')).status).toBe(404)
    expect(() => createManagementHandler(kw, { ui: 'yes' as never })).toThrow(TypeError)
  })
})

async function handle200(call: ReturnType<typeof harness>['call']) {
  const response = await call('/ui/keyward-keys.js')
  expect(response.status).toBe(200)
  return response
}

describe('GET /capabilities', () => {
  it("answers the caller's actions, grantable scopes and projects, environment and expiry bound", async () => {
    const { call, kw } = harness()
    const expiresAt = new Date(Date.UTC(2027, 0, 1))
    const { key } = await kw.keys.create({ name: 'Admin', orgId: 'org_1', projects: ['a', 'b'], scopes: ['admin'], expiresAt })
    const response = await call('/capabilities', { key })
    expect(response.status).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.json).toEqual({
      actions: ['keys.create', 'keys.list', 'keys.read', 'keys.update', 'keys.rotate', 'keys.revoke'],
      scopes: ['admin', 'write', 'read'],
      projects: ['a', 'b'],
      environment: 'live',
      maxExpiresAt: expiresAt.toISOString(),
      placeBounds: null,
      fields: ['name', 'description', 'projects', 'scopes', 'allowedOrigins', 'allowedIps', 'rateLimit', 'expiresAt'],
      csrfHeader: null,
    })
  })

  it('a caller held to addresses or origins gets its own lists as placeBounds, which a create within them passes', async () => {
    const held = { allowedIps: ['203.0.113.0/24'], allowedOrigins: ['app.example.com'] }
    const { call, kw } = harness()
    const { key } = await kw.keys.create({ name: 'Office', orgId: 'org_1', projects: ['a'], scopes: ['admin'], ...held })
    // Another key's restrictions are nobody else's business: only the caller's own are reported.
    await kw.keys.create({ name: 'Other', orgId: 'org_1', projects: ['a'], allowedIps: ['198.51.100.7'] })
    const headers = { origin: 'https://app.example.com' }
    const answer = (await call('/capabilities', { key, headers })).json!
    expect(answer.placeBounds).toEqual(held)
    // Left empty, the create is refused (the 403 the UI could not foresee); started from the bounds, it passes.
    const create = (body: Record<string, unknown>) =>
      call('/keys', { method: 'POST', key, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect((await create({ name: 'k', projects: ['a'] })).status).toBe(403)
    expect((await create({ name: 'k', projects: ['a'], ...(answer.placeBounds as object) })).status).toBe(201)
    // With grantRestrictions: 'any' the lists bind nothing: none reported.
    const any = setup({ grantRestrictions: 'any' })
    const anyKey = (await any.kw.keys.create({ name: 'Office', orgId: 'org_1', projects: ['a'], scopes: ['admin'], ...held })).key
    const anyAnswer = await createManagementHandler(any.kw)({
      method: 'GET',
      path: '/capabilities',
      ip: '203.0.113.5',
      headers: { authorization: `Bearer ${anyKey}`, ...headers },
    })
    expect(JSON.parse(anyAnswer.body).placeBounds).toBeNull()
  })

  it('needs the management scope like every route; other methods are 405', async () => {
    const { call, mint } = harness()
    expect((await call('/capabilities')).status).toBe(401)
    expect((await call('/capabilities', { key: await mint({ scopes: ['write'] }) })).status).toBe(403)
    const post = await call('/capabilities', { method: 'POST', key: await mint({ scopes: ['admin'] }) })
    expect([post.status, post.headers.allow]).toEqual([405, 'GET'])
  })

  it('lists only the actions authorize approves; none at all is a 403', async () => {
    const readOnly = harness({ authorize: (_auth, action) => action === 'keys.list' || action === 'keys.read' })
    const key = await readOnly.mint({ scopes: ['read'] })
    expect((await readOnly.call('/capabilities', { key })).json?.actions).toEqual(['keys.list', 'keys.read'])
    const nothing = harness({ authorize: () => false })
    expect((await nothing.call('/capabilities', { key: await nothing.mint() })).status).toBe(403)
  })

  it('lets the app narrow scopes, projects, fields and actions, never widen them', async () => {
    const { call, mint } = harness({
      scope: 'write',
      capabilities: () => ({
        scopes: ['read', 'admin', 'made-up'],
        projects: ['a', 'elsewhere'],
        fields: ['name', 'projects', 'expiresAt'],
        actions: ['keys.list', 'keys.create'],
      }),
    })
    const key = await mint({ scopes: ['write'], projects: ['a', 'b'] })
    const answer = (await call('/capabilities', { key })).json!
    expect(answer.scopes).toEqual(['read'])
    expect(answer.projects).toEqual(['a'])
    expect(answer.fields).toEqual(['name', 'projects', 'expiresAt'])
    expect(answer.actions).toEqual(['keys.create', 'keys.list'])
  })

  it('a capabilities hook that throws or answers nonsense is a 500, reported to onError', async () => {
    const errors: unknown[] = []
    const boom = harness({ capabilities: () => Promise.reject(new Error('db down')), onError: (e) => errors.push(e) })
    expect((await boom.call('/capabilities', { key: await boom.mint({ scopes: ['admin'] }) })).status).toBe(500)
    const nonsense = harness({ capabilities: () => ({ scopes: 'read' as never }), onError: (e) => errors.push(e) })
    expect((await nonsense.call('/capabilities', { key: await nonsense.mint({ scopes: ['admin'] }) })).status).toBe(500)
    expect(errors).toHaveLength(2)
  })
})

describe('csrfHeader', () => {
  it('refuses every route without the header, before the credential is read (no lockout, no store)', async () => {
    const { call, mint, kw } = harness({ csrfHeader: 'x-keyward-csrf' })
    const key = await mint({ scopes: ['admin'] })
    for (const [path, method] of [
      ['/keys', 'GET'],
      ['/keys', 'POST'],
      ['/capabilities', 'GET'],
      ['/keys/AAAAAAAA', 'DELETE'],
    ] as const) {
      const refused = await call(path, { method, key })
      expect([refused.status, refused.json?.code]).toEqual([403, 'csrf_header_missing'])
    }
    // A blank value is no header; a cross-site form cannot set it at all.
    expect((await call('/keys', { key, headers: { 'x-keyward-csrf': ' ' } })).status).toBe(403)
    expect((await call('/keys', { key, headers: { 'x-keyward-csrf': '1' } })).status).toBe(200)
    expect((await call('/capabilities', { key, headers: { 'x-keyward-csrf': '1' } })).json?.csrfHeader).toBe('x-keyward-csrf')
    // Nothing was written by the refused POST and DELETE.
    expect(await kw.keys.list({ orgId: 'org_1' })).toHaveLength(1)
  })

  it('must be a custom lowercase header name', () => {
    const { kw } = setup()
    for (const bad of ['X-Keyward', 'authorization', 'cookie', '', 'a b', 7])
      expect(() => createManagementHandler(kw, { csrfHeader: bad as never })).toThrow(/csrfHeader/)
  })
})

describe('the grant ceiling holds whatever capabilities says', () => {
  it('a write the capabilities did not offer is still judged by the policy and the ceiling', async () => {
    const { call, mint } = harness({
      scope: 'write',
      capabilities: () => ({ scopes: ['read'] }),
      policy: ({ input }) => {
        if (Array.isArray(input.scopes) && input.scopes.includes('write'))
          throw new KeywardError('validation_failed', { errors: [{ field: 'scopes', message: 'read only' }] })
      },
    })
    const key = await mint({ scopes: ['write'], projects: ['a'] })
    const body = (scopes: string[]) => JSON.stringify({ name: 'x', projects: ['a'], scopes })
    const headers = { 'content-type': 'application/json' }
    expect((await call('/keys', { method: 'POST', key, headers, body: body(['write']) })).status).toBe(400)
    // The policy lets `admin` through; the grant ceiling refuses it to a `write` caller.
    expect((await call('/keys', { method: 'POST', key, headers, body: body(['admin']) })).status).toBe(403)
    expect((await call('/keys', { method: 'POST', key, headers, body: body(['read']) })).status).toBe(201)
  })
})
