/**
 * keyward for Hono, on any runtime (Workers, Deno, Bun, Node): `authenticate()` puts the verified
 * key on `c.get('auth')`, typed through the app's `Variables`, never a global augmentation.
 * Imports nothing from `node:`.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { createKeyward } from 'keyward'
 * import { authenticate } from 'keyward/hono'
 *
 * const kw = createKeyward({ prefix: 'bsk' })
 * const app = new Hono()
 * app.get('/api/projects/:projectId/stats', authenticate(kw, { scopes: 'read', project: (c) => c.req.param('projectId') }), (c) =>
 *   c.json({ org: c.get('auth').org }),
 * )
 * ```
 */
import { Hono, type Context, type MiddlewareHandler, type Next } from 'hono'
import type { GetConnInfo } from 'hono/conninfo'
import {
  createClientIpResolver,
  CAPABILITIES_PATH,
  createManagementHandler,
  UI_SCRIPT_PATH,
  type AuthContext,
  type ErrorResponse,
  type Keyward,
  type KeywardError,
  type ManagementOptions,
  type TrustProxy,
  type WaitUntil,
} from 'keyward'
import { isPromiseLike } from '../src/internal/maybe-sync.js'
import { func } from '../src/internal/options.js'
import {
  createAuthenticator,
  createMfaGuard,
  createProjectGuard,
  createScopeGuard,
  guardFrom,
  guardResponse,
  land,
  LANDING_OPTIONS,
  scopeGuardArgs,
  type AuthenticateOptions,
  type Decision,
  type GuardOptions,
  type Landing,
  type ProjectResolver,
} from './shared.js'

export type { ErrorHook, ErrorResponseOverride, TrustProxy, AuthContext } from 'keyward'
export type { CredentialSource, GuardOptions } from './shared.js'

/**
 * The `Variables` that `authenticate({ as })` sets: `LandedVariables<'session'>` is `{ session: AuthContext }`.
 *
 * @example
 * ```ts
 * const app = new Hono<{ Variables: KeywardVariables & LandedVariables<'session'> }>()
 * ```
 */
export type LandedVariables<As extends string = 'auth'> = { [K in As]: AuthContext }

/**
 * The `Variables` a guard reads: the landing place may be unset (no credential, `optional: true`).
 *
 * @example
 * ```ts
 * const guard: MiddlewareHandler<{ Variables: OptionalLandedVariables<'session'> }> = requireMfa({ from: 'session' })
 * ```
 */
export type OptionalLandedVariables<As extends string = 'auth'> = { [K in As]: AuthContext | undefined }

/**
 * The `Variables` that `authenticate()` sets. Give them to `new Hono<{ Variables: KeywardVariables }>()`
 * when it is mounted with `app.use()`; inline on a route, the route is typed without it.
 *
 * @example
 * ```ts
 * const app = new Hono<{ Variables: KeywardVariables }>()
 * app.use('/api/*', authenticate(kw))
 * // A route handler: a CORS preflight passes app.use() with no auth, and never reaches this GET.
 * app.get('/api/me', (c) => c.json({ org: c.get('auth').org }))
 * ```
 */
export type KeywardVariables = { auth: AuthContext }

/**
 * The `Variables` after `authenticate({ optional: true })`: `auth` is undefined when the request
 * carried no credential.
 *
 * @example
 * ```ts
 * const app = new Hono<{ Variables: OptionalKeywardVariables }>()
 * app.get('/feed', (c) => c.text(c.get('auth')?.org ?? 'anonymous'))
 * ```
 */
export type OptionalKeywardVariables = { auth: AuthContext | undefined }

/**
 * Options of {@link authenticate}: the shared `project(c)`, `scopes`, `optional`, `onError(error, c)`,
 * `trustProxy`, plus `getConnInfo`, how this runtime tells the socket address.
 *
 * @example
 * ```ts
 * import { getConnInfo } from '@hono/node-server/conninfo'
 * const options: HonoAuthenticateOptions = { scopes: 'read', getConnInfo }
 * ```
 */
export interface HonoAuthenticateOptions<As extends string = string> extends AuthenticateOptions<Context>, Landing<As> {
  /**
   * The runtime's connection info, e.g. `getConnInfo` from `@hono/node-server/conninfo`,
   * `hono/deno`, `hono/bun` or `hono/cloudflare-workers`. Default: the Node server's socket when
   * `@hono/node-server` runs the app, else no address (then keys limited to IPs are refused and
   * lockout does not count).
   */
  getConnInfo?: GetConnInfo
}

/** `@hono/node-server` passes `{ incoming }` (or `{ server: { incoming } }`) as the app's env. */
function nodeSocketAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: NodeRequestLike; server?: { incoming?: NodeRequestLike } } | undefined
  return (env?.incoming ?? env?.server?.incoming)?.socket?.remoteAddress
}

interface NodeRequestLike {
  socket?: { remoteAddress?: string }
}

/** All the guards read: enough to recognize a CORS preflight. */
const preflightReader = {
  method: (c: Context) => c.req.method,
  headers: (c: Context) => c.req.raw.headers,
}

/**
 * `c.executionCtx.waitUntil` on Workers, so that the batched last-used write outlives the response.
 * Hono's getter throws where there is none (Node, Bun, Deno); once it has, this reader stops asking:
 * an exception per request costs more than the rest of the middleware.
 */
function waitUntilReader(): (c: Context) => WaitUntil | undefined {
  let absent = false
  return (c) => {
    if (absent) return undefined
    try {
      const ctx = c.executionCtx
      // Workers refuse an unbound call ("Illegal invocation").
      return typeof ctx.waitUntil === 'function' ? (promise) => ctx.waitUntil(promise) : undefined
    } catch {
      absent = true
      return undefined
    }
  }
}

function reader(getConnInfo: GetConnInfo | undefined) {
  if (getConnInfo !== undefined) func('(c) => ConnInfo')(getConnInfo, 'getConnInfo')
  return {
    waitUntil: waitUntilReader(),
    ...preflightReader,
    // The full URL: the core only reads its query string.
    url: (c: Context) => c.req.url,
    socketAddress: getConnInfo === undefined ? nodeSocketAddress : (c: Context) => getConnInfo(c).remote.address,
    forwardedFor: (c: Context) => c.req.raw.headers.get('x-forwarded-for'),
  }
}

function send(c: Context, { status, headers, body }: ErrorResponse): Response {
  return c.body(body, status as 400, headers)
}

/**
 * Middleware that verifies the request's API key. On success `c.get('auth')` (or `c.get(as)`) is set, the RateLimit
 * headers are added and `next()` runs; on failure it returns the error's status, headers and
 * `application/problem+json` body, and no later handler runs. A CORS preflight passes untouched,
 * with no `auth`: a handler after it that runs for every method (`app.use`, `app.all`) must not
 * assume `c.get('auth')` on OPTIONS. Errors thrown by `project` or `onError` reach `app.onError`.
 *
 * @example
 * ```ts
 * app.post('/api/track', authenticate(kw, { scopes: 'write', project: async (c) => (await c.req.json()).projectId }), track)
 * ```
 */
export function authenticate(
  kw: Keyward,
  options: HonoAuthenticateOptions<'auth'> & { optional: true },
): MiddlewareHandler<{ Variables: OptionalKeywardVariables }>
export function authenticate(kw: Keyward, options?: HonoAuthenticateOptions<'auth'>): MiddlewareHandler<{ Variables: KeywardVariables }>
export function authenticate<As extends string>(
  kw: Keyward,
  options: HonoAuthenticateOptions<As> & { as: As; optional: true },
): MiddlewareHandler<{ Variables: OptionalLandedVariables<As> }>
export function authenticate<As extends string>(
  kw: Keyward,
  options: HonoAuthenticateOptions<As> & { as: As },
): MiddlewareHandler<{ Variables: LandedVariables<As> }>
export function authenticate(kw: Keyward, options?: HonoAuthenticateOptions): MiddlewareHandler {
  const decide = createAuthenticator(kw, options, reader(options?.getConnInfo), {
    getConnInfo: func('(c) => ConnInfo'),
    ...LANDING_OPTIONS,
  })
  const as = options?.as ?? 'auth'
  // Not an async function: a cached key goes on to next() in this same turn, with no await before
  // it; a decision that had to wait is chained. Either way the middleware returns a promise and
  // never throws synchronously, as an async function would.
  return (c, next) => {
    let decision: Decision | Promise<Decision>
    try {
      decision = decide.now(c)
      if (!isPromiseLike(decision)) return proceed(c, next, decision, as)
    } catch (error) {
      return Promise.reject(error as Error)
    }
    return decision.then((decided) => proceed(c, next, decided, as))
  }
}

/** Lands the auth, sets the RateLimit headers and runs the rest of the chain, or answers the refusal. */
function proceed(c: Context, next: Next, decision: Decision, as: string): Promise<Response | void> {
  if (!decision.ok) return Promise.resolve(send(c, decision.response))
  if (decision.auth !== undefined) {
    if (as === 'auth') (c as Context<{ Variables: KeywardVariables }>).set('auth', decision.auth)
    else landVariable(c as Context<{ Variables: LandedVariables<string> }>, as, decision.auth)
  }
  const headers = decision.headers
  // Set before the handler, so that c.json()/c.text() build the response with them in one go:
  // changing a finished response afterwards makes Hono rebuild it (off node-server's fast path).
  for (const name in headers) c.header(name, headers[name])
  // Promise.resolve: the same promise from Hono's compose, a hand-made chain's plain value wrapped.
  return Promise.resolve(next()).then(() => {
    // A Response the handler built itself carries none of them: add them to that one only.
    for (const name in headers) {
      if (!c.res.headers.has(name)) c.header(name, headers[name])
    }
  })
}

/** `c.set(name, auth)`, refusing to overwrite a variable another middleware set (see `land`). */
function landVariable(c: Context<{ Variables: LandedVariables<string> }>, name: string, auth: AuthContext): void {
  const holder: Record<string, unknown> = { [name]: c.get(name) }
  land(holder, name, auth, 'c.var')
  c.set(name, auth)
}

/** What a guard reads: `c.get(from)`; the guard checks keyward put it there. */
function landedAuth(c: Context, from: string): unknown {
  return (c as Context<{ Variables: OptionalLandedVariables<string> }>).get(from)
}

// A synchronous guard as middleware: next() when it passes, else its refusal.
function guard<From extends string>(
  check: (c: Context, found: unknown) => KeywardError | undefined,
  from: From,
): MiddlewareHandler<{ Variables: OptionalLandedVariables<From> }> {
  return async (c, next) => {
    const error = check(c, landedAuth(c, from))
    if (error !== undefined) return send(c, await guardResponse(error, c))
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
 * app.delete('/api/keys/:id', authenticate(kw), requireScopes('admin'), revokeKey)
 * ```
 */
export function requireScopes(...scopes: string[]): MiddlewareHandler<{ Variables: OptionalKeywardVariables }>
export function requireScopes<From extends string>(
  ...args: [...scopes: string[], options: GuardOptions<From>]
): MiddlewareHandler<{ Variables: OptionalLandedVariables<From> }>
export function requireScopes(...args: Array<string | GuardOptions>): MiddlewareHandler {
  const { scopes, from } = scopeGuardArgs(args)
  return guard(createScopeGuard(scopes, preflightReader), from)
}

/**
 * Route guard, after `authenticate()`: 401 `mfa_required` unless the request's JWT was minted
 * after a second factor (`kw.tokens.login` with a TOTP code, or `issue({ mfa: true })`). API keys
 * and password-only logins are refused. A CORS preflight passes untouched.
 *
 * @example
 * ```ts
 * app.post('/api/billing/payout', authenticate(kw), requireMfa(), payout)
 * ```
 */
export function requireMfa(): MiddlewareHandler<{ Variables: OptionalKeywardVariables }>
export function requireMfa<From extends string>(
  options: GuardOptions<From>,
): MiddlewareHandler<{ Variables: OptionalLandedVariables<From> }>
export function requireMfa(options?: GuardOptions): MiddlewareHandler {
  return guard(createMfaGuard(preflightReader), guardFrom(options, 'requireMfa()'))
}

/**
 * Route guard, after `authenticate()`: 403 `Token does not have access to this project` unless
 * the key lists the project `getProjectId(c)` returns (a request naming none is refused too).
 * A CORS preflight passes untouched, before `getProjectId` runs.
 *
 * @example
 * ```ts
 * app.get('/api/projects/:projectId/stats', authenticate(kw), requireProject((c) => c.req.param('projectId')), stats)
 * ```
 */
export function requireProject(getProjectId: ProjectResolver<Context>): MiddlewareHandler<{ Variables: OptionalKeywardVariables }>
export function requireProject<From extends string>(
  getProjectId: ProjectResolver<Context>,
  options: GuardOptions<From>,
): MiddlewareHandler<{ Variables: OptionalLandedVariables<From> }>
export function requireProject(getProjectId: ProjectResolver<Context>, options?: GuardOptions): MiddlewareHandler {
  const check = createProjectGuard(getProjectId, preflightReader)
  const from = guardFrom(options, 'requireProject()')
  return async (c, next) => {
    const error = await check(c, landedAuth(c, from))
    if (error !== undefined) return send(c, await guardResponse(error, c))
    await next()
  }
}

/**
 * Options of {@link managementRouter}: the shared management options plus `trustProxy` and
 * `getConnInfo` (as in `authenticate()`).
 *
 * @example
 * ```ts
 * const options: HonoManagementOptions = { scope: 'admin', getConnInfo }
 * ```
 */
export interface HonoManagementOptions extends ManagementOptions {
  /** Proxies whose X-Forwarded-For to believe (as in `authenticate()`). Default: none. */
  trustProxy?: TrustProxy
  /** How this runtime tells the socket address; see `HonoAuthenticateOptions`. */
  getConnInfo?: GetConnInfo
}

/**
 * The key management API (`POST/GET /keys`, `GET/PATCH/DELETE /keys/:id`, `POST /keys/:id/rotate`)
 * as a Hono app to mount with `app.route()`. It reads the body itself, bounded by `maxBodyBytes`.
 * On Workers, `c.executionCtx.waitUntil` keeps an async `onEvent` hook's audit work alive past the response.
 *
 * @example
 * ```ts
 * app.route('/admin', managementRouter(kw)) // POST /admin/keys with an admin key
 * ```
 */
export function managementRouter(kw: Keyward, options: HonoManagementOptions = {}): Hono {
  // The handler checks every option, this adapter's own included, before any is read.
  const handle = createManagementHandler(kw, options, ['trustProxy', 'getConnInfo'])
  const { trustProxy, getConnInfo } = options
  const read = reader(getConnInfo)
  const clientIp = createClientIpResolver(trustProxy)
  const app = new Hono()
  const serve = async (c: Context, own = '/keys') => {
    // The mount point may hold params (`/orgs/:org`): drop as many segments as it has.
    const route = c.req.routePath
    const base = route.slice(0, route.lastIndexOf(own)).split('/').filter(Boolean).length
    const path =
      '/' +
      c.req.path
        .split('/')
        .filter((_, i) => i > 0)
        .slice(base)
        .join('/')
    const url = new URL(c.req.url)
    const { status, headers, body } = await handle({
      method: c.req.method,
      path,
      query: url.search.slice(1),
      headers: c.req.raw.headers,
      ip: clientIp(read.socketAddress(c), read.forwardedFor(c)),
      url: c.req.url,
      // A validator that ran before us read the stream; Hono keeps what it read.
      body: c.req.raw.bodyUsed ? await c.req.text() : c.req.raw.body,
      // On Workers: the audit hook's work for a change outlives the response.
      waitUntil: read.waitUntil(c),
    })
    return status === 204 || status === 304 ? c.body(null, status, headers) : c.body(body, status as 200, headers)
  }
  app.all('/keys', (c) => serve(c))
  app.all('/keys/*', (c) => serve(c))
  for (const path of [CAPABILITIES_PATH, UI_SCRIPT_PATH]) app.all(path, (c) => serve(c, path))
  return app
}
