/**
 * keyward for Fastify 5, Fastify style: register the plugin once (it decorates `request.auth`),
 * then put `authenticate()` and the guards in a route's hooks (`onRequest`, `preValidation` or
 * `preHandler`). Importing this module types `request.auth` through declaration merging.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { createKeyward } from 'keyward'
 * import keyward, { authenticate } from 'keyward/fastify'
 *
 * const kw = createKeyward({ prefix: 'bsk' })
 * const app = Fastify()
 * await app.register(keyward)
 * app.get<{ Params: { projectId: string } }>(
 *   '/api/projects/:projectId/stats',
 *   { onRequest: authenticate<{ Params: { projectId: string } }>(kw, { scopes: 'read', project: (req) => req.params.projectId }) },
 *   async (request) => ({ org: request.auth?.org }),
 * )
 * ```
 */
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteGenericInterface,
} from 'fastify'
import fastifyPlugin from 'fastify-plugin'
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
} from 'keyward'
import { assertHeaderValues } from './header-values.js'
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
  type Decision,
  type GuardOptions,
  type Landing,
  type ProjectResolver,
} from './shared.js'
import { checkOptions, optionError } from '../src/internal/options.js'

export type { ErrorHook, ErrorResponseOverride, TrustProxy, AuthContext } from 'keyward'
export type { CredentialSource, GuardOptions } from './shared.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Set by `authenticate()` from `keyward/fastify` when the request carried a valid credential;
     * undefined on a route without it, after `optional: true` with no credential, and on a CORS preflight.
     */
    auth?: AuthContext
  }
}

/**
 * A hook keyward builds, in Fastify's callback style: fits a route's `onRequest`, `preValidation`
 * or `preHandler` (or `app.addHook()` for all routes of a scope). It calls `done()` when the
 * request may go on, `done(error)` when something threw (Fastify's error handler answers), and
 * neither on a refusal, which it sends itself through the reply. To run one outside Fastify's
 * hook chain (a unit test), pass a `done` callback, or send the request through `app.inject()`.
 *
 * @example
 * ```ts
 * const hook: KeywardHook = authenticate(kw)
 * app.addHook('onRequest', hook)
 * ```
 */
export type KeywardHook<RouteGeneric extends RouteGenericInterface = RouteGenericInterface> = (
  request: FastifyRequest<RouteGeneric>,
  reply: FastifyReply<RouteGeneric>,
  done: HookHandlerDoneFunction,
) => void

/**
 * Options of {@link authenticate}: `project(request)`, `scopes`, `optional`, `onError(error, request)`,
 * `trustProxy` (keyward's own; Fastify's `trustProxy` setting is ignored).
 *
 * @example
 * ```ts
 * const options: FastifyAuthenticateOptions = { scopes: 'write', project: (req) => (req.body as { projectId?: string })?.projectId }
 * ```
 */
export type FastifyAuthenticateOptions<RouteGeneric extends RouteGenericInterface = RouteGenericInterface> = AuthenticateOptions<
  FastifyRequest<RouteGeneric>
> &
  Landing

const read = {
  method: (request: FastifyRequest) => request.raw.method ?? request.method,
  // The raw header list: Node keeps only the first of two Authorization lines in `headers`.
  headers: (request: FastifyRequest) => nodeHeaders(request.raw),
  // The URL as the client sent it, query included, whatever prefix the route was mounted under.
  url: (request: FastifyRequest) => request.raw.url ?? request.url,
  socketAddress: (request: FastifyRequest) => request.raw.socket?.remoteAddress,
  forwardedFor: (request: FastifyRequest) => request.raw.headers['x-forwarded-for'],
}

/** Sends a refusal through Fastify's reply, unless something (a timeout) already answered. */
function send(reply: FastifyReply, { status, headers, body }: ErrorResponse): void {
  // Checked before the reply is touched: a value Node refuses would throw inside Fastify's send,
  // after the status was set, and leave a half-built reply.
  assertHeaderValues(headers)
  if (reply.sent) return
  void reply.code(status).headers(headers).send(body)
}

/**
 * Options of the {@link keyward} plugin.
 *
 * @example
 * ```ts
 * await app.register(keyward, { decorate: ['session'] })
 * ```
 */
export interface KeywardPluginOptions {
  /**
   * More request properties to decorate, one per `authenticate({ as })` other than `'auth'` (type
   * them with `declare module 'fastify' { interface FastifyRequest { session?: AuthContext } }`).
   * Start-up fails if another plugin (@fastify/session) already owns one. Default: none.
   */
  decorate?: readonly string[]
}

/**
 * The plugin: decorates `request.auth`, and the names of `decorate` (one object shape for every
 * request, as Fastify advises), and fails at start-up if another plugin already owns one. Register
 * it once, at the root; it is wrapped with fastify-plugin, so it is not encapsulated.
 *
 * @example
 * ```ts
 * await app.register(keyward)
 * ```
 */
export const keyward: FastifyPluginAsync<KeywardPluginOptions> = fastifyPlugin(
  async (app: FastifyInstance, options: KeywardPluginOptions) => {
    const { decorate = [] } = checkOptions(
      options ?? {},
      {
        decorate: (value, path) => {
          if (!Array.isArray(value)) optionError(`${path} must be a list of names, e.g. ['session']`)
          for (const name of value as unknown[]) LANDING_OPTIONS.as!(name, `${path}[]`)
        },
      },
      // Fastify's own register options reach the plugin too.
      { known: ['prefix', 'logLevel', 'logSerializers'] },
    )
    app.decorateRequest('auth', undefined)
    for (const name of decorate) if (name !== 'auth') app.decorateRequest(name, undefined)
  },
  { fastify: '5.x', name: 'keyward' },
)

export default keyward

/**
 * Hook that verifies the request's credential. On success `request.auth` (or `request[as]`) is set and the RateLimit
 * headers are added to the reply; on failure it sends the error's status, headers and
 * `application/problem+json` body, and the handler does not run. A CORS preflight passes
 * untouched, with no `request.auth`. Put it in `onRequest` when the project comes from the URL or
 * a header (a refused request's body is then never parsed), in `preHandler` when it comes from
 * the parsed body. Errors thrown by `project` or `onError` reach Fastify's error handler.
 *
 * @example
 * ```ts
 * app.post(
 *   '/api/track',
 *   { preHandler: authenticate(kw, { scopes: 'write', project: (req) => (req.body as { projectId?: unknown }).projectId }) },
 *   track,
 * )
 * ```
 */
export function authenticate<RouteGeneric extends RouteGenericInterface = RouteGenericInterface>(
  kw: Keyward,
  options?: FastifyAuthenticateOptions<RouteGeneric>,
): KeywardHook<RouteGeneric> {
  const decide = createAuthenticator(kw, options as FastifyAuthenticateOptions, read, LANDING_OPTIONS)
  const as = options?.as ?? 'auth'
  // A callback hook, not an async one: Fastify then chains no promise of its own after ours.
  return (request, reply, done) => {
    needsDone(done)
    // A throw while landing or sending, or from done() itself, reaches done(err) once through
    // into()'s fail: never an unhandled rejection when the decision came after an await.
    decide.into(
      request as FastifyRequest,
      (decision) => {
        if (settle(request as FastifyRequest, reply as FastifyReply, decision, as)) done()
      },
      failed(done),
    )
  }
}

/** Lands the auth and adds its headers (true: go on), or sends the refusal (false: stop here). */
function settle(request: FastifyRequest, reply: FastifyReply, decision: Decision, as: string): boolean {
  if (!decision.ok) {
    send(reply, decision.response)
    return false
  }
  if (decision.auth !== undefined) {
    if (as === 'auth') request.auth = decision.auth
    else land(request as unknown as Record<string, unknown>, as, decision.auth, 'request')
  }
  if (!reply.sent) reply.headers(decision.headers)
  return true
}

/**
 * Refuses a call without Fastify's `done`: a hook awaited the old way (`await authenticate(kw)(req,
 * reply)` inside an async hook) would return at once and let the handler run before keyward
 * decided. Thrown, it is a rejection of the caller's hook, so Fastify answers 500.
 */
function needsDone(done: unknown): void {
  if (typeof done !== 'function')
    throw new TypeError(
      'keyward/fastify: hooks are callback-style, (request, reply, done): register them as hooks, or call them with a done callback',
    )
}

/**
 * Hands a rejection to Fastify's error handling. A falsy reason (`throw undefined` in `project`)
 * becomes an error: `done(undefined)` would let the request through.
 */
function failed(done: HookHandlerDoneFunction): (reason: unknown) => void {
  return (reason) => done(asError(reason) as Error)
}

/** Sends a guard's refusal, shaped by the onError of the authenticate() before it; done only on a throw. */
function refuse(request: FastifyRequest, reply: FastifyReply, error: KeywardError, done: HookHandlerDoneFunction): void {
  handOff(guardResponse(error, request), (response) => send(reply, response), failed(done))
}

// A synchronous guard as a hook: done() at once when it passes, else its refusal.
function guard(check: (request: FastifyRequest, found: unknown) => KeywardError | undefined, from: string): KeywardHook {
  return (request, reply, done) => {
    needsDone(done)
    const error = check(request, landedAuth(request, from))
    if (error === undefined) done()
    else refuse(request, reply, error, done)
  }
}

/**
 * Route guard, in the hooks after `authenticate()`: 403 `insufficient_scope` (with the RFC 6750
 * challenge) unless the credential holds every scope; 401 when none authenticated the request.
 * A CORS preflight passes untouched, as through `authenticate()`.
 *
 * @example
 * ```ts
 * app.delete('/api/keys/:id', { onRequest: [authenticate(kw), requireScopes('admin')] }, revokeKey)
 * ```
 */
export function requireScopes(...scopes: string[]): KeywardHook
export function requireScopes(...args: [...scopes: string[], options: GuardOptions]): KeywardHook
export function requireScopes(...args: Array<string | GuardOptions>): KeywardHook {
  const { scopes, from } = scopeGuardArgs(args)
  return guard(createScopeGuard(scopes, read), from)
}

/** What a guard reads: `request.auth`, or the property `authenticate({ as })` named; the guard checks keyward put it there. */
function landedAuth(request: FastifyRequest, from: string): unknown {
  return (request as unknown as Record<string, unknown>)[from]
}

/**
 * Route guard, after `authenticate()`: 401 `mfa_required` unless the request's JWT was minted
 * after a second factor. API keys and password-only logins are refused. A CORS preflight passes.
 *
 * @example
 * ```ts
 * app.post('/api/billing/payout', { onRequest: [authenticate(kw), requireMfa()] }, payout)
 * ```
 */
export function requireMfa(options?: GuardOptions): KeywardHook {
  return guard(createMfaGuard(read), guardFrom(options, 'requireMfa()'))
}

/**
 * Route guard, after `authenticate()`: 403 `Token does not have access to this project` unless
 * the credential lists the project `getProjectId(request)` returns (a request naming none is
 * refused too). A CORS preflight passes untouched, before `getProjectId` runs.
 *
 * @example
 * ```ts
 * app.get<{ Params: { projectId: string } }>(
 *   '/p/:projectId',
 *   { onRequest: [authenticate(kw), requireProject<{ Params: { projectId: string } }>((req) => req.params.projectId)] },
 *   stats,
 * )
 * ```
 */
export function requireProject<RouteGeneric extends RouteGenericInterface = RouteGenericInterface>(
  getProjectId: ProjectResolver<FastifyRequest<RouteGeneric>>,
  options?: GuardOptions,
): KeywardHook<RouteGeneric> {
  const check = createProjectGuard(getProjectId as ProjectResolver<FastifyRequest>, read)
  const from = guardFrom(options, 'requireProject()')
  return (request, reply, done) => {
    needsDone(done)
    // A throw from done() goes to done(err), once; never an unhandled rejection.
    handOff(
      check(request as FastifyRequest, landedAuth(request as FastifyRequest, from)),
      (error) => {
        if (error === undefined) done()
        else refuse(request as FastifyRequest, reply as FastifyReply, error, done)
      },
      failed(done),
    )
  }
}

/**
 * Options of {@link managementRouter}: the shared management options plus `trustProxy`.
 *
 * @example
 * ```ts
 * const options: FastifyManagementOptions = { scope: 'admin', trustProxy: 1 }
 * ```
 */
export interface FastifyManagementOptions extends ManagementOptions {
  /** Proxies whose X-Forwarded-For to believe (as in `authenticate()`). Default: none. */
  trustProxy?: TrustProxy
}

/**
 * The key management API (`POST/GET /keys`, `GET/PATCH/DELETE /keys/:id`, `POST /keys/:id/rotate`)
 * as an encapsulated plugin: register it under the prefix you want. It reads the body itself,
 * bounded by `maxBodyBytes`: inside the plugin Fastify's body parsers are replaced by one that
 * hands on the raw stream, so a bad body gets keyward's problem document, not Fastify's error.
 *
 * @example
 * ```ts
 * await app.register(managementRouter(kw), { prefix: '/admin' }) // POST /admin/keys with an admin key
 * ```
 */
export function managementRouter(kw: Keyward, options: FastifyManagementOptions = {}): FastifyPluginAsync {
  // The handler checks every option, this adapter's own included, before any is read.
  const handle = createManagementHandler(kw, options, ['trustProxy'])
  const { trustProxy } = options
  const clientIp = createClientIpResolver(trustProxy)
  return async (app) => {
    app.removeAllContentTypeParsers()
    // The body stays unread here: the handler reads at most maxBodyBytes of it and answers 413/415.
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined))
    const serve = async (request: FastifyRequest<{ Params: { '*'?: string } }>, reply: FastifyReply, fixed?: string) => {
      const wildcard = request.params['*']
      const url = read.url(request as FastifyRequest)
      const at = url.indexOf('?')
      const response = await handle({
        method: request.method,
        path: fixed ?? (wildcard === undefined ? '/keys' : `/keys/${wildcard}`),
        query: at === -1 ? '' : url.slice(at + 1),
        // Every Authorization line, as authenticate() sees them: a second credential is refused, not hidden.
        headers: read.headers(request as FastifyRequest),
        ip: clientIp(read.socketAddress(request as FastifyRequest), read.forwardedFor(request as FastifyRequest)),
        url,
        body: request.raw,
      })
      send(reply, response)
      return reply
    }
    app.all('/keys', serve)
    app.all('/keys/*', serve)
    for (const path of [CAPABILITIES_PATH, UI_SCRIPT_PATH])
      app.all<{ Params: { '*'?: string } }>(path, (request, reply) => serve(request, reply, path))
  }
}
