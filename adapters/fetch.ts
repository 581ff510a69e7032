/**
 * keyward for any `Request -> Response` runtime without a framework: Next.js route handlers and
 * middleware, `Bun.serve`, `Deno.serve`, a bare Worker. There is no socket here: say where the
 * client address comes from with the `ip` option (else keys limited to IPs are refused and
 * lockout does not count). Imports nothing from `node:`.
 *
 * @example
 * ```ts
 * import { createKeyward } from 'keyward'
 * import { withAuth } from 'keyward/fetch'
 *
 * const kw = createKeyward({ prefix: 'bsk' })
 * export default {
 *   fetch: withAuth(kw, (request, auth) => Response.json({ org: auth.org }), {
 *     scopes: 'read',
 *     ip: (request) => request.headers.get('cf-connecting-ip') ?? undefined,
 *   }),
 * }
 * ```
 */
import { isPreflight, type AuthContext, type Keyward, type WaitUntil } from 'keyward'
import { boolean, checkOptions, func, optionError, type OptionRules } from '../src/internal/options.js'
import {
  AUTHENTICATE_OPTIONS,
  createAuthenticator,
  createMfaGuard,
  guardResponse,
  type AuthenticateOptions,
  type Decision,
} from './shared.js'
import { addHeaders, type Call, type PlatformContext, type RequestHandler, toResponse, waitUntilOf } from './fetch-support.js'

export type { ErrorHook, ErrorResponseOverride, TrustProxy, AuthContext, WaitUntil } from 'keyward'
export { managementHandler, type FetchManagementOptions } from './fetch-management.js'
export type { PlatformContext, RequestHandler } from './fetch-support.js'

/**
 * Options of {@link authenticateRequest} and {@link withAuth}: the shared `project(request, ...rest)`,
 * `scopes`, `optional`, `onError(error, request)`, `trustProxy`, plus `ip`, `waitUntil` and `requireMfa`.
 *
 * @example
 * ```ts
 * const options: FetchAuthenticateOptions = { scopes: 'write', requireMfa: true, ip: (req) => req.headers.get('x-real-ip') ?? undefined }
 * ```
 */
export interface FetchAuthenticateOptions<Rest extends unknown[] = []> extends Omit<AuthenticateOptions<Request>, 'project'> {
  /**
   * The project the request targets (see the shared option): with `withAuth` it also gets the
   * arguments after the request, e.g. Next's `{ params }`. Default: no project check.
   */
  project?: (request: Request, ...rest: Rest) => unknown
  /**
   * The client address: what the runtime says (`server.requestIP(req)` on Bun, `info.remoteAddr`
   * on Deno, `cf-connecting-ip` on Workers, `x-real-ip` on Vercel). With `withAuth` it also gets
   * the arguments after the request. `trustProxy` then applies to it and X-Forwarded-For as usual.
   * Default: no address (keys limited to IPs are refused; lockout does not count).
   */
  ip?: (request: Request, ...rest: Rest) => string | undefined
  /**
   * Keeps background work (the batched last-used write) alive after the response, e.g.
   * `waitUntil` from `@vercel/functions`. Default: the `waitUntil` of a context argument
   * (Workers' `ctx`, Next middleware's `event`), else none.
   */
  waitUntil?: WaitUntil
  /** Refuse with 401 `mfa_required` unless the JWT was minted after a second factor (the guard `requireMfa()` elsewhere). Default false. */
  requireMfa?: boolean
}

/**
 * What {@link authenticateRequest} decides: go on with `auth` (add `headers`, the RateLimit
 * fields, to your response), or answer `response`, ready to return. A CORS preflight is not
 * authenticated: it comes back as `{ ok: false, preflight: true }` with an empty 204, for your
 * CORS code to answer instead if you have one.
 *
 * @example
 * ```ts
 * const result: FetchAuthResult = await authenticateRequest(kw, request)
 * if (!result.ok) return result.response
 * ```
 */
export type FetchAuthResult<Auth extends AuthContext | undefined = AuthContext> =
  { ok: true; auth: Auth; headers: Readonly<Record<string, string>> } | { ok: false; response: Response; preflight: boolean }

const FETCH_OPTIONS: OptionRules = {
  ...AUTHENTICATE_OPTIONS,
  ip: func('of the request returning the client address'),
  waitUntil: func('(promise) => void'),
  requireMfa: boolean,
}

const read = {
  method: (call: Call) => call.request.method,
  headers: (call: Call) => call.request.headers,
  url: (call: Call) => call.request.url,
  socketAddress: (call: Call) => call.ip,
  forwardedFor: (call: Call) => call.request.headers.get('x-forwarded-for'),
  waitUntil: (call: Call) => call.waitUntil,
}
const mfaGuard = createMfaGuard(read)

type Decide = (call: Call) => Promise<Decision>

/**
 * The shared authenticator over a call, the hooks given the Request. Options are checked here,
 * once per options object (see the cache below): an unknown option is a TypeError.
 */
function buildDecider(kw: Keyward, options: FetchAuthenticateOptions<unknown[]> | undefined): Decide {
  const { project, onError, ip: _ip, waitUntil: _waitUntil, requireMfa = false, ...rest } = checkOptions(options ?? {}, FETCH_OPTIONS)
  const shared: AuthenticateOptions<Call> = { ...rest }
  // Anything but a function goes on as it is, for the shared check to refuse it.
  if (project !== undefined)
    shared.project = typeof project === 'function' ? (call) => project(call.request, ...call.rest) : (project as never)
  if (onError !== undefined)
    shared.onError = typeof onError === 'function' ? (error, call) => onError(error, call.request) : (onError as never)
  const decide = createAuthenticator(kw, shared, read)
  if (!requireMfa) return decide
  return async (call) => {
    const decision = await decide(call)
    if (!decision.ok || isPreflightCall(call)) return decision
    const error = mfaGuard(call, decision.auth)
    return error === undefined ? decision : { ok: false, response: await guardResponse(error, call) }
  }
}

const NO_OPTIONS = {}
const deciders = new WeakMap<Keyward, WeakMap<object, Decide>>()

/** One decider per (kw, options object): a module-level options constant is checked once, not per request. */
function deciderFor(kw: Keyward, options: FetchAuthenticateOptions<unknown[]> | undefined): Decide {
  const key = options ?? NO_OPTIONS
  if (kw === null || typeof kw !== 'object') return buildDecider(kw, options)
  let perKw = deciders.get(kw)
  if (perKw === undefined) deciders.set(kw, (perKw = new WeakMap()))
  let decide = perKw.get(key)
  if (decide === undefined) perKw.set(key, (decide = buildDecider(kw, options)))
  return decide
}

function isPreflightCall(call: Call): boolean {
  return isPreflight(call.request.method, call.request.headers)
}

async function run(decide: Decide, call: Call): Promise<FetchAuthResult<AuthContext | undefined>> {
  const decision = await decide(call)
  if (!decision.ok) return { ok: false, response: toResponse(decision.response), preflight: false }
  if (decision.auth === undefined && isPreflightCall(call))
    return { ok: false, response: new Response(null, { status: 204 }), preflight: true }
  return { ok: true, auth: decision.auth, headers: decision.headers }
}

/**
 * Verifies a Web `Request`. `context` carries what only the runtime knows for this request: the
 * client address and a `waitUntil` (a Workers `ctx` or Next's `event` can be passed as it is).
 * Errors thrown by `project` or `onError`, or an `onError` header no `Headers` accepts, reject.
 *
 * @example
 * ```ts
 * Bun.serve({
 *   async fetch(request, server) {
 *     const result = await authenticateRequest(kw, request, { scopes: 'read' }, { ip: server.requestIP(request)?.address })
 *     if (!result.ok) return result.response
 *     return Response.json({ org: result.auth.org }, { headers: result.headers })
 *   },
 * })
 * ```
 */
export function authenticateRequest(
  kw: Keyward,
  request: Request,
  options: FetchAuthenticateOptions & { optional: true },
  context?: PlatformContext,
): Promise<FetchAuthResult<AuthContext | undefined>>
export function authenticateRequest(
  kw: Keyward,
  request: Request,
  options?: FetchAuthenticateOptions,
  context?: PlatformContext,
): Promise<FetchAuthResult>
export async function authenticateRequest(
  kw: Keyward,
  request: Request,
  options?: FetchAuthenticateOptions,
  context?: PlatformContext,
): Promise<FetchAuthResult<AuthContext | undefined>> {
  const decide = deciderFor(kw, options as FetchAuthenticateOptions<unknown[]> | undefined)
  const ip = context !== undefined && 'ip' in context ? context.ip : options?.ip?.(request)
  return run(decide, { request, rest: [], ip, waitUntil: options?.waitUntil ?? waitUntilOf(context) })
}

/**
 * Options of {@link withAuth}: those of `authenticateRequest`, plus `preflight`.
 *
 * @example
 * ```ts
 * const options: WithAuthOptions<[Env, ExecutionContext]> = {
 *   scopes: 'read',
 *   ip: (req) => req.headers.get('cf-connecting-ip') ?? undefined,
 * }
 * ```
 */
export interface WithAuthOptions<Rest extends unknown[] = []> extends FetchAuthenticateOptions<Rest> {
  /**
   * Answers a CORS preflight, which is never authenticated (it carries no credential). Default:
   * an empty 204 with no CORS headers, which a browser reads as "not allowed".
   */
  preflight?: (request: Request, ...rest: Rest) => Response | Promise<Response>
}

/**
 * Wraps a handler: it runs only for a request keyward accepts, with the verified `auth`, and the
 * RateLimit headers are added to its response (those it set itself win). Refusals are answered
 * with the error's status, headers and `application/problem+json` body. Arguments after the
 * request are handed on; one with a `waitUntil` (Workers' `ctx`, Next middleware's `event`)
 * keeps background work alive. Errors thrown by the handler, `project` or `onError` reject.
 * Those arguments' types come from the handler's parameters (`env: Env`); a handler that ignores
 * them while `ip` or `project` reads them names them with a type argument: `withAuth<[Env]>(...)`.
 *
 * @example
 * ```ts
 * export const GET = withAuth(kw, async (request, auth) => Response.json({ org: auth.org }), { scopes: 'read' })
 * ```
 */
export function withAuth<Rest extends unknown[] = []>(
  kw: Keyward,
  handler: (request: Request, auth: AuthContext | undefined, ...rest: Rest) => Response | Promise<Response>,
  options: NoInfer<WithAuthOptions<Rest>> & { optional: true },
): RequestHandler<Rest>
export function withAuth<Rest extends unknown[] = []>(
  kw: Keyward,
  handler: (request: Request, auth: AuthContext, ...rest: Rest) => Response | Promise<Response>,
  options?: NoInfer<WithAuthOptions<Rest>>,
): RequestHandler<Rest>
export function withAuth<Rest extends unknown[] = []>(
  kw: Keyward,
  handler: (request: Request, auth: AuthContext, ...rest: Rest) => Response | Promise<Response>,
  options?: WithAuthOptions<Rest>,
): RequestHandler<Rest> {
  if (typeof handler !== 'function') optionError('withAuth(kw, handler, options) needs a handler (request, auth, ...rest) => Response')
  checkOptions(options ?? {}, { ...FETCH_OPTIONS, preflight: func('(request) => Response') })
  const { preflight, ...authOptions } = options ?? {}
  // Checked now, at start-up, not at the first request.
  const decide = buildDecider(kw, authOptions as FetchAuthenticateOptions<unknown[]>)
  const { ip, waitUntil } = authOptions
  return async (request, ...rest) => {
    const result = await run(decide, { request, rest, ip: ip?.(request, ...rest), waitUntil: waitUntil ?? waitUntilOf(...rest) })
    if (!result.ok) return result.preflight && preflight !== undefined ? preflight(request, ...rest) : result.response
    return addHeaders(await handler(request, result.auth as AuthContext, ...rest), result.headers)
  }
}
