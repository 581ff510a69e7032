import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono, type Context } from 'hono'
import { describe, expect, it } from 'vitest'
import { authenticate, requireMfa, requireProject, requireScopes, type OptionalKeywardVariables } from '../../adapters/hono.js'
import { adapterContract, BAD_HEADER_HOOK, type StartApp } from './contract.js'
import { listen, setup } from './support.js'

const projectFromBody = async (c: Context) => {
  const body = (await c.req.json().catch(() => null)) as { projectId?: string } | null
  return body?.projectId
}

function buildApp(kw: Parameters<StartApp>[0], trustProxy?: Parameters<StartApp>[1]['trustProxy']) {
  const app = new Hono<{ Variables: OptionalKeywardVariables }>()
  const answer = (c: Context<{ Variables: OptionalKeywardVariables }>) => c.json({ keyId: c.get('auth')?.keyId ?? null })
  const track = authenticate(kw, { scopes: 'write', project: projectFromBody, trustProxy })
  app.post('/api/track', track, answer)
  app.options('/api/track', track, (c) => c.body(null, 204, { 'x-handler': 'reached' }))
  app.get(
    '/api/projects/:projectId/stats',
    authenticate(kw, { scopes: 'read', project: (c) => c.req.param('projectId'), trustProxy }),
    answer,
  )
  app.get('/optional', authenticate(kw, { optional: true, trustProxy }), answer)
  app.get('/optional/guarded', authenticate(kw, { optional: true }), requireScopes('read'), answer)
  app.get(
    '/admin/:projectId',
    authenticate(kw),
    requireScopes('admin'),
    requireProject((c) => c.req.param('projectId')),
    answer,
  )
  app.get('/custom', authenticate(kw, { onError: (error) => ({ body: { error: error.message } }) }), requireScopes('admin'), answer)
  app.options(
    '/admin/:projectId',
    authenticate(kw),
    requireScopes('admin'),
    requireProject((c) => c.req.param('projectId')),
    (c) => c.body(null, 204, { 'x-handler': 'reached' }),
  )
  app.get(
    '/hooked/:projectId',
    authenticate(kw, { onError: BAD_HEADER_HOOK }),
    requireScopes('write'),
    requireProject((c) => c.req.param('projectId')),
    answer,
  )
  app.get('/hidden', authenticate(kw, { onError: () => ({ status: 404 }) }), answer)
  app.get('/mfa/:projectId', authenticate(kw, { scopes: 'read', project: (c) => c.req.param('projectId') }), requireMfa(), (c) =>
    c.json({ subject: c.get('auth')?.subject ?? null }),
  )
  app.get(
    '/both/:projectId',
    authenticate(kw, { credentials: { header: 'x-app-key', type: 'api_key' } }),
    requireScopes('write'),
    authenticate(kw, { as: 'session', credentials: { header: 'authorization', type: 'jwt' } }),
    requireScopes('admin', { from: 'session' }),
    requireProject((c) => c.req.param('projectId'), { from: 'session' }),
    requireMfa({ from: 'session' }),
    // Typed by the chain: c.get('session') is the session's AuthContext, c.get('auth') the app key's.
    (c) => c.json({ keyId: c.get('auth').keyId ?? null, subject: c.get('session').subject ?? null }),
  )
  app.onError((_error, c) => c.json({ error: 'handled' }, 500))
  return app
}

const start: StartApp = (kw, { trustProxy }) => listen(createAdaptorServer({ fetch: buildApp(kw, trustProxy).fetch }) as Server)

// Over a real socket through @hono/node-server: the address comes from the connection by default.
adapterContract('Hono (@hono/node-server)', start)

describe('Hono on Web Requests (app.request, as on Workers)', () => {
  it('authenticates a Web Request with no socket at all', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 10, windowMs: 60_000 } })
    const app = buildApp(kw)
    const ok = await app.request(
      new Request('https://api.example/api/track', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ projectId: 'prod-site' }),
      }),
    )
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ keyId: key.slice(9, 17) })
    expect(ok.headers.get('ratelimit-policy')).toBe('"default";q=10;w=60')

    const missing = await app.request('/api/track', { method: 'POST' })
    expect(missing.status).toBe(401)
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="api"')

    const wrongProject = await app.request('/api/projects/other-site/stats', { headers: { 'x-api-key': key } })
    expect(wrongProject.status).toBe(403)
    expect(await wrongProject.json()).toMatchObject({ code: 'project_forbidden', detail: 'Token does not have access to this project' })
  })

  it('without a socket, a key limited to IPs is refused unless getConnInfo says where the request comes from', async () => {
    const { kw, mint } = setup()
    const key = await mint({ allowedIps: ['198.51.100.7'] })
    const headers = { 'x-api-key': key }
    const plain = new Hono().get('/x', authenticate(kw), (c) => c.json({ org: c.get('auth').org }))
    expect((await plain.request('/x', { headers })).status).toBe(403)
    // What hono/cloudflare-workers' getConnInfo does: Cloudflare sets cf-connecting-ip itself.
    const cf = new Hono().get(
      '/x',
      authenticate(kw, { getConnInfo: (c) => ({ remote: { address: c.req.header('cf-connecting-ip') } }) }),
      (c) => c.json({ org: c.get('auth').org }),
    )
    const res = await cf.request('/x', { headers: { ...headers, 'cf-connecting-ip': '198.51.100.7' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ org: 'org_1' })
  })

  it('keeps the RateLimit headers when the handler builds its own Response', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 5, windowMs: 60_000 } })
    const app = new Hono().get('/raw', authenticate(kw), () => new Response('done'))
    // The first request reads the store, the second is answered from the cache in the same turn.
    for (const remaining of [4, 3]) {
      const res = await app.request('/raw', { headers: { 'x-api-key': key } })
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"default";r=${remaining};t=\\d+$`))
    }
  })

  it('a cached key reaches the handler in the same turn; a failure is a rejection, never a synchronous throw', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 100, windowMs: 60_000 } })
    // Whether the handler ran before next() returned to the middleware in front of authenticate().
    const sameTurn: boolean[] = []
    let reached = false
    const app = new Hono()
    app.use(async (_c, next) => {
      reached = false
      const running = next()
      sameTurn.push(reached)
      await running
    })
    app.get('/x', authenticate(kw), (c) => {
      reached = true
      return c.json({ keyId: c.get('auth').keyId })
    })
    const responses = [
      await app.request('/x', { headers: { 'x-api-key': key } }),
      await app.request('/x', { headers: { 'x-api-key': key } }),
    ]
    // The first request read the store (later turn); the second was cached (same turn).
    expect(sameTurn).toEqual([false, true])
    expect(await Promise.all(responses.map((res) => res.json()))).toEqual([{ keyId: key.slice(9, 17) }, { keyId: key.slice(9, 17) }])
    expect(responses.map((res) => res.headers.get('ratelimit'))).toEqual([expect.stringMatching(/r=99/), expect.stringMatching(/r=98/)])
    // Called directly: a synchronous throw (project) comes back as a rejected promise.
    const c = { req: { method: 'GET', raw: { headers: new Headers({ 'x-api-key': key }) } } } as unknown as Context
    let returned: unknown
    const middleware = authenticate(kw, {
      project: () => {
        throw new Error('sync project')
      },
    })
    expect(() => (returned = middleware(c, () => Promise.resolve()))).not.toThrow()
    await expect(returned).rejects.toThrow('sync project')
    // Landing on a variable another middleware set, for a cached key (so after the decision came at
    // once): a rejection too, and the next handler never runs.
    const taken = { ...c, get: () => 'someone else', set: () => undefined } as unknown as Context
    let ran = false
    expect(() => (returned = authenticate(kw, { as: 'session' })(taken, () => Promise.resolve(void (ran = true))))).not.toThrow()
    await expect(returned).rejects.toThrow(/cannot set c\.var\.session/)
    expect(ran).toBe(false)
    // A hand-made chain whose next() returns no promise: the middleware still settles.
    const plain = { ...c, set: () => undefined, header: () => undefined, res: new Response('x') } as unknown as Context
    await expect(authenticate(kw)(plain, (() => undefined) as never)).resolves.toBeUndefined()
  })

  it('lets an error thrown by the project function reach app.onError', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const app = new Hono()
    app.onError((error, c) => c.json({ handled: error.message }, 500))
    app.get('/x', authenticate(kw, { project: () => Promise.reject(new Error('bad body')) }), (c) => c.text('reached'))
    const res = await app.request('/x', { headers: { 'x-api-key': key } })
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ handled: 'bad body' })
  })
})

describe('Hono over @hono/node-server with its getConnInfo', () => {
  it('reads the client address from the connection', async () => {
    const { kw, mint } = setup()
    const key = await mint({ allowedIps: ['127.0.0.1'] })
    const app = new Hono().get('/x', authenticate(kw, { getConnInfo }), (c) => c.json({ keyId: c.get('auth').keyId }))
    const server = await listen(createAdaptorServer({ fetch: app.fetch }) as Server)
    try {
      const res = await fetch(`${server.url}/x`, { headers: { 'x-api-key': key } })
      expect(res.status).toBe(200)
    } finally {
      await server.close()
    }
  })
})
