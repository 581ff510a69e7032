/**
 * One suite, run against each adapter over real HTTP: a listening server on 127.0.0.1 and fetch.
 * Every adapter test builds the same application (ROUTES below) with its own framework.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Keyward, TrustProxy } from 'keyward'
import { BrokenStore, setup } from './support.js'

/**
 * The application each adapter test builds; handlers answer `{ keyId }` (null without auth):
 * - POST /api/track: authenticate({ scopes: 'write', project: JSON body's projectId, trustProxy })
 * - OPTIONS /api/track: the same authenticate, then 204 with `x-handler: reached`
 * - GET /api/projects/:projectId/stats: authenticate({ scopes: 'read', project: the param, trustProxy })
 * - GET /optional: authenticate({ optional: true, trustProxy })
 * - GET /optional/guarded: authenticate({ optional: true }), requireScopes('read')
 * - GET /admin/:projectId: authenticate(), requireScopes('admin'), requireProject(the param)
 * - GET /custom: authenticate({ onError: (e) => ({ body: { error: e.message } }) }), requireScopes('admin')
 * - OPTIONS /admin/:projectId: the chain of GET /admin/:projectId, then 204 with `x-handler: reached`
 * - GET /hooked/:projectId: authenticate({ onError: BAD_HEADER_HOOK }), requireScopes('write'), requireProject(the param)
 * - GET /hidden: authenticate({ onError: () => ({ status: 404 }) })
 * - GET /mfa/:projectId: authenticate({ scopes: 'read', project: the param }), requireMfa(); answers `{ subject }`
 * - GET /both/:projectId, two credentials on purpose: authenticate({ credentials: { header: 'x-app-key', type: 'api_key' } })
 *   (lands as `auth`), requireScopes('write'), then authenticate({ as: 'session', credentials: { header: 'authorization',
 *   type: 'jwt' } }), requireScopes('admin', { from: 'session' }), requireProject(the param, { from: 'session' }),
 *   requireMfa({ from: 'session' }); answers `{ keyId: auth.keyId, subject: session.subject }`. The fetch adapter
 *   calls authenticateRequest twice, the guards as its options.
 * An error thrown anywhere in a chain reaches the framework's error handling, which answers 500 `{ error: 'handled' }`.
 */
export type StartApp = (kw: Keyward, options: { trustProxy?: TrustProxy }) => Promise<{ url: string; close: () => Promise<void> }>

/** An `onError` hook whose header value no HTTP implementation accepts: writing it throws. */
export const BAD_HEADER_HOOK = () => ({ headers: { 'x-trace': 'bad\nvalue' } })

export interface Reply {
  status: number
  headers: Headers
  text: string
  body: Record<string, unknown>
}

export function adapterContract(name: string, start: StartApp): void {
  describe(`${name} adapter over HTTP`, () => {
    const closers: Array<() => Promise<void>> = []
    afterEach(async () => {
      await Promise.all(closers.splice(0).map((close) => close()))
    })

    async function serve(kwSetup = setup(), trustProxy?: TrustProxy) {
      const app = await start(kwSetup.kw, trustProxy === undefined ? {} : { trustProxy })
      closers.push(app.close)
      const call = async (path: string, init: RequestInit = {}): Promise<Reply> => {
        const res = await fetch(app.url + path, init)
        const text = await res.text()
        let body: Record<string, unknown> = {}
        try {
          body = JSON.parse(text) as Record<string, unknown>
        } catch {
          // Not JSON: the assertion on the body will say so.
        }
        return { status: res.status, headers: res.headers, text, body }
      }
      const track = (headers: Record<string, string>, projectId: unknown = 'prod-site', path = '/api/track') =>
        call(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ projectId, event: 'pageview' }),
        })
      return { ...kwSetup, call, track }
    }

    /** A refusal: problem+json with the code, and no trace of any credential anywhere in it. */
    function expectRefusal(reply: Reply, status: number, code: string, secrets: string[], detail?: string): void {
      expect(reply.status).toBe(status)
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(reply.body).toMatchObject({ status, code, type: `https://keyward.dev/errors/${code}` })
      if (detail !== undefined) expect(reply.body.detail).toBe(detail)
      for (const secret of secrets) {
        expect(reply.text).not.toContain(secret)
        for (const [, value] of reply.headers) expect(value).not.toContain(secret)
      }
    }

    const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

    it('lets a valid key through, attaches the auth and sets the RateLimit headers', async () => {
      const { mint, track, call } = await serve()
      const key = await mint({ rateLimit: { limit: 100, windowMs: 60_000 } })
      const reply = await track(bearer(key))
      expect(reply.status).toBe(200)
      expect(reply.body.keyId).toBe(key.slice(9, 17))
      expect(reply.headers.get('ratelimit-policy')).toBe('"default";q=100;w=60')
      expect(reply.headers.get('ratelimit')).toMatch(/^"default";r=99;t=\d+$/)
      const stats = await call('/api/projects/prod-site/stats', { headers: { 'x-api-key': key } })
      expect(stats.status).toBe(200)
    })

    it('missing credentials: 401 with a bare Bearer realm challenge', async () => {
      const { track } = await serve()
      const reply = await track({})
      expectRefusal(reply, 401, 'missing_credentials', [], 'Missing API token')
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    })

    it('invalid_request: two different credentials, or a credential in the URL', async () => {
      const { mint, track } = await serve()
      const key = await mint()
      const other = await mint()
      const two = await track({ ...bearer(key), 'x-api-key': other })
      expectRefusal(two, 400, 'invalid_request', [key, other])
      expect(two.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_request"')
      const inUrl = await track(bearer(key), 'prod-site', `/api/track?api_key=${key}`)
      expectRefusal(inUrl, 400, 'invalid_request', [key])
    })

    it('invalid_token: a forged key and a revoked one look the same', async () => {
      const { mint, track, kw } = await serve()
      const forged = 'bsk_live_' + 'A'.repeat(44)
      const key = await mint()
      await kw.keys.revoke(key.slice(9, 17))
      for (const credential of [forged, key]) {
        const reply = await track(bearer(credential))
        expectRefusal(reply, 401, 'invalid_token', [credential], 'Invalid API token')
        expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"')
      }
    })

    it('project_forbidden: from the JSON body and from the route param', async () => {
      const { mint, track, call } = await serve()
      const key = await mint({ scopes: ['admin'] })
      expectRefusal(await track(bearer(key), 'other-site'), 403, 'project_forbidden', [key], 'Token does not have access to this project')
      // A projectId that is not a string cannot name a project the key holds.
      expectRefusal(await track(bearer(key), 42), 403, 'project_forbidden', [key])
      expectRefusal(await call('/api/projects/other-site/stats', { headers: bearer(key) }), 403, 'project_forbidden', [key])
    })

    it('origin_forbidden: an Origin the key does not allow', async () => {
      const { mint, track } = await serve()
      const key = await mint({ allowedOrigins: ['example.com'] })
      expect((await track({ ...bearer(key), origin: 'https://example.com' })).status).toBe(200)
      expectRefusal(
        await track({ ...bearer(key), origin: 'https://www.example.com' }),
        403,
        'origin_forbidden',
        [key],
        'Domain not allowed for this token',
      )
    })

    it('ip_forbidden: the socket address is not in the allowlist, and a spoofed X-Forwarded-For is ignored', async () => {
      const { mint, track } = await serve()
      const key = await mint({ allowedIps: ['203.0.113.10'] })
      const reply = await track({ ...bearer(key), 'x-forwarded-for': '203.0.113.10' })
      expectRefusal(reply, 403, 'ip_forbidden', [key], 'IP address not allowed for this token')
      const local = await mint({ allowedIps: ['127.0.0.1'] })
      expect((await track(bearer(local))).status).toBe(200)
    })

    it('trustProxy: a trusted proxy address reads X-Forwarded-For from the right', async () => {
      const { mint, track } = await serve(setup(), ['127.0.0.1'])
      const key = await mint({ allowedIps: ['203.0.113.10'] })
      expect((await track({ ...bearer(key), 'x-forwarded-for': '203.0.113.10' })).status).toBe(200)
      // The client wrote the left entry; the proxy appended the real address on the right.
      const spoofed = await track({ ...bearer(key), 'x-forwarded-for': '203.0.113.10, 198.51.100.7' })
      expectRefusal(spoofed, 403, 'ip_forbidden', [key])
    })

    it('trustProxy: a hop count', async () => {
      const { mint, track } = await serve(setup(), 1)
      const key = await mint({ allowedIps: ['203.0.113.10'] })
      expect((await track({ ...bearer(key), 'x-forwarded-for': '198.51.100.7, 203.0.113.10' })).status).toBe(200)
      expectRefusal(await track({ ...bearer(key), 'x-forwarded-for': '203.0.113.10, 198.51.100.7' }), 403, 'ip_forbidden', [key])
    })

    it('insufficient_scope: 403 with the RFC 6750 challenge; admin covers write', async () => {
      const { mint, track } = await serve()
      const reader = await mint({ scopes: ['read'] })
      const reply = await track(bearer(reader))
      expectRefusal(reply, 403, 'insufficient_scope', [reader])
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="api", error="insufficient_scope", scope="write"')
      expect((await track(bearer(await mint({ scopes: ['admin'] })))).status).toBe(200)
    })

    it('rate_limited: 429 with Retry-After and the RateLimit headers, then allowed again when the window moves', async () => {
      const { mint, track, clock } = await serve()
      const key = await mint({ rateLimit: { limit: 2, windowMs: 60_000 } })
      expect((await track(bearer(key))).status).toBe(200)
      expect((await track(bearer(key))).status).toBe(200)
      const reply = await track(bearer(key))
      expectRefusal(reply, 429, 'rate_limited', [key])
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(reply.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60')
      expect(reply.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/)
      clock.advance(60_000)
      expect((await track(bearer(key))).status).toBe(200)
    })

    it('ip_blocked: 429 after 10 failures from one address, even with a valid key', async () => {
      const { mint, track, clock } = await serve()
      const key = await mint()
      // Well-formed keys this server never issued: each one costs a lookup and counts as a failure.
      const stranger = await setup().mint()
      for (let i = 0; i < 10; i++) expect((await track(bearer(stranger))).status).toBe(401)
      const reply = await track(bearer(key))
      expectRefusal(reply, 429, 'ip_blocked', [key])
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0)
      clock.advance(5 * 60_000 + 1000)
      expect((await track(bearer(key))).status).toBe(200)
    })

    it('store_unavailable: 503 when the store fails, never a pass, and the cause stays private', async () => {
      const { mint, track } = await serve(setup({ store: new BrokenStore() }))
      const key = await mint()
      const reply = await track(bearer(key))
      expectRefusal(reply, 503, 'store_unavailable', [key, 'db.internal'])
      expect(reply.headers.get('retry-after')).toBe('1')
    })

    it('optional: no credential passes with no auth; a bad one is still refused', async () => {
      const { mint, call } = await serve()
      const key = await mint()
      expect((await call('/optional')).body).toEqual({ keyId: null })
      expect((await call('/optional', { headers: bearer(key) })).body).toEqual({ keyId: key.slice(9, 17) })
      const forged = 'bsk_live_' + 'C'.repeat(44)
      expectRefusal(await call('/optional', { headers: bearer(forged) }), 401, 'invalid_token', [forged])
      expectRefusal(await call(`/optional?access_token=${key}`), 400, 'invalid_request', [key])
      // A guard after optional auth makes the credential required again.
      expectRefusal(await call('/optional/guarded'), 401, 'missing_credentials', [])
      expect((await call('/optional/guarded', { headers: bearer(key) })).status).toBe(200)
    })

    it('guards: requireScopes and requireProject per route', async () => {
      const { mint, call } = await serve()
      const writer = await mint({ scopes: ['write'] })
      const admin = await mint({ scopes: ['admin'] })
      const noScope = await call('/admin/prod-site', { headers: bearer(writer) })
      expectRefusal(noScope, 403, 'insufficient_scope', [writer])
      expect(noScope.headers.get('www-authenticate')).toBe('Bearer realm="api", error="insufficient_scope", scope="admin"')
      expect((await call('/admin/prod-site', { headers: bearer(admin) })).status).toBe(200)
      expectRefusal(
        await call('/admin/other-site', { headers: bearer(admin) }),
        403,
        'project_forbidden',
        [admin],
        'Token does not have access to this project',
      )
    })

    it('onError replaces the body, keeps the challenge headers, and shapes the guards after it too', async () => {
      const { mint, call } = await serve()
      const forged = 'bsk_live_' + 'D'.repeat(44)
      const reply = await call('/custom', { headers: bearer(forged) })
      expect(reply.status).toBe(401)
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"')
      expect(reply.body).toEqual({ error: 'Invalid API token' })
      const guarded = await call('/custom', { headers: bearer(await mint({ scopes: ['write'] })) })
      expect(guarded.status).toBe(403)
      expect(guarded.body).toEqual({ error: 'Token does not have the required scope' })
    })

    it('a CORS preflight passes untouched; a plain OPTIONS is authenticated', async () => {
      const { call } = await serve()
      const preflight = await call('/api/track', {
        method: 'OPTIONS',
        headers: { origin: 'https://example.com', 'access-control-request-method': 'POST' },
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('x-handler')).toBe('reached')
      expectRefusal(await call('/api/track', { method: 'OPTIONS' }), 401, 'missing_credentials', [])
    })

    it('the guards let a CORS preflight through too; a plain OPTIONS is still refused', async () => {
      const { call } = await serve()
      const preflight = await call('/admin/prod-site', {
        method: 'OPTIONS',
        headers: { origin: 'https://example.com', 'access-control-request-method': 'DELETE' },
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('x-handler')).toBe('reached')
      expectRefusal(await call('/admin/prod-site', { method: 'OPTIONS' }), 401, 'missing_credentials', [])
    })

    it('with `project` configured, a request naming no project is refused like a wrong one', async () => {
      const { mint, track, call } = await serve()
      const key = await mint({ scopes: ['admin'], projects: ['other-site'] })
      const noProject = (headers: Record<string, string>) =>
        call('/api/track', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ event: 'pageview' }),
        })
      expectRefusal(await noProject(bearer(key)), 403, 'project_forbidden', [key], 'Token does not have access to this project')
      expectRefusal(await track(bearer(key), null), 403, 'project_forbidden', [key])
      // Still 401 first when there is no credential at all.
      expectRefusal(await noProject({}), 401, 'missing_credentials', [])
    })

    it('an onError hook whose headers cannot be written reaches the error handling, from authenticate and from both guards', async () => {
      const { mint, call } = await serve()
      const reader = await mint({ scopes: ['read'] })
      const writer = await mint({ scopes: ['write'] })
      for (const [label, path, headers] of [
        ['authenticate', '/hooked/prod-site', {}],
        ['requireScopes', '/hooked/prod-site', bearer(reader)],
        ['requireProject', '/hooked/other-site', bearer(writer)],
      ] as const) {
        const reply = await call(path, { headers })
        expect(reply.status, label).toBe(500)
        expect(reply.body, label).toEqual({ error: 'handled' })
      }
      expect((await call('/hooked/prod-site', { headers: bearer(writer) })).status).toBe(200)
    })

    it('onError overriding only the status: the problem document says the same status (RFC 9457 §3.1.2)', async () => {
      const { call } = await serve()
      const reply = await call('/hidden')
      expect(reply.status).toBe(404)
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(reply.body).toMatchObject({ status: 404, title: 'Not Found', code: 'missing_credentials', detail: 'Missing API token' })
    })

    it('JWTs through the same middleware: project and scope checks, requireMfa() refuses password-only tokens and API keys', async () => {
      const jwtKw = setup({
        jwt: {
          issuer: 'https://api.example',
          audience: 'api',
          signingKey: { alg: 'HS256', secret: 'a-test-secret-of-at-least-32-bytes!!' },
        },
      })
      const { call, mint, kw } = await serve(jwtKw)
      const { totp } = await import('keyward')
      const secret = totp.generateSecret()
      const withMfa = await kw.tokens.login({
        subject: 'user_42',
        org: 'org_1',
        scopes: ['read'],
        projects: ['p1'],
        twoFactor: { secret, code: totp.code(secret, jwtKw.clock.now()) },
      })
      const passwordOnly = await kw.tokens.login({ subject: 'user_43', org: 'org_1', scopes: ['read'], projects: ['p1'] })
      const key = await mint({ projects: ['p1'] })

      const passed = await call('/mfa/p1', { headers: bearer(withMfa.accessToken) })
      expect([passed.status, passed.body]).toEqual([200, { subject: 'user_42' }])
      for (const credential of [passwordOnly.accessToken, key]) {
        const reply = await call('/mfa/p1', { headers: bearer(credential) })
        expectRefusal(reply, 401, 'mfa_required', [credential])
        expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="api", error="insufficient_user_authentication"')
      }
      expectRefusal(await call('/mfa/p2', { headers: bearer(withMfa.accessToken) }), 403, 'project_forbidden', [withMfa.accessToken])
      expectRefusal(await call('/mfa/p1', { headers: bearer(withMfa.refreshToken) }), 401, 'invalid_token', [withMfa.refreshToken])
      expectRefusal(await call('/mfa/p1'), 401, 'missing_credentials', [])
    })

    it('two credentials on purpose: app key and user session land apart, each from its header, each guard on its own', async () => {
      const { call, mint, kw } = await serve(
        setup({
          jwt: {
            issuer: 'https://api.example',
            audience: 'api',
            signingKey: { alg: 'HS256', secret: 'a-test-secret-of-at-least-32-bytes!!' },
          },
        }),
      )
      const appKey = await mint({ scopes: ['write'] })
      const readKey = await mint({ scopes: ['read'] })
      const session = (scopes: string[], mfa: boolean, subject = 'user_42') =>
        kw.tokens.issue({ subject, org: 'org_1', scopes, projects: ['p1'], mfa }).then((pair) => pair.accessToken)
      const admin = await session(['admin'], true)
      const reader = await session(['read'], true, 'user_43')
      const noMfa = await session(['admin'], false, 'user_44')
      const both = (app: string | undefined, user: string | undefined, project = 'p1') =>
        call(`/both/${project}`, {
          headers: { ...(app === undefined ? {} : { 'x-app-key': app }), ...(user === undefined ? {} : bearer(user)) },
        })

      // Both land, neither overwrites the other; the project guard reads the session (the app key has only prod-site).
      const ok = await both(appKey, admin)
      expect([ok.status, ok.body]).toEqual([200, { keyId: appKey.slice(9, 17), subject: 'user_42' }])
      // Each authenticate reads only its own header: one credential in each is never "two credentials".
      expectRefusal(await both(appKey, undefined), 401, 'missing_credentials', [appKey])
      expectRefusal(await both(undefined, admin), 401, 'missing_credentials', [admin])
      // Each accepts only its kind: an API key is no session, a session token is no app key.
      expectRefusal(await both(appKey, readKey), 401, 'invalid_token', [appKey, readKey])
      expectRefusal(await both(admin, admin), 401, 'invalid_token', [admin])
      // Guards: requireScopes('write') checks the app key, the others the session.
      const appScope = await both(readKey, admin)
      expectRefusal(appScope, 403, 'insufficient_scope', [readKey, admin])
      expect(appScope.headers.get('www-authenticate')).toContain('scope="write"')
      const sessionScope = await both(appKey, reader)
      expectRefusal(sessionScope, 403, 'insufficient_scope', [appKey, reader])
      expect(sessionScope.headers.get('www-authenticate')).toContain('scope="admin"')
      expectRefusal(await both(appKey, noMfa), 401, 'mfa_required', [appKey, noMfa])
      expectRefusal(await both(appKey, admin, 'p2'), 403, 'project_forbidden', [appKey, admin])
    })
  })
}
