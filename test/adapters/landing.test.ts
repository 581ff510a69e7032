/**
 * Two credentials on purpose, below the contract suite: the option checks of `as`, `credentials`
 * and the guards' `from`, the refusal to overwrite a landing place keyward did not fill, and the
 * core's `verify({ credentialHeaders, accept })`.
 */
import { createServer } from 'node:http'
import express, { type ErrorRequestHandler } from 'express'
import Koa from 'koa'
import { describe, expect, it } from 'vitest'
import { authenticate, requireMfa, requireProject, requireScopes } from '../../adapters/express.js'
import { authenticate as koaAuthenticate } from '../../adapters/koa.js'
import { setup as coreSetup } from '../support/setup.js'
import { listen, setup } from './support.js'

describe('as, credentials and from: checked at start-up', () => {
  const { kw } = setup()
  it.each([
    [{ as: 'constructor' }, /as must be an identifier/],
    [{ as: '__proto__' }, /as must be an identifier/],
    [{ as: 'my session' }, /as must be an identifier/],
    [{ as: 42 }, /as must be an identifier/],
    [{ credentials: {} }, /credentials\.header is required/],
    [{ credentials: { header: 'X-App-Key' } }, /credentials\.header must be a lowercase header name/],
    [{ credentials: { header: [] } }, /credentials\.header must be a lowercase header name or a non-empty list/],
    [{ credentials: { header: 'x-app-key', type: 'session' } }, /credentials\.type must be 'api_key' or 'jwt'/],
    [{ credentials: { headers: 'x-app-key' } }, /unknown option "credentials\.headers" \(did you mean "credentials\.header"\?\)/],
  ])('authenticate(%j) throws', (options, message) => {
    expect(() => authenticate(kw, options as never)).toThrow(message)
    expect(() => koaAuthenticate(kw, options as never)).toThrow(message)
  })

  it('refuses a guard option it does not know, or a from that is no identifier', () => {
    expect(() => requireScopes('admin', { form: 'session' } as never)).toThrow(/unknown option "requireScopes\(\)\.form"/)
    expect(() => requireMfa({ from: 1 } as never)).toThrow(/requireMfa\(\)\.from must be an identifier/)
    expect(() => requireProject(() => 'p', { from: 'toString' })).toThrow(/requireProject\(\)\.from must be an identifier/)
  })
})

describe('a landing place keyward did not fill is never overwritten', () => {
  it('Express: req.session set by another middleware (express-session) is an error, not a silent clobber', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const app = express()
    app.use((req, _res, next) => {
      ;(req as unknown as { session: object }).session = { cookie: {} }
      next()
    })
    app.get('/s', authenticate(kw, { as: 'session' }), (_req, res) => {
      res.json({ reached: true })
    })
    // Express's own getters are someone else's too.
    app.get('/p', authenticate(kw, { as: 'path' }), (_req, res) => {
      res.json({ reached: true })
    })
    // A second authenticate on the same place replaces what keyward put there: that is allowed.
    app.get('/twice', authenticate(kw, { as: 'app' }), authenticate(kw, { as: 'app' }), (req, res) => {
      res.json({ keyId: (req as unknown as { app: { keyId: string } }).app.keyId })
    })
    const handler: ErrorRequestHandler = (error: Error, _req, res, _next) => {
      res.status(500).json({ handled: error.message })
    }
    app.use(handler)
    const server = await listen(createServer(app))
    try {
      for (const path of ['/s', '/p']) {
        const reply = await fetch(`${server.url}${path}`, { headers: { 'x-api-key': key } })
        expect(reply.status).toBe(500)
        expect(((await reply.json()) as { handled: string }).handled).toMatch(
          /cannot set req\.\w+: it already holds a value keyward did not put there/,
        )
      }
      // Express's req.app is the application: as: 'app' must not replace it either.
      const twice = await fetch(`${server.url}/twice`, { headers: { 'x-api-key': key } })
      expect(twice.status).toBe(500)
    } finally {
      await server.close()
    }
  })

  it('Koa: ctx.state.session set by another middleware is an error; a fresh name lands', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const app = new Koa()
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (error) {
        ctx.status = 500
        ctx.body = { handled: (error as Error).message }
      }
    })
    app.use(async (ctx, next) => {
      if (ctx.path === '/taken') ctx.state.session = { user: 'someone' }
      await next()
    })
    app.use(koaAuthenticate(kw, { as: 'session' }))
    app.use(koaAuthenticate(kw, { as: 'session' }))
    app.use((ctx) => {
      ctx.body = { keyId: (ctx.state.session as { keyId: string }).keyId }
    })
    const server = await listen(createServer(app.callback()))
    try {
      const taken = await fetch(`${server.url}/taken`, { headers: { 'x-api-key': key } })
      expect(taken.status).toBe(500)
      expect(((await taken.json()) as { handled: string }).handled).toMatch(/cannot set ctx\.state\.session/)
      // Twice on the same place: the second replaces the first's auth, which keyward put there.
      const free = await fetch(`${server.url}/free`, { headers: { 'x-api-key': key } })
      expect([free.status, await free.json()]).toEqual([200, { keyId: key.slice(9, 17) }])
    } finally {
      await server.close()
    }
  })
})

describe('verify({ credentialHeaders, accept })', () => {
  it('reads only the headers given, so a second credential elsewhere is not "two credentials"', async () => {
    const { kw, mint, bearer } = coreSetup()
    const app = (await mint()).key
    const other = (await mint()).key
    // TokenKit: the app key in api-key, a session in Authorization; by default both are read.
    const headers = { ...bearer(other), 'api-key': app }
    const together = await kw.verify({ headers })
    expect(!together.ok && together.error.code).toBe('invalid_request')
    const r = await kw.verify({ headers, credentialHeaders: ['api-key'] })
    expect(r.ok && r.auth.type === 'api_key' && r.auth.keyId).toBe(app.slice(9, 17))
    const missing = await kw.verify({ headers: bearer(app), credentialHeaders: ['api-key'] })
    expect(!missing.ok && missing.error.code).toBe('missing_credentials')
  })

  it("accept: 'jwt' refuses an API key as invalid_token; 'api_key' refuses a JWT", async () => {
    const { kw, mint, bearer } = coreSetup({
      jwt: { issuer: 'https://api.example', audience: 'api', signingKey: { alg: 'HS256', secret: 'a-test-secret-of-at-least-32-bytes!!' } },
    })
    const key = (await mint()).key
    const { accessToken } = await kw.tokens.issue({ subject: 'u1', org: 'org_1' })
    const asJwt = await kw.verify({ headers: bearer(key), accept: 'jwt' })
    expect(!asJwt.ok && asJwt.error.code).toBe('invalid_token')
    const asKey = await kw.verify({ headers: bearer(accessToken), accept: 'api_key' })
    expect(!asKey.ok && asKey.error.code).toBe('invalid_token')
    expect((await kw.verify({ headers: bearer(key), accept: 'api_key' })).ok).toBe(true)
    expect((await kw.verify({ headers: bearer(accessToken), accept: 'jwt' })).ok).toBe(true)
  })

  it('a wrong credential source is the application bug: a TypeError, not a refusal', async () => {
    const { kw } = coreSetup()
    await expect(kw.verify({ headers: {}, credentialHeaders: [] })).rejects.toThrow(/credentialHeaders must be a non-empty list/)
    await expect(kw.verify({ headers: {}, credentialHeaders: ['X-App'] })).rejects.toThrow(/credentialHeaders must be a non-empty list/)
    await expect(kw.verify({ headers: {}, credentialHeaders: 'x-app' as never })).rejects.toThrow(/credentialHeaders/)
    await expect(kw.verify({ headers: {}, accept: 'session' as never })).rejects.toThrow(/accept must be 'api_key' or 'jwt'/)
  })
})
