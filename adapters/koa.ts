/**
 * keyward for Koa 2 and 3: `authenticate()` puts the verified key on `ctx.state.auth`.
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import Router from '@koa/router'
 * import { createKeyward } from 'keyward'
 * import { authenticate, type KeywardState } from 'keyward/koa'
 *
 * const router = new Router<KeywardState>()
 * // On the route: a CORS preflight passes authenticate() with no auth, and never reaches this GET handler.
 * router.get('/api/me', authenticate(createKeyward({ prefix: 'bsk' }), { scopes: 'read' }), (ctx) => {
 *   ctx.body = { org: ctx.state.auth.org }
 * })
 * new Koa<KeywardState>().use(router.routes()).listen(3000)
 * ```
 */
import type { Middleware, Next, ParameterizedContext } from 'koa'
import {
  createClientIpResolver,
  createManagementHandler,
  ownsPath,
  type AuthContext,
  type ErrorResponse,
  type Keyward,
  type KeywardError,
  type ManagementOptions,
  type TrustProxy,
} from 'keyward'
import { checkBasePath } from '../src/internal/base-path.js'
import { isPromiseLike } from '../src/internal/maybe-sync.js'
import {
  asError,
  createAuthenticator,
  createMfaGuard,
  createProjectGuard,
  createScopeGuard,
  guardFrom,
  guardResponse,
  land,
  LANDING_OPTIONS,
  nodeHeaders,
  scopeGuardArgs,
  type AuthenticateOptions,
  type Decision,
  type GuardOptions,
  type Landing,
  type ProjectResolver,
} from './shared.js'

// A falsy rejection reason made an Error: Koa answers nothing at all for `throw undefined`.
const rethrow = (reason: unknown): never => {
  throw asError(reason)
}

export type { ErrorHook, ErrorResponseOverride, TrustProxy, AuthContext } from 'keyward'
export type { CredentialSource, GuardOptions } from './shared.js'

/**
 * The `ctx.state` that `authenticate({ as })` fills: `LandedState<'session'>` is `{ session: AuthContext }`.
 *
 * @example
 * ```ts
 * const router = new Router<KeywardState & LandedState<'session'>>()
 * ```
 */
export type LandedState<As extends string = 'auth'> = { [K in As]: AuthContext }

/**
 * The `ctx.state` a guard reads: the landing place may be unset (no credential, `optional: true`).
 *
 * @example
 * ```ts
 * const guard: Middleware<OptionalLandedState<'session'>> = requireMfa({ from: 'session' })
 * ```
 */
export type OptionalLandedState<As extends string = 'auth'> = { [K in As]?: AuthContext }

/**
 * The `ctx.state` that `authenticate()` fills. Give it to `new Koa<KeywardState>()` or to a router.
 *
 * @example
 * ```ts
 * const router = new Router<KeywardState>()
 * router.get('/api/scopes', authenticate(kw), (ctx) => { ctx.body = ctx.state.auth.scopes })
 * ```
 */
export interface KeywardState {
  auth: AuthContext
}

/**
 * The `ctx.state` after `authenticate({ optional: true })`: `auth` is there when the request
 * carried a valid credential.
 *
 * @example
 * ```ts
 * const who = (ctx.state as OptionalKeywardState).auth?.keyId ?? 'anonymous'
 * ```
 */
export interface OptionalKeywardState {
  auth?: AuthContext
}

/**
 * Any Koa context, whatever the application's own state and context types.
 *
 * @example
 * ```ts
 * const fromHeader = (ctx: AnyContext) => ctx.get('x-project-id') || undefined
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the context is the application's, keyward reads only standard fields.
export type AnyContext = ParameterizedContext<any, any, any>

/**
 * Options of {@link authenticate}: `project(ctx)`, `scopes`, `optional`, `onError(error, ctx)`,
 * `trustProxy`.
 *
 * @example
 * ```ts
 * const options: KoaAuthenticateOptions = { scopes: 'write', project: (ctx) => ctx.get('x-project-id') || undefined }
 * ```
 */
export type KoaAuthenticateOptions<As extends string = string> = AuthenticateOptions<AnyContext> & Landing<As>

const read = {
  method: (ctx: AnyContext) => ctx.method,
  headers: (ctx: AnyContext) => nodeHeaders(ctx.req),
  url: (ctx: AnyContext) => ctx.originalUrl,
  // Koa's ctx.ip follows app.proxy; keyward applies its own trustProxy to the socket address.
  socketAddress: (ctx: AnyContext) => ctx.req.socket?.remoteAddress,
  forwardedFor: (ctx: AnyContext) => ctx.req.headers['x-forwarded-for'],
}

function send(ctx: AnyContext, { status, headers, body }: ErrorResponse): void {
  ctx.status = status
  ctx.set(headers)
  ctx.body = body
}

/**
 * Middleware that verifies the request's API key. On success `ctx.state.auth` (or `ctx.state[as]`) is set, the
 * RateLimit headers are added and `next()` runs; on failure the response is the error's status,
 * headers and `application/problem+json` body and `next()` is not called. A CORS preflight passes
 * untouched, with no `ctx.state.auth`: a middleware after it that runs for every method must not
 * assume the auth on OPTIONS. Errors thrown by `project` or `onError` propagate to the
 * application's error handling.
 *
 * @example
 * ```ts
 * router.post('/api/track', authenticate(kw, { scopes: 'write', project: (ctx) => ctx.request.body?.projectId }), track)
 * ```
 */
export function authenticate(kw: Keyward, options: KoaAuthenticateOptions<'auth'> & { optional: true }): Middleware<OptionalKeywardState>
export function authenticate(kw: Keyward, options?: KoaAuthenticateOptions<'auth'>): Middleware<KeywardState>
export function authenticate<As extends string>(
  kw: Keyward,
  options: KoaAuthenticateOptions<As> & { as: As; optional: true },
): Middleware<OptionalLandedState<As>>
export function authenticate<As extends string>(kw: Keyward, options: KoaAuthenticateOptions<As> & { as: As }): Middleware<LandedState<As>>
export function authenticate(kw: Keyward, options?: KoaAuthenticateOptions): Middleware {
  const decide = createAuthenticator(kw, options, read, LANDING_OPTIONS)
  const as = options?.as ?? 'auth'
  // Not an async function: a cached key goes on to next() in this same turn, with no promise of
  // its own and no await before it; a decision that had to wait is chained. Either way the
  // middleware returns a promise and never throws synchronously, as an async function would.
  return (ctx, next) => {
    let decision: Decision | Promise<Decision>
    try {
      decision = decide.now(ctx)
    } catch (reason) {
      // A falsy reason would make Koa answer nothing at all.
      return Promise.reject(asError(reason) as Error)
    }
    if (isPromiseLike(decision)) return decision.then((decided) => proceed(ctx, next, decided, as), rethrow)
    try {
      return proceed(ctx, next, decision, as)
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }
}

/** Lands the auth and runs the rest of the chain, or sends the refusal. */
function proceed(ctx: AnyContext, next: Next, decision: Decision, as: string): Promise<unknown> {
  if (!decision.ok) {
    send(ctx, decision.response)
    return Promise.resolve()
  }
  if (decision.auth !== undefined) {
    if (as === 'auth') (ctx.state as KeywardState).auth = decision.auth
    else land(ctx.state as Record<string, unknown>, as, decision.auth, 'ctx.state')
  }
  ctx.set(decision.headers)
  // The same promise when next() gives one (koa-compose's always does); a hand-made chain's plain value wrapped.
  return Promise.resolve(next())
}

// A synchronous guard as middleware: next() when it passes, else its refusal.
function guard<From extends string>(
  check: (ctx: AnyContext, found: unknown) => KeywardError | undefined,
  from: From,
): Middleware<OptionalLandedState<From>> {
  return async (ctx, next) => {
    const error = check(ctx, (ctx.state as Record<string, unknown>)[from])
    if (error !== undefined) return send(ctx, await guardResponse(error, ctx).catch(rethrow))
    await next()
  }
}

/**
 * Route guard, after `authenticate()`: 403 `insufficient_scope` (with the RFC 6750 challenge)
 * unless the key holds every scope; 401 when no key authenticated the request. A CORS preflight
 * passes untouched, as through `authenticate()`.
 *
 * @example
 * ```ts
 * router.delete('/api/keys/:id', authenticate(kw), requireScopes('admin'), revokeKey)
 * ```
 */
export function requireScopes(...scopes: string[]): Middleware<OptionalKeywardState>
export function requireScopes<From extends string>(
  ...args: [...scopes: string[], options: GuardOptions<From>]
): Middleware<OptionalLandedState<From>>
export function requireScopes(...args: Array<string | GuardOptions>): Middleware<OptionalLandedState<string>> {
  const { scopes, from } = scopeGuardArgs(args)
  return guard(createScopeGuard(scopes, read), from)
}

/**
 * Route guard, after `authenticate()`: 401 `mfa_required` unless the request's JWT was minted
 * after a second factor (`kw.tokens.login` with a TOTP code, or `issue({ mfa: true })`). API keys
 * and password-only logins are refused. A CORS preflight passes untouched.
 *
 * @example
 * ```ts
 * router.post('/api/billing/payout', authenticate(kw), requireMfa(), payout)
 * ```
 */
export function requireMfa(): Middleware<OptionalKeywardState>
export function requireMfa<From extends string>(options: GuardOptions<From>): Middleware<OptionalLandedState<From>>
export function requireMfa(options?: GuardOptions): Middleware<OptionalLandedState<string>> {
  return guard(createMfaGuard(read), guardFrom(options, 'requireMfa()'))
}

/**
 * Route guard, after `authenticate()`: 403 `Token does not have access to this project` unless
 * the key lists the project `getProjectId(ctx)` returns (a request naming none is refused too).
 * A CORS preflight passes untouched, before `getProjectId` runs.
 *
 * @example
 * ```ts
 * router.get('/api/projects/:projectId/stats', authenticate(kw), requireProject((ctx) => ctx.params.projectId), stats)
 * ```
 */
export function requireProject(getProjectId: ProjectResolver<AnyContext>): Middleware<OptionalKeywardState>
export function requireProject<From extends string>(
  getProjectId: ProjectResolver<AnyContext>,
  options: GuardOptions<From>,
): Middleware<OptionalLandedState<From>>
export function requireProject(getProjectId: ProjectResolver<AnyContext>, options?: GuardOptions): Middleware<OptionalLandedState<string>> {
  const check = createProjectGuard(getProjectId, read)
  const from = guardFrom(options, 'requireProject()')
  return async (ctx, next) => {
    const error = await check(ctx, (ctx.state as Record<string, unknown>)[from]).catch(rethrow)
    if (error !== undefined) return send(ctx, await guardResponse(error, ctx).catch(rethrow))
    await next()
  }
}

/**
 * Options of {@link managementRouter}: the shared management options plus `trustProxy` and
 * `basePath` (Koa has no mounting of its own; with koa-mount leave it out).
 *
 * @example
 * ```ts
 * const options: KoaManagementOptions = { basePath: '/admin', trustProxy: 1 }
 * ```
 */
export interface KoaManagementOptions extends ManagementOptions {
  /** Proxies whose X-Forwarded-For to believe (as in `authenticate()`). Default: none. */
  trustProxy?: TrustProxy
  /** Where the routes live: `/admin` serves `/admin/keys`. Default `''`. */
  basePath?: string
}

/**
 * The key management API (`POST/GET /keys`, `GET/PATCH/DELETE /keys/:id`, `POST /keys/:id/rotate`)
 * as one middleware. Other paths go to `next()`. It reads the body itself (bounded,
 * `maxBodyBytes`); a body a parser already read (`ctx.request.body`) is used as it is.
 *
 * @example
 * ```ts
 * app.use(managementRouter(kw, { basePath: '/admin' })) // POST /admin/keys with an admin key
 * ```
 */
export function managementRouter(kw: Keyward, options: KoaManagementOptions = {}): Middleware {
  // The handler checks every option, this adapter's own included, before any is read.
  const handle = createManagementHandler(kw, options, ['trustProxy', 'basePath'])
  const { trustProxy, basePath = '' } = options
  checkBasePath(basePath)
  const clientIp = createClientIpResolver(trustProxy)
  return async (ctx, next) => {
    const path = ctx.path.startsWith(basePath) ? ctx.path.slice(basePath.length) : ''
    if (!ownsPath(path)) return next()
    const parsedBody = (ctx.request as { body?: unknown }).body
    send(
      ctx,
      await handle({
        method: ctx.method,
        path,
        query: ctx.querystring,
        // Every Authorization line, as authenticate() sees them: a second credential is refused, not hidden.
        headers: read.headers(ctx),
        ip: clientIp(read.socketAddress(ctx), read.forwardedFor(ctx)),
        url: read.url(ctx),
        ...(parsedBody !== undefined || ctx.req.readableEnded ? { parsedBody } : { body: ctx.req }),
      }),
    )
  }
}
