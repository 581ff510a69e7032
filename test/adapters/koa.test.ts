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

  it('a cached key reaches the next middleware in the same turn; a failure is a rejection, never a synchronous throw', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 100, windowMs: 60_000 } })
    const app = new Koa<KeywardState>()
    // Whether the handler ran before next() returned to the middleware in front of authenticate().
    const sameTurn: boolean[] = []
    let reached = false
    app.use((_ctx, next) => {
      reached = false
      const running = next()
      sameTurn.push(reached)
      return running
    })
    app.use(authenticate(kw))
    app.use((ctx) => {
      reached = true
      ctx.body = { keyId: ctx.state.auth.keyId, limit: ctx.response.get('ratelimit') }
    })
    const server = await listen(createServer(app.callback()))
    try {
      const bodies = []
      for (let i = 0; i < 2; i++) bodies.push(await (await fetch(server.url, { headers: { 'x-api-key': key } })).json())
      // The first request read the store (later turn); the second was cached (same turn).
      expect(sameTurn).toEqual([false, true])
      expect(bodies).toEqual([
        { keyId: key.slice(9, 17), limit: expect.stringMatching(/r=99/) },
        { keyId: key.slice(9, 17), limit: expect.stringMatching(/r=98/) },
      ])
    } finally {
      await server.close()
    }
    // Called directly, as a test or a hand-made chain does: a throw comes back as a rejected
    // promise, as from an async function, and a falsy one is made an Error.
    const context = (state: Record<string, unknown>) =>
      ({
        method: 'GET',
        originalUrl: '/',
        req: { headers: { 'x-api-key': key }, rawHeaders: ['X-Api-Key', key], socket: { remoteAddress: '203.0.113.1' } },
        state,
        set: () => undefined,
      }) as unknown as AnyContext
    const next = () => Promise.resolve()
    const throwsUndefined = (): string => {
      throw undefined // the case under test
    }
    let returned: unknown
    expect(() => (returned = authenticate(kw, { project: throwsUndefined })(context({}), next))).not.toThrow()
    await expect(returned).rejects.toThrow(/falsy value/)
    // Landing on a field another middleware set (a cached key, so synchronously): a rejection too.
    expect(() => (returned = authenticate(kw, { as: 'session' })(context({ session: 'express-session' }), next))).not.toThrow()
    await expect(returned).rejects.toThrow(/cannot set ctx\.state\.session/)
  })

  it('refuses bad options when the middleware is built', () => {
    const { kw } = setup()
    expect(() => authenticate(kw, { optional: 'yes' } as never)).toThrow(/optional/)
    expect(() => authenticate(kw, { onError: 'json' } as never)).toThrow(/onError/)
  })
})
