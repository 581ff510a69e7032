import type { Server } from 'node:http'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import keyward, {
  authenticate,
  managementRouter,
  requireMfa,
  requireProject,
  requireScopes,
  type AuthContext,
  type KeywardHook,
} from '../../adapters/fastify.js'
import { adapterContract, BAD_HEADER_HOOK, type StartApp } from './contract.js'
import { listen, setup } from './support.js'

type WithProject = { Params: { projectId: string } }

// The second landing place, typed by declaration merging as Fastify does it.
declare module 'fastify' {
  interface FastifyRequest {
    session?: AuthContext
  }
}
const param = (request: FastifyRequest<WithProject>) => request.params.projectId
const answer = async (request: FastifyRequest) => ({ keyId: request.auth?.keyId ?? null })
const reached = async (_request: FastifyRequest, reply: import('fastify').FastifyReply) =>
  reply.code(204).header('x-handler', 'reached').send()

/** The contract's application on Fastify: every check in a route hook, as a Fastify user writes it. */
export async function buildFastify(
  kw: Parameters<StartApp>[0],
  trustProxy?: Parameters<StartApp>[1]['trustProxy'],
): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(keyward, { decorate: ['session'] })
  app.setErrorHandler(async (_error, _request, reply) => reply.code(500).send({ error: 'handled' }))
  const track = authenticate(kw, {
    scopes: 'write',
    project: (request) => (request.body as { projectId?: unknown } | undefined)?.projectId,
    trustProxy,
  })
  app.post('/api/track', { preHandler: track }, answer)
  app.options('/api/track', { preHandler: track }, reached)
  app.get<WithProject>(
    '/api/projects/:projectId/stats',
    { onRequest: authenticate<WithProject>(kw, { scopes: 'read', project: param, trustProxy }) },
    answer,
  )
  app.get('/optional', { onRequest: authenticate(kw, { optional: true, trustProxy }) }, answer)
  app.get('/optional/guarded', { onRequest: [authenticate(kw, { optional: true }), requireScopes('read')] }, answer)
  app.get<WithProject>(
    '/admin/:projectId',
    { onRequest: [authenticate(kw), requireScopes('admin'), requireProject<WithProject>(param)] },
    answer,
  )
  app.get(
    '/custom',
    { onRequest: [authenticate(kw, { onError: (error) => ({ body: { error: error.message } }) }), requireScopes('admin')] },
    answer,
  )
  app.options<WithProject>(
    '/admin/:projectId',
    { onRequest: [authenticate(kw), requireScopes('admin'), requireProject<WithProject>(param)] },
    reached,
  )
  app.get<WithProject>(
    '/hooked/:projectId',
    { onRequest: [authenticate(kw, { onError: BAD_HEADER_HOOK }), requireScopes('write'), requireProject<WithProject>(param)] },
    answer,
  )
  app.get('/hidden', { onRequest: authenticate(kw, { onError: () => ({ status: 404 }) }) }, answer)
  app.get<WithProject>(
    '/mfa/:projectId',
    { preHandler: [authenticate<WithProject>(kw, { scopes: 'read', project: param }), requireMfa()] },
    async (request) => ({
      subject: request.auth?.subject ?? null,
    }),
  )
  app.get<WithProject>(
    '/both/:projectId',
    {
      onRequest: [
        authenticate(kw, { credentials: { header: 'x-app-key', type: 'api_key' } }),
        requireScopes('write'),
        authenticate(kw, { as: 'session', credentials: { header: 'authorization', type: 'jwt' } }),
        requireScopes('admin', { from: 'session' }),
        requireProject<WithProject>(param, { from: 'session' }),
        requireMfa({ from: 'session' }),
      ],
    },
    async (request) => ({ keyId: request.auth?.keyId ?? null, subject: request.session?.subject ?? null }),
  )
  await app.ready()
  return app
}

const start: StartApp = async (kw, { trustProxy }) => listen((await buildFastify(kw, trustProxy)).server as Server)

adapterContract('Fastify', start)

describe('Fastify specifics', () => {
  it('the plugin decorates request.auth once; a second owner of the name fails at start-up', async () => {
    const app = Fastify()
    await app.register(keyward)
    await app.ready()
    expect(app.hasRequestDecorator('auth')).toBe(true)
    const clash = Fastify()
    clash.decorateRequest('auth', undefined)
    await expect(clash.register(keyward).ready()).rejects.toThrow(/auth/)
  })

  it('works without the plugin too, and as an app-wide hook', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 5, windowMs: 60_000 } })
    const app = Fastify()
    app.addHook('onRequest', authenticate(kw))
    app.get('/me', async (request) => ({ org: request.auth?.org }))
    const ok = await app.inject({ url: '/me', headers: { 'x-api-key': key } })
    expect([ok.statusCode, ok.json()]).toEqual([200, { org: 'org_1' }])
    expect(ok.headers.ratelimit).toMatch(/^"default";r=4;t=\d+$/)
    const refused = await app.inject({ url: '/me' })
    expect(refused.statusCode).toBe(401)
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('an error thrown by project reaches the error handler, and the route handler does not run', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const app = Fastify()
    let ran = false
    app.setErrorHandler(async (error: Error, _request, reply) => reply.code(502).send({ handled: error.message }))
    app.get('/x', { onRequest: authenticate(kw, { project: () => Promise.reject(new Error('bad body')) }) }, async () => {
      ran = true
      return 'reached'
    })
    const res = await app.inject({ url: '/x', headers: { 'x-api-key': key } })
    expect([res.statusCode, res.json()]).toEqual([502, { handled: 'bad body' }])
    expect(ran).toBe(false)
  })

  it('a refusal ends the hook chain: with an async onSend hook still running, neither a later hook nor the handler runs', async () => {
    const { kw, mint } = setup()
    const key = await mint({ scopes: ['read'] })
    const app = Fastify()
    await app.register(keyward)
    // Until the onSend hook settles the reply is not "sent" for Fastify, so a hook that merely
    // returned after sending the refusal let the chain go on, into the handler.
    app.addHook('onSend', async (_request, _reply, payload) => {
      await new Promise((resolve) => setImmediate(resolve))
      return payload
    })
    const ran: string[] = []
    const after = async (request: FastifyRequest) => void ran.push(`hook ${request.url}`)
    const handler = async (request: FastifyRequest) => {
      ran.push(`handler ${request.url}`)
      return 'reached'
    }
    app.get('/auth', { onRequest: [authenticate(kw), after] }, handler)
    app.get('/scopes', { onRequest: [authenticate(kw), requireScopes('admin'), after] }, handler)
    app.get('/project', { onRequest: [authenticate(kw), requireProject(() => 'other'), after] }, handler)
    app.get('/mfa', { preHandler: [authenticate(kw), requireMfa(), after] }, handler)
    const headers = { 'x-api-key': key }
    expect((await app.inject({ url: '/auth' })).statusCode).toBe(401)
    expect((await app.inject({ url: '/scopes', headers })).statusCode).toBe(403)
    expect((await app.inject({ url: '/project', headers })).statusCode).toBe(403)
    expect((await app.inject({ url: '/mfa', headers })).statusCode).toBe(401)
    await new Promise((resolve) => setImmediate(resolve))
    expect(ran).toEqual([])
    const ok = await app.inject({ url: '/auth', headers })
    expect([ok.statusCode, ok.body]).toEqual([200, 'reached'])
    expect(ran).toEqual(['hook /auth', 'handler /auth'])
  })

  it('fits onRequest, preValidation and preHandler, alone, in a list, or app-wide; a guard passes on to the next hook', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 5, windowMs: 60_000 } })
    const app = Fastify()
    await app.register(keyward)
    const me = async (request: FastifyRequest) => ({ org: request.auth?.org ?? null })
    app.get('/on-request', { onRequest: authenticate(kw) }, me)
    app.get('/pre-validation', { preValidation: authenticate(kw) }, me)
    app.get('/pre-handler', { preHandler: [authenticate(kw), requireScopes('write'), requireProject(() => 'prod-site')] }, me)
    await app.register(async (scope) => {
      scope.addHook('preHandler', authenticate(kw))
      scope.addHook('preHandler', requireScopes('write'))
      scope.get('/scoped', me)
    })
    for (const url of ['/on-request', '/pre-validation', '/pre-handler', '/scoped']) {
      const ok = await app.inject({ url, headers: { 'x-api-key': key } })
      expect([url, ok.statusCode, ok.json()]).toEqual([url, 200, { org: 'org_1' }])
      expect(ok.headers['ratelimit-policy']).toBe('"default";q=5;w=60')
      const refused = await app.inject({ url })
      expect([url, refused.statusCode, refused.headers['www-authenticate']]).toEqual([url, 401, 'Bearer realm="api"'])
    }
  })

  it('a falsy value thrown by project or by requireProject is an error (500 through the error handler), never a pass', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const app = Fastify()
    await app.register(keyward)
    const handled: unknown[] = []
    app.setErrorHandler(async (error, _request, reply) => {
      handled.push(error)
      return reply.code(500).send({ error: 'handled' })
    })
    let ran = false
    const handler = async () => {
      ran = true
      return 'reached'
    }
    app.get('/authenticate', { onRequest: authenticate(kw, { project: () => Promise.reject(undefined) }) }, handler)
    app.get('/guard', { onRequest: [authenticate(kw), requireProject(() => Promise.reject(null))] }, handler)
    const throwsUndefined = (): string => {
      throw undefined // the case under test
    }
    app.get('/sync', { onRequest: authenticate(kw, { project: throwsUndefined }) }, handler)
    for (const url of ['/authenticate', '/guard', '/sync']) {
      const res = await app.inject({ url, headers: { 'x-api-key': key } })
      expect([url, res.statusCode, res.json()]).toEqual([url, 500, { error: 'handled' }])
    }
    expect(ran).toBe(false)
    expect(handled).toHaveLength(3)
    for (const error of handled) expect(error).toBeInstanceOf(Error)
  })

  it('a throw while landing the auth reaches the error handler once, and the handler does not run', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const app = Fastify()
    await app.register(keyward, { decorate: ['session'] })
    let handled = 0
    app.setErrorHandler(async (_error, _request, reply) => {
      handled++
      return reply.code(500).send({ error: 'handled' })
    })
    let ran = false
    const plant = async (request: FastifyRequest) => {
      request.session = { org: 'not keyward' } as AuthContext
    }
    app.get('/x', { onRequest: [plant, authenticate(kw, { as: 'session' })] }, async () => {
      ran = true
      return 'reached'
    })
    const res = await app.inject({ url: '/x', headers: { 'x-api-key': key } })
    expect([res.statusCode, res.json()]).toEqual([500, { error: 'handled' }])
    await new Promise((resolve) => setImmediate(resolve))
    expect([handled, ran]).toEqual([1, false])
  })

  it('a reply sent while keyward decided (a timeout) stands: no headers added, no refusal written, no handler', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 5, windowMs: 60_000 } })
    const app = Fastify()
    await app.register(keyward)
    const replies = new WeakMap<FastifyRequest, import('fastify').FastifyReply>()
    app.addHook('onRequest', (request, reply, done) => {
      replies.set(request, reply)
      done()
    })
    // The timer of a timeout plugin fires while the project is being read.
    const timedOut = (project: string) => (request: FastifyRequest) => {
      void replies.get(request)!.code(503).send({ error: 'timeout' })
      return project
    }
    let ran = false
    const handler = async () => {
      ran = true
      return 'reached'
    }
    app.get('/allowed', { onRequest: authenticate(kw, { project: timedOut('prod-site') }) }, handler)
    app.get('/refused', { onRequest: authenticate(kw, { project: timedOut('other') }) }, handler)
    for (const url of ['/allowed', '/refused']) {
      const res = await app.inject({ url, headers: { 'x-api-key': key } })
      expect([url, res.statusCode, res.json(), res.headers.ratelimit]).toEqual([url, 503, { error: 'timeout' }, undefined])
    }
    expect(ran).toBe(false)
  })

  it('a hook awaited the old way (no done) inside an async hook throws: a 500, never the handler before keyward decided', async () => {
    const { kw, mint } = setup()
    const key = await mint({ scopes: ['read'] })
    const app = Fastify()
    await app.register(keyward)
    const handled: string[] = []
    const wrapped = (hook: KeywardHook) => async (request: FastifyRequest, reply: FastifyReply) => {
      await (hook as unknown as (request: FastifyRequest, reply: FastifyReply) => Promise<void>)(request, reply)
    }
    app.get('/auth', { onRequest: wrapped(authenticate(kw)) }, async (request) => void handled.push(request.url))
    app.get('/scope', { onRequest: [authenticate(kw), wrapped(requireScopes('admin'))] }, async (request) => void handled.push(request.url))
    app.get(
      '/project',
      { onRequest: [authenticate(kw), wrapped(requireProject(() => 'other'))] },
      async (request) => void handled.push(request.url),
    )
    // No key: the wrapped authenticate() throws; the guards are behind a proper one, which refuses first.
    const anonymous = await app.inject({ url: '/auth' })
    expect(anonymous.statusCode).toBe(500)
    expect(anonymous.json().message).toMatch(/callback-style/)
    for (const url of ['/scope', '/project']) expect((await app.inject({ url })).statusCode, url).toBe(401)
    for (const url of ['/auth', '/scope', '/project']) {
      const withKey = await app.inject({ url, headers: { 'x-api-key': key } })
      expect(withKey.statusCode, url).toBe(500)
      expect(withKey.json().message, url).toMatch(/callback-style/)
    }
    expect(handled).toEqual([])
    await app.close()
  })

  it('refuses bad options when the hook is built', () => {
    const { kw } = setup()
    expect(() => authenticate(kw, { scope: 'read' } as never)).toThrow(/unknown option "scope"/)
    expect(() => requireScopes()).toThrow(/at least one scope/)
    expect(() => managementRouter(kw, { scopes: 'admin' } as never)).toThrow(/unknown management option "scopes"/)
  })
})
