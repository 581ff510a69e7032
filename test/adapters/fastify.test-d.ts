import Fastify, { type HookHandlerDoneFunction } from 'fastify'
import type { AuthContext } from 'keyward'
import { createKeyward } from 'keyward'
import { describe, expectTypeOf, it } from 'vitest'
import keyward, {
  authenticate,
  managementRouter,
  requireMfa,
  requireProject,
  requireScopes,
  type KeywardHook,
} from '../../adapters/fastify.js'

declare module 'fastify' {
  interface FastifyRequest {
    session?: AuthContext
  }
}

const kw = createKeyward({ prefix: 'bsk' })

describe('keyward/fastify types', () => {
  it('types request.auth through declaration merging, possibly undefined', () => {
    const app = Fastify()
    void app.register(keyward)
    app.get('/me', { onRequest: [authenticate(kw), requireScopes('read')] }, async (request) => {
      expectTypeOf(request.auth).toEqualTypeOf<AuthContext | undefined>()
      return { org: request.auth?.org }
    })
  })

  it('fits onRequest, preValidation, preHandler and addHook, on routes with typed params', () => {
    type Route = { Params: { projectId: string } }
    const app = Fastify()
    const hook = authenticate<Route>(kw, { scopes: 'read', project: (request) => request.params.projectId })
    expectTypeOf(hook).toEqualTypeOf<KeywardHook<Route>>()
    app.get<Route>(
      '/p/:projectId',
      { onRequest: hook, preValidation: requireScopes('read'), preHandler: requireProject<Route>((request) => request.params.projectId) },
      async (request) => {
        expectTypeOf(request.params.projectId).toEqualTypeOf<string>()
        return 'ok'
      },
    )
    app.addHook('onRequest', authenticate(kw))
    app.addHook('preHandler', requireScopes('admin'))
  })

  it('is a callback-style hook: takes done, returns nothing', () => {
    const hook = authenticate(kw)
    expectTypeOf(hook).parameter(2).toEqualTypeOf<HookHandlerDoneFunction>()
    expectTypeOf(hook).returns.toEqualTypeOf<void>()
    expectTypeOf(requireScopes('read')).toEqualTypeOf<KeywardHook>()
    const app = Fastify()
    app.addHook('preValidation', [authenticate(kw), requireMfa()][0]!)
    app.get('/list', { preValidation: [authenticate(kw), requireMfa()], preHandler: [requireScopes('read')] }, async () => 'ok')
  })

  it("the project function gets the route's typed request", () => {
    // @ts-expect-error params are unknown without the route's generic
    authenticate(kw, { project: (request) => request.params.projectId })
  })

  it('managementRouter is a plugin to register under a prefix', () => {
    void Fastify().register(managementRouter(kw, { scope: 'admin' }), { prefix: '/admin' })
    // @ts-expect-error not an option
    managementRouter(kw, { scopes: 'admin' })
  })

  it('types a second landing place through declaration merging, decorated by the plugin', () => {
    const app = Fastify()
    void app.register(keyward, { decorate: ['session'] })
    app.get(
      '/both',
      {
        onRequest: [
          authenticate(kw, { credentials: { header: 'x-app-key', type: 'api_key' } }),
          authenticate(kw, { as: 'session', credentials: { header: 'authorization', type: 'jwt' } }),
          requireScopes('admin', { from: 'session' }),
          requireMfa({ from: 'session' }),
        ],
      },
      async (request) => {
        expectTypeOf(request.session).toEqualTypeOf<AuthContext | undefined>()
        return { user: request.session?.subject }
      },
    )
    // @ts-expect-error -- decorate is a list of names.
    void app.register(keyward, { decorate: 'session' })
  })
})
