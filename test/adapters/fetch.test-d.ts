import type { AuthContext } from 'keyward'
import { createKeyward } from 'keyward'
import { describe, expectTypeOf, it } from 'vitest'
import { authenticateRequest, managementHandler, withAuth, type FetchAuthResult, type RequestHandler } from '../../adapters/fetch.js'

const kw = createKeyward({ prefix: 'bsk' })
declare const request: Request

interface Env {
  DB: string
}
interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void
}

describe('keyward/fetch types', () => {
  it('authenticateRequest narrows on ok; auth is possibly undefined only with optional', async () => {
    const result = await authenticateRequest(kw, request, { scopes: 'read' })
    expectTypeOf(result).toEqualTypeOf<FetchAuthResult>()
    if (result.ok) expectTypeOf(result.auth).toEqualTypeOf<AuthContext>()
    else expectTypeOf(result.response).toEqualTypeOf<Response>()
    const optional = await authenticateRequest(kw, request, { optional: true })
    if (optional.ok) expectTypeOf(optional.auth).toEqualTypeOf<AuthContext | undefined>()
  })

  it("withAuth types the handler's arguments after the request into the wrapper and the options", () => {
    const worker = withAuth(
      kw,
      (_request, auth, env: Env, ctx: ExecutionContext) => {
        expectTypeOf(auth).toEqualTypeOf<AuthContext>()
        ctx.waitUntil(Promise.resolve(env.DB))
        return Response.json({ org: auth.org })
      },
      { ip: (req, env) => req.headers.get(env.DB) ?? undefined },
    )
    expectTypeOf(worker).toEqualTypeOf<RequestHandler<[Env, ExecutionContext]>>()
    const route = withAuth(kw, async (_request, auth) => Response.json(auth.scopes), { scopes: 'read' })
    expectTypeOf(route).toEqualTypeOf<RequestHandler<[]>>()
    withAuth(kw, (_request, auth) => new Response(auth?.org ?? 'anonymous'), { optional: true })
    // @ts-expect-error auth may be undefined after optional authentication
    withAuth(kw, (_request, auth) => new Response(auth.org), { optional: true })
  })

  it('managementHandler is a Request -> Response function', () => {
    expectTypeOf(managementHandler(kw, { basePath: '/admin' })).toEqualTypeOf<RequestHandler<[]>>()
    // @ts-expect-error not an option
    managementHandler(kw, { basepath: '/admin' })
  })
})

describe('keyward/fetch types: the arguments after the request come from the handler', () => {
  it('project and ip get them too; a handler that ignores them names them with a type argument', () => {
    type NextContext = { params: Promise<{ projectId: string }> }
    const route = withAuth(kw, (_request, auth, _context: NextContext) => Response.json(auth.org), {
      project: async (_request, { params }) => (await params).projectId,
    })
    expectTypeOf(route).toEqualTypeOf<RequestHandler<[NextContext]>>()
    // A constant project function does not turn the arguments into [].
    expectTypeOf(withAuth(kw, (_request, _auth, _env: Env) => new Response(), { project: () => 'p' })).toEqualTypeOf<
      RequestHandler<[Env]>
    >()
    expectTypeOf(withAuth<[Env]>(kw, () => new Response(), { ip: (_request, env) => env.DB })).toEqualTypeOf<RequestHandler<[Env]>>()
  })

  it('two credentials are two results: each its own value, with its own credential source', async () => {
    const app = await authenticateRequest(kw, request, { credentials: { header: 'x-app-key', type: 'api_key' } })
    const session = await authenticateRequest(kw, request, { credentials: { header: 'authorization', type: 'jwt' }, requireMfa: true })
    if (app.ok && session.ok) {
      expectTypeOf(app.auth).toEqualTypeOf<AuthContext>()
      expectTypeOf(session.auth).toEqualTypeOf<AuthContext>()
    }
    // @ts-expect-error -- no landing place here: the result is the value.
    await authenticateRequest(kw, request, { as: 'session' })
  })
})
