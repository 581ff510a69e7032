import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import type { AuthContext } from 'keyward'
import { describe, expect, it } from 'vitest'
import { authenticateRequest, withAuth, type WithAuthOptions } from '../../adapters/fetch.js'
import { adapterContract, BAD_HEADER_HOOK, type StartApp } from './contract.js'
import { listen, setup } from './support.js'

/** What @hono/node-server hands a fetch function after the Request: the Node request, with its socket. */
type Env = { incoming: { socket: { remoteAddress?: string } } }
type Handler = (request: Request, env: Env) => Promise<Response>

const socketAddress = (_request: Request, env: Env) => env.incoming.socket.remoteAddress
// The handlers name the argument after the request, Env: withAuth infers its arguments from the handler.
const answer = (_request: Request, auth: AuthContext | undefined, _env: Env) => Response.json({ keyId: auth?.keyId ?? null })
const reached = () => new Response(null, { status: 204, headers: { 'x-handler': 'reached' } })

async function projectFromBody(request: Request): Promise<unknown> {
  const body = (await request
    .clone()
    .json()
    .catch(() => null)) as { projectId?: unknown } | null
  return body?.projectId
}

/**
 * The contract's application with the fetch adapter: a table of (method, path pattern) -> handler,
 * served over real HTTP through @hono/node-server's Request bridge. What the other adapters do
 * with guards after `authenticate()` is here options of `withAuth` (scopes, project, requireMfa).
 * An error thrown anywhere is caught by the app and answered 500 `{ error: 'handled' }`.
 */
function buildApp(kw: Parameters<StartApp>[0], trustProxy?: Parameters<StartApp>[1]['trustProxy']): Handler {
  const base: WithAuthOptions<[Env]> = { ip: socketAddress }
  const param = (pattern: RegExp) => (request: Request) => pattern.exec(new URL(request.url).pathname)?.[1]
  const adminProject = param(/^\/admin\/([^/]+)$/)
  // Two credentials on purpose: each result is a value of its own, so nothing can overwrite the other.
  const appKeyOptions = { credentials: { header: 'x-app-key', type: 'api_key' }, scopes: 'write' } as const
  const sessionOptions = {
    credentials: { header: 'authorization', type: 'jwt' },
    scopes: 'admin',
    project: param(/^\/both\/([^/]+)$/),
    requireMfa: true,
  } as const
  const both: Handler = async (request, env) => {
    const ip = socketAddress(request, env)
    const appKey = await authenticateRequest(kw, request, appKeyOptions, { ip })
    if (!appKey.ok) return appKey.response
    const session = await authenticateRequest(kw, request, sessionOptions, { ip })
    if (!session.ok) return session.response
    return Response.json({ keyId: appKey.auth.keyId ?? null, subject: session.auth.subject ?? null })
  }
  const routes: Array<[string, RegExp, Handler]> = [
    ['POST', /^\/api\/track$/, withAuth(kw, answer, { ...base, scopes: 'write', project: projectFromBody, trustProxy })],
    [
      'OPTIONS',
      /^\/api\/track$/,
      withAuth(kw, answer, { ...base, scopes: 'write', project: projectFromBody, trustProxy, preflight: reached }),
    ],
    [
      'GET',
      /^\/api\/projects\/[^/]+\/stats$/,
      withAuth(kw, answer, { ...base, scopes: 'read', project: param(/^\/api\/projects\/([^/]+)\/stats$/), trustProxy }),
    ],
    ['GET', /^\/optional$/, withAuth(kw, answer, { ...base, optional: true, trustProxy })],
    ['GET', /^\/optional\/guarded$/, withAuth(kw, answer, { ...base, scopes: 'read' })],
    ['GET', /^\/admin\/[^/]+$/, withAuth(kw, answer, { ...base, scopes: 'admin', project: adminProject })],
    ['GET', /^\/custom$/, withAuth(kw, answer, { ...base, scopes: 'admin', onError: (error) => ({ body: { error: error.message } }) })],
    ['OPTIONS', /^\/admin\/[^/]+$/, withAuth(kw, answer, { ...base, scopes: 'admin', project: adminProject, preflight: reached })],
    [
      'GET',
      /^\/hooked\/[^/]+$/,
      withAuth(kw, answer, { ...base, scopes: 'write', project: param(/^\/hooked\/([^/]+)$/), onError: BAD_HEADER_HOOK }),
    ],
    ['GET', /^\/hidden$/, withAuth(kw, answer, { ...base, onError: () => ({ status: 404 }) })],
    [
      'GET',
      /^\/mfa\/[^/]+$/,
      withAuth(kw, (_request, auth, _env: Env) => Response.json({ subject: auth.subject ?? null }), {
        ...base,
        scopes: 'read',
        project: param(/^\/mfa\/([^/]+)$/),
        requireMfa: true,
      }),
    ],
    ['GET', /^\/both\/[^/]+$/, both],
  ]
  return async (request, env) => {
    const { pathname } = new URL(request.url)
    const route = routes.find(([method, pattern]) => method === request.method && pattern.test(pathname))
    try {
      return route === undefined ? new Response(null, { status: 404 }) : await route[2](request, env)
    } catch {
      return Response.json({ error: 'handled' }, { status: 500 })
    }
  }
}

const start: StartApp = (kw, { trustProxy }) => listen(createAdaptorServer({ fetch: buildApp(kw, trustProxy) as never }) as Server)

adapterContract('fetch (withAuth over @hono/node-server)', start)

describe('fetch adapter without a server', () => {
  const post = (key: string | undefined, init: RequestInit = {}) =>
    new Request('https://api.example/track', {
      method: 'POST',
      ...init,
      headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...(init.headers as Record<string, string>) },
    })

  it('authenticateRequest: auth and the RateLimit headers, or a ready problem Response', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 10, windowMs: 60_000 } })
    const ok = await authenticateRequest(kw, post(key), { scopes: 'write' })
    expect(ok.ok && ok.auth.keyId).toBe(key.slice(9, 17))
    expect(ok.ok && ok.headers['ratelimit-policy']).toBe('"default";q=10;w=60')
    const refused = await authenticateRequest(kw, post(undefined), { scopes: 'write' })
    if (refused.ok) throw new Error('a request without a credential was let through')
    expect([refused.response.status, refused.preflight]).toEqual([401, false])
    expect(refused.response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(refused.response.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    expect(await refused.response.json()).toMatchObject({ code: 'missing_credentials', detail: 'Missing API token' })
  })

  it('a CORS preflight is not authenticated: an empty 204, marked, for the app to answer', async () => {
    const { kw } = setup()
    const preflight = new Request('https://api.example/track', {
      method: 'OPTIONS',
      headers: { origin: 'https://site.example', 'access-control-request-method': 'POST' },
    })
    const result = await authenticateRequest(kw, preflight)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect([result.preflight, result.response.status, result.response.headers.get('access-control-allow-origin')]).toEqual([
      true,
      204,
      null,
    ])
    const wrapped = withAuth(kw, () => new Response('handler ran'))
    expect((await wrapped(preflight)).status).toBe(204)
  })

  it('without an address, a key limited to IPs is refused; the per-request context or the ip option gives one', async () => {
    const { kw, mint } = setup()
    const key = await mint({ allowedIps: ['198.51.100.7'] })
    expect((await authenticateRequest(kw, post(key))).ok).toBe(false)
    expect((await authenticateRequest(kw, post(key), {}, { ip: '198.51.100.7' })).ok).toBe(true)
    const fromHeader = { ip: (request: Request) => request.headers.get('cf-connecting-ip') ?? undefined }
    expect((await authenticateRequest(kw, post(key, { headers: { 'cf-connecting-ip': '198.51.100.7' } }), fromHeader)).ok).toBe(true)
    expect((await authenticateRequest(kw, post(key, { headers: { 'cf-connecting-ip': '198.51.100.8' } }), fromHeader)).ok).toBe(false)
  })

  it("withAuth keeps the handler's own headers, adds the RateLimit ones, also to an immutable Response", async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 5, windowMs: 60_000 } })
    const own = await withAuth(kw, () => new Response('ok', { headers: { ratelimit: 'mine' } }))(post(key))
    expect([own.headers.get('ratelimit'), own.headers.get('ratelimit-policy')]).toEqual(['mine', '"default";q=5;w=60'])
    const redirect = await withAuth(kw, () => Response.redirect('https://api.example/elsewhere', 302))(post(key))
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, 'https://api.example/elsewhere'])
    expect(redirect.headers.get('ratelimit')).toMatch(/^"default";r=3;t=\d+$/)
  })

  it('withAuth hands on the arguments after the request, and a ctx.waitUntil receives the last-used write', async () => {
    const { kw, mint, clock } = setup({ usageFlushMs: 100 })
    const key = await mint()
    const kept: Array<Promise<unknown>> = []
    const ctx = { waitUntil: (promise: Promise<unknown>) => void kept.push(promise) }
    const env = { name: 'env' }
    const handler = withAuth(kw, (_request, auth, e: typeof env, c: typeof ctx) =>
      Response.json({ org: auth.org, env: e.name, same: c === ctx }),
    )
    const first = await handler(post(key), env, ctx)
    expect(await first.json()).toEqual({ org: 'org_1', env: 'env', same: true })
    // The batch is due at the next request after the interval: the write goes through waitUntil.
    clock.advance(200)
    await handler(post(key), env, ctx)
    expect(kept.length).toBeGreaterThan(0)
    await Promise.all(kept)
    expect((await kw.keys.get(key.slice(9, 17)))?.lastUsedAt).not.toBeNull()
  })

  it('refuses bad options at start-up, and a handler error rejects', async () => {
    const { kw, mint } = setup()
    expect(() => withAuth(kw, () => new Response(), { scope: 'read' } as never)).toThrow(/unknown option "scope"/)
    expect(() => withAuth(kw, () => new Response(), { ip: '1.2.3.4' } as never)).toThrow(/ip must be a function/)
    expect(() => withAuth(kw, () => new Response(), { project: 'p' } as never)).toThrow(/project must be a function/)
    expect(() => withAuth(kw, 'handler' as never)).toThrow(/needs a handler/)
    await expect(authenticateRequest(kw, post(undefined), { requireMfa: 'yes' } as never)).rejects.toThrow(/requireMfa/)
    const key = await mint()
    await expect(withAuth(kw, () => Promise.reject(new Error('boom')))(post(key))).rejects.toThrow('boom')
  })
})

describe('fetch adapter: the arguments after the request', () => {
  it("project reads them (Next's { params }), and a project the key lacks is refused", async () => {
    const { kw, mint } = setup()
    const key = await mint()
    type NextContext = { params: Promise<{ projectId: string }> }
    const GET = withAuth(
      kw,
      async (_request, auth, { params }: NextContext) => Response.json({ org: auth.org, projectId: (await params).projectId }),
      {
        scopes: 'read',
        project: async (_request, { params }) => (await params).projectId,
      },
    )
    const request = () => new Request('https://app.example/api/projects/x/stats', { headers: { authorization: `Bearer ${key}` } })
    const ok = await GET(request(), { params: Promise.resolve({ projectId: 'prod-site' }) })
    expect([ok.status, await ok.json()]).toEqual([200, { org: 'org_1', projectId: 'prod-site' }])
    const other = await GET(request(), { params: Promise.resolve({ projectId: 'other-site' }) })
    expect([other.status, ((await other.json()) as { code: string }).code]).toEqual([403, 'project_forbidden'])
  })
})
