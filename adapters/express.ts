/**
 * keyward for Express 4 and 5: `authenticate()` puts the verified key on `req.auth`.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createKeyward } from 'keyward'
 * import { authenticate } from 'keyward/express'
 *
 * const kw = createKeyward({ prefix: 'bsk' })
 * const app = express()
 * app.get('/api/projects/:projectId/stats', authenticate(kw, { scopes: 'read', project: (req) => req.params.projectId }), (req, res) => {
 *   res.json({ org: req.auth.org }) // typed with `import type {} from 'keyward/express/augment'`
 * })
 * ```
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
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
import {
  asError,
  createAuthenticator,
  createMfaGuard,
  createProjectGuard,
  createScopeGuard,
  guardFrom,
  guardResponse,
  handOff,
  land,
  LANDING_OPTIONS,
  nodeHeaders,
  scopeGuardArgs,
  type AuthenticateOptions,
  type GuardOptions,
  type Landing,
  type ProjectResolver,
} from './shared.js'

export type { ErrorHook, ErrorResponseOverride, TrustProxy, AuthContext } from 'keyward'
export type { CredentialSource, GuardOptions } from './shared.js'

/**
 * An Express request once `authenticate()` let it through. Use it where a function needs the auth,
 * or add `auth` to every request type with the opt-in `import 'keyward/express/augment'`. With
 * `authenticate({ as: 'session' })`, `AuthenticatedRequest<'session'>` has `req.session`.
 *
 * @example
 * ```ts
 * function orgOf(req: AuthenticatedRequest): string {
 *   return req.auth.org
 * }
 * const userOf = (req: AuthenticatedRequest<'auth' | 'session'>) => req.session.subject
 * ```
 */
export type AuthenticatedRequest<As extends string = 'auth'> = Request & { [K in As]: AuthContext }

/**
 * A request that went through `authenticate({ optional: true })`: `auth` is there when it carried
 * a valid credential.
 *
 * @example
 * ```ts
 * const who = (req as KeywardRequest).auth?.keyId ?? 'anonymous'
 * ```
 */
export type KeywardRequest<As extends string = 'auth'> = Request & { [K in As]?: AuthContext }

/**
 * Options of {@link authenticate}: `project(req)`, `scopes`, `optional`, `onError(error, req)`,
 * `trustProxy`, `credentials` (the header to read) and `as` (where the auth lands, default `req.auth`).
 *
 * @example
 * ```ts
 * const options: ExpressAuthenticateOptions = { scopes: 'write', project: (req) => req.body?.projectId }
 * ```
 */
export type ExpressAuthenticateOptions<As extends string = string> = AuthenticateOptions<Request> & Landing<As>

/**
 * The `res.locals` type of the handler `authenticate()` returns. Express infers one locals type
 * for all the handlers of a route, so this brand tells the handlers after `authenticate()` that
 * `req.auth` is set (read by `keyward/express/augment`). It exists in types only: nothing is
 * written to `res.locals`.
 *
 * @example
 * ```ts
 * const verified: RequestHandler<Request['params'], unknown, unknown, Request['query'], AuthenticatedLocals> = authenticate(kw)
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Express's own locals constraint.
export interface AuthenticatedLocals extends Record<string, any> {
  /** Type-level brand; never present at run time. */
  readonly '~keyward': 'authenticated'
}

const read = {
  method: (req: Request) => req.method,
  headers: (req: Request) => nodeHeaders(req),
  // originalUrl survives mounting (`app.use('/api', router)`), so the whole query is seen.
  url: (req: Request) => req.originalUrl ?? req.url,
  socketAddress: (req: Request) => req.socket?.remoteAddress,
  forwardedFor: (req: Request) => req.headers['x-forwarded-for'],
}

/** Sends a refusal, unless another middleware (a timeout) already answered: writing would throw. */
function send(res: Response, { status, headers, body }: ErrorResponse): void {
  if (res.headersSent) return
  res.status(status).set(headers).send(body)
}

/**
 * Middleware that verifies the request's API key. On success `req.auth` (or `req[as]`) is set, the RateLimit
 * headers are added to the response and the next handler runs; on failure the response is the
 * error's status, headers and `application/problem+json` body, and no later handler runs.
 * A CORS preflight passes untouched, with no `req.auth`: a handler mounted for every method
 * (`app.use`, `app.all`) must not assume it on OPTIONS. Errors thrown by `project` or `onError`,
 * or while writing the response (an `onError` header value Node refuses), go to `next(err)`, and
 * so does a throw out of `next()` itself (a connect-style host that runs the next handler inside
 * `next()` without catching it), once, even after an await: never an unhandled rejection. If
 * another middleware (a timeout) already sent the response, nothing more is written: a refusal
 * ends there, a success still runs the next handler.
 *
 * @example
 * ```ts
 * app.post('/api/track', express.json(), authenticate(kw, { scopes: 'write', project: (req) => req.body?.projectId }), track)
 * ```
 */
export function authenticate(kw: Keyward, options: ExpressAuthenticateOptions & { optional: true }): RequestHandler
export function authenticate(
  kw: Keyward,
  options?: ExpressAuthenticateOptions<'auth'> & { optional?: false },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Express's own default body types.
): RequestHandler & RequestHandler<Request['params'], any, any, Request['query'], AuthenticatedLocals>
export function authenticate(kw: Keyward, options?: ExpressAuthenticateOptions): RequestHandler
export function authenticate(kw: Keyward, options?: ExpressAuthenticateOptions): RequestHandler {
  const decide = createAuthenticator(kw, options, read, LANDING_OPTIONS)
  const as = options?.as ?? 'auth'
  return (req, res, next) => {
    // Through into(): a cached key is answered at once, so next() runs in this same turn (a
    // promise first costs Express a few µs a request). A throw while landing or writing, or from
    // next() itself (a connect-style host that does not catch its handlers' throws), reaches
    // next(err) once, through into()'s fail: never an unhandled rejection, never a second pass.
    decide.into(
      req,
      (decision) => {
        if (!decision.ok) return send(res, decision.response)
        if (decision.auth !== undefined) {
          if (as === 'auth') (req as KeywardRequest).auth = decision.auth
          else land(req as unknown as Record<string, unknown>, as, decision.auth, 'req')
        }
        if (!res.headersSent) for (const name in decision.headers) res.setHeader(name, decision.headers[name]!)
        next()
      },
      (reason) => next(asError(reason)),
    )
  }
}

/** The error path of a middleware's `next`, for handOff(). */
const failTo =
  (next: NextFunction) =>
  (reason: unknown): void =>
    next(asError(reason))

// A synchronous guard as middleware: next() when it passes, else its refusal.
function guard(check: (request: Request, found: unknown) => KeywardError | undefined, from: string): RequestHandler {
  return (req, res, next) => {
    const error = check(req, (req as unknown as Record<string, unknown>)[from])
    if (error === undefined) return next()
    handOff(guardResponse(error, req), (response) => send(res, response), failTo(next))
  }
}

/**
 * Route guard, after `authenticate()`: 403 `insufficient_scope` (with the RFC 6750 challenge)
 * unless the key holds every scope; 401 when no key authenticated the request. A CORS preflight
 * passes untouched, as through `authenticate()`. A last argument `{ from: 'session' }` checks the
 * auth of `authenticate({ as: 'session' })` instead of `req.auth`.
 *
 * @example
 * ```ts
 * app.delete('/api/keys/:id', authenticate(kw), requireScopes('admin'), revokeKey)
 * ```
 */
export function requireScopes(...scopes: string[]): RequestHandler
export function requireScopes(...args: [...scopes: string[], options: GuardOptions]): RequestHandler
export function requireScopes(...args: Array<string | GuardOptions>): RequestHandler {
  const { scopes, from } = scopeGuardArgs(args)
  return guard(createScopeGuard(scopes, read), from)
}

/**
 * Route guard, after `authenticate()`: 401 `mfa_required` unless the request's JWT was minted
 * after a second factor (`kw.tokens.login` with a TOTP code, or `issue({ mfa: true })`). API keys
 * and password-only logins are refused. A CORS preflight passes untouched. `{ from: 'session' }`
 * checks `req.session` (from `authenticate({ as: 'session' })`) instead of `req.auth`.
 *
 * @example
 * ```ts
 * app.post('/api/billing/payout', authenticate(kw), requireMfa(), payout)
 * ```
 */
export function requireMfa(options?: GuardOptions): RequestHandler {
  return guard(createMfaGuard(read), guardFrom(options, 'requireMfa()'))
}

/**
 * Route guard, after `authenticate()`: 403 `Token does not have access to this project` unless
 * the key lists the project `getProjectId(req)` returns (a request naming none is refused too).
 * A CORS preflight passes untouched, before `getProjectId` runs. `{ from: 'session' }` checks
 * `req.session` instead of `req.auth`.
 *
 * @example
 * ```ts
 * app.get('/api/projects/:projectId/stats', authenticate(kw), requireProject((req) => req.params.projectId), stats)
 * ```
 */
export function requireProject(getProjectId: ProjectResolver<Request>, options?: GuardOptions): RequestHandler {
  const check = createProjectGuard(getProjectId, read)
  const from = guardFrom(options, 'requireProject()')
  return (req, res, next) => {
    const fail = failTo(next)
    handOff(
      check(req, (req as unknown as Record<string, unknown>)[from]),
      (error) => (error === undefined ? next() : handOff(guardResponse(error, req), (response) => send(res, response), fail)),
      fail,
    )
  }
}

/**
 * Where the management handler finds the request body, decided from public facts only (no
 * body-parser internals): headers that declare no body (RFC 9112 §6.3: no Transfer-Encoding and
 * no or a zero Content-Length) mean none, whatever a parser left on `req.body` (express.json()
 * turns an empty body into `{}`); a stream that has ended was read by a parser before us, so its
 * `req.body` is the body; otherwise the stream is unread (no parser, or one that skipped this
 * content type) and the handler reads it, bounded.
 */
function bodyOf(req: Request): { body?: Request; parsedBody?: unknown } {
  const length = req.headers['content-length']
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0)) return {}
  return req.readableEnded ? { parsedBody: req.body } : { body: req }
}

/**
 * Options of {@link managementRouter}: the shared management options plus `trustProxy`.
 *
 * @example
 * ```ts
 * const options: ExpressManagementOptions = { scope: 'admin', trustProxy: 1 }
 * ```
 */
export interface ExpressManagementOptions extends ManagementOptions {
  /** Proxies whose X-Forwarded-For to believe (as in `authenticate()`). Default: none. */
  trustProxy?: TrustProxy
}

/**
 * The key management API (`POST/GET /keys`, `GET/PATCH/DELETE /keys/:id`, `POST /keys/:id/rotate`)
 * as one middleware: mount it where you like. Paths outside `/keys` go to the next handler. It
 * reads the body itself (bounded, `maxBodyBytes`); a body `express.json()` already parsed is used
 * as it is. See README "Managing keys" and `managementOpenApi()`.
 *
 * @example
 * ```ts
 * app.use('/admin', managementRouter(kw)) // POST /admin/keys with an admin key
 * ```
 */
export function managementRouter(kw: Keyward, options: ExpressManagementOptions = {}): RequestHandler {
  // The handler checks every option, this adapter's own included, before any is read.
  const handle = createManagementHandler(kw, options, ['trustProxy'])
  const { trustProxy } = options
  const clientIp = createClientIpResolver(trustProxy)
  return (req, res, next) => {
    if (!ownsPath(req.path)) return next()
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : ''
    const answer = handle({
      method: req.method,
      path: req.path,
      query,
      // Every Authorization line, as authenticate() sees them: a second credential is refused, not hidden.
      headers: read.headers(req),
      ip: clientIp(read.socketAddress(req), read.forwardedFor(req)),
      url: read.url(req),
      ...bodyOf(req),
    })
    handOff(answer, (response) => send(res, response), failTo(next))
  }
}
