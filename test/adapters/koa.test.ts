import { createServer } from 'node:http'
import Koa, { type Middleware, type ParameterizedContext } from 'koa'
import { describe, expect, it } from 'vitest'
import {
  authenticate,
  requireMfa,
  requireProject,
  requireScopes,
  type AnyContext,
  type KeywardState,
  type LandedState,
} from '../../adapters/koa.js'
import { adapterContract, BAD_HEADER_HOOK, type StartApp } from './contract.js'
import { listen, setup } from './support.js'

// Optional routes leave auth undefined at run time; their middleware type accepts this state too.
type State = KeywardState & LandedState<'session'> & { params: Record<string, string>; body?: { projectId?: unknown } }
type Ctx = ParameterizedContext<State>

/** The smallest router: method, a path pattern with named groups, then a middleware chain. */
function route(method: string, pattern: RegExp, ...chain: Middleware<State>[]): Middleware<State> {
  return (ctx, next) => {
    const match = ctx.method === method ? pattern.exec(ctx.path) : null
    if (match === null) return next()
    ctx.state.params = match.groups ?? {}
    const run = (i: number): Promise<void> => (i === chain.length ? Promise.resolve() : Promise.resolve(chain[i]!(ctx, () => run(i + 1))))
    return run(0)
  }
}

const json: Middleware<State> = async (ctx, next) => {
  let text = ''
  for await (const chunk of ctx.req) text += chunk
  ctx.state.body = text === '' ? undefined : JSON.parse(text)
  await next()
}

const answer: Middleware<State> = (ctx) => {
  ctx.body = { keyId: ctx.state.auth?.keyId ?? null }
}

const start: StartApp = (kw, { trustProxy }) => {
  const app = new Koa<State>()
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch {
      ctx.status = 500
      ctx.body = { error: 'handled' }
    }
  })
  const track = authenticate(kw, { scopes: 'write', project: (ctx: AnyContext) => (ctx as Ctx).state.body?.projectId, trustProxy })
  const param = (ctx: AnyContext) => (ctx as Ctx).state.params.projectId
  app.use(route('POST', /^\/api\/track$/, json, track, answer))
  app.use(
    route('OPTIONS', /^\/api\/track$/, track, (ctx) => {
      ctx.status = 204
      ctx.set('x-handler', 'reached')
    }),
  )
  app.use(
    route('GET', /^\/api\/projects\/(?<projectId>[^/]+)\/stats$/, authenticate(kw, { scopes: 'read', project: param, trustProxy }), answer),
  )
  app.use(route('GET', /^\/optional$/, authenticate(kw, { optional: true, trustProxy }), answer))
  app.use(route('GET', /^\/optional\/guarded$/, authenticate(kw, { optional: true }), requireScopes('read'), answer))
  app.use(route('GET', /^\/admin\/(?<projectId>[^/]+)$/, authenticate(kw), requireScopes('admin'), requireProject(param), answer))
  app.use(
    route(
      'GET',
      /^\/custom$/,
      authenticate(kw, { onError: (error) => ({ body: { error: error.message } }) }),
      requireScopes('admin'),
      answer,
    ),
  )
  app.use(
    route('OPTIONS', /^\/admin\/(?<projectId>[^/]+)$/, authenticate(kw), requireScopes('admin'), requireProject(param), (ctx) => {
      ctx.status = 204
      ctx.set('x-handler', 'reached')
    }),
  )
  app.use(
    route(
      'GET',
      /^\/hooked\/(?<projectId>[^/]+)$/,
      authenticate(kw, { onError: BAD_HEADER_HOOK }),
      requireScopes('write'),
      requireProject(param),
      answer,
    ),
  )
  app.use(route('GET', /^\/hidden$/, authenticate(kw, { onError: () => ({ status: 404 }) }), answer))
  app.use(
    route('GET', /^\/mfa\/(?<projectId>[^/]+)$/, authenticate(kw, { scopes: 'read', project: param }), requireMfa(), (ctx) => {
      ctx.body = { subject: ctx.state.auth?.subject ?? null }
    }),
  )
  app.use(
    route(
      'GET',
      /^\/both\/(?<projectId>[^/]+)$/,
      authenticate(kw, { credentials: { header: 'x-app-key', type: 'api_key' } }),
      requireScopes('write'),
      authenticate(kw, { as: 'session', credentials: { header: 'authorization', type: 'jwt' } }),
      requireScopes('admin', { from: 'session' }),
      requireProject(param, { from: 'session' }),
      requireMfa({ from: 'session' }),
      (ctx) => {
        ctx.body = { keyId: ctx.state.auth.keyId ?? null, subject: ctx.state.session.subject ?? null }
      },
    ),
  )
  return listen(createServer(app.callback()))
}

adapterContract('Koa', start)

describe('Koa specifics', () => {
  it('lets an error thrown by onError reach the application error handling', async () => {
    const { kw } = setup()
    const app = new Koa()
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (error) {
        ctx.status = 502
        ctx.body = { handled: (error as Error).message }
      }
    })
    app.use(
      authenticate(kw, {
        onError: () => {
          throw new Error('report it my way')
        },
      }),
    )
    const server = await listen(createServer(app.callback()))
    try {
      const res = await fetch(server.url)
      expect(res.status).toBe(502)
      expect(await res.json()).toEqual({ handled: 'report it my way' })
    } finally {
      await server.close()
    }
  })

  it('a falsy throw (project, a project getter) is an error Koa answers (500), never silence or the handler', async () => {
    const { kw, mint } = setup()
    const key = await mint({ scopes: ['read'] })
    const handled: string[] = []
    const throwsUndefined = (): string => {
      throw undefined // the case under test
    }
    for (const chain of [
      [authenticate(kw, { project: throwsUndefined })],
      [authenticate(kw, { project: () => Promise.reject(undefined) })],
      [authenticate(kw), requireProject(() => Promise.reject(null))],
    ]) {
      const app = new Koa()
      app.silent = true
      for (const middleware of chain) app.use(middleware as Middleware)
      app.use((ctx) => {
        handled.push(ctx.path)
        ctx.body = 'reached'
      })
      const server = await listen(createServer(app.callback()))
      try {
        // Before the fix Koa sent nothing at all: the request would hang, so it is bounded.
        const res = await fetch(server.url, { headers: { 'x-api-key': key }, signal: AbortSignal.timeout(20_000) })
        expect(res.status).toBe(500)
      } finally {
        await server.close()
      }
    }
    expect(handled).toEqual([])
  })

  it('refuses bad options when the middleware is built', () => {
    const { kw } = setup()
    expect(() => authenticate(kw, { optional: 'yes' } as never)).toThrow(/optional/)
    expect(() => authenticate(kw, { onError: 'json' } as never)).toThrow(/onError/)
  })
})
