import type { Server } from 'node:http'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import keyward, {
  authenticate,
  managementRouter,
  requireMfa,
  requireProject,
  requireScopes,
  type AuthContext,
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

  it('refuses bad options when the hook is built', () => {
    const { kw } = setup()
    expect(() => authenticate(kw, { scope: 'read' } as never)).toThrow(/unknown option "scope"/)
    expect(() => requireScopes()).toThrow(/at least one scope/)
    expect(() => managementRouter(kw, { scopes: 'admin' } as never)).toThrow(/unknown management option "scopes"/)
  })
})
