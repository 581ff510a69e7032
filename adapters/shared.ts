/**
 * What the three adapters have in common, written once: option checks, the order of the steps
 * around `kw.verify()`, and the two guards. Each adapter only says how to read its framework's
 * request and how to write its response. Internal: not an entry point.
 */
import {
  createClientIpResolver,
  errorResponse,
  isPreflight,
  isValidScope,
  KeywardError,
  missingScopes,
  type AuthContext,
  type ErrorHook,
  type ErrorResponse,
  type HeaderSource,
  type Keyward,
  type TrustProxy,
  type VerifyInput,
  type VerifyResult,
  type WaitUntil,
} from 'keyward'
// Bundled into each adapter (a pure function, no state), not part of keyward's public surface.
import {
  boolean,
  checkedElsewhere,
  checkOptions,
  func,
  nested,
  oneOf,
  optionError,
  required,
  type OptionRule,
  type OptionRules,
} from '../src/internal/options.js'
import { isPromiseLike } from '../src/internal/maybe-sync.js'
import { verifyNowOf } from '../src/internal/verify-now.js'

/**
 * The project a request targets, from the framework's request: a string, or a promise of one (a
 * body parsed on demand). Typed `unknown` so that route params (`string | string[]` in Express 5)
 * and parsed JSON bodies need no cast; anything that is not a string, `undefined` included (no
 * `projectId` in the body), is refused as a project no key holds.
 *
 * @example
 * ```ts
 * const fromBody: ProjectResolver<Request> = (req) => req.body?.projectId
 * ```
 */
export type ProjectResolver<Request> = (request: Request) => unknown

/**
 * Options of `authenticate()`, the same names in every adapter.
 *
 * @example
 * ```ts
 * const options: AuthenticateOptions<Request> = { scopes: 'write', project: (req) => req.params.projectId, trustProxy: 1 }
 * ```
 */
export interface AuthenticateOptions<Request> {
  /**
   * The project the request targets: a route param, a header, or the parsed JSON body's
   * `projectId`. The key must list it, else 403 `project_forbidden`. A request whose resolver
   * returns anything but a string, `undefined` included (the body has no `projectId`), is refused
   * the same way: once configured, the check is never skipped. For routes where the project is
   * optional, leave this out and put `requireProject()` only where one is needed.
   * Default: no project check.
   */
  project?: ProjectResolver<Request>
  /** Scopes the route needs, all of them (hierarchy applies: `admin` covers `write`). Default: none. */
  scopes?: string | readonly string[]
  /**
   * When true, a request without any credential goes through with no auth attached; a wrong,
   * malformed or refused credential is still refused. Default false.
   */
  optional?: boolean
  /** Changes the refusal's body, headers or status (see `ErrorHook`). Also used by the guards after it. */
  onError?: ErrorHook<Request>
  /**
   * Proxies whose X-Forwarded-For to believe: a hop count, or their addresses/CIDRs.
   * Default: none, the socket address is the client. keyward ignores the framework's own setting.
   */
  trustProxy?: TrustProxy
  /**
   * Where this `authenticate()` reads its credential, for an API that takes two on purpose (an
   * app key in one header, a user session in `Authorization`). Default: createKeyward's
   * `credentialHeaders`, any kind of credential.
   */
  credentials?: CredentialSource
}

/**
 * The credential one `authenticate()` reads: which header(s), and optionally which kind.
 *
 * @example
 * ```ts
 * const appKey: CredentialSource = { header: 'x-app-key', type: 'api_key' }
 * const session: CredentialSource = { header: 'authorization', type: 'jwt' }
 * ```
 */
export interface CredentialSource {
  /** The header or headers to read (lowercase), instead of createKeyward's `credentialHeaders`. */
  header: string | readonly string[]
  /** Accept only an API key or only a JWT; the other kind is refused as 401 `invalid_token`. Default: both. */
  type?: 'api_key' | 'jwt'
}

/**
 * The `as` option of `authenticate()` in the Express, Koa, Hono and Fastify adapters: the name the
 * auth lands under (`req.session`, `ctx.state.session`, `c.get('session')`, `request.session`),
 * so that a second `authenticate()` does not overwrite the first. Default `'auth'`.
 *
 * @example
 * ```ts
 * const landing: Landing<'session'> = { as: 'session' }
 * ```
 */
export interface Landing<As extends string = string> {
  /** The name the auth lands under. An identifier; default `'auth'`. */
  as?: As
}

/**
 * The options of a guard (`requireScopes`, `requireProject`, `requireMfa`): which landing place it reads.
 *
 * @example
 * ```ts
 * const options: GuardOptions<'session'> = { from: 'session' }
 * ```
 */
export interface GuardOptions<From extends string = string> {
  /** The `as` of the `authenticate()` whose auth the guard checks. Default `'auth'`. */
  from?: From
}

const landingName: OptionRule = (value, path) => {
  if (typeof value !== 'string' || !/^[A-Za-z_$][\w$]{0,63}$/.test(value) || value in Object.prototype || value === 'prototype')
    optionError(`${path} must be an identifier such as 'session' (not a name every object already has)`)
}

/**
 * The `as` option's rule, for the adapters that offer it.
 *
 * @example
 * ```ts
 * createAuthenticator(kw, options, read, LANDING_OPTIONS)
 * ```
 */
export const LANDING_OPTIONS: OptionRules = { as: landingName }

const GUARD_OPTIONS: OptionRules = { from: landingName }

/**
 * A guard's options, checked: the landing place it reads, `'auth'` by default.
 *
 * @example
 * ```ts
 * const from = guardFrom(options, 'requireMfa()') // 'auth'
 * ```
 */
export function guardFrom(options: GuardOptions | undefined, where: string): string {
  if (options === undefined) return 'auth'
  checkOptions(options, GUARD_OPTIONS, { path: where, notObject: `${where} options must be { from: 'name' }` })
  return options.from ?? 'auth'
}

/**
 * `requireScopes(...scopes, options?)`: the scopes, and the options object when the last argument is one.
 *
 * @example
 * ```ts
 * scopeGuardArgs(['admin', { from: 'session' }]) // { scopes: ['admin'], from: 'session' }
 * ```
 */
export function scopeGuardArgs(args: ReadonlyArray<string | GuardOptions>): { scopes: string[]; from: string } {
  const last = args[args.length - 1]
  const hasOptions = last !== null && typeof last === 'object' && !Array.isArray(last)
  const from = hasOptions ? guardFrom(last, 'requireScopes()') : 'auth'
  return { scopes: (hasOptions ? args.slice(0, -1) : args) as string[], from }
}

// Every auth authenticate() handed out. A guard reads a landing place any middleware can write
// (passport's req.user, express-jwt's req.auth, a body parser): a value not in here is someone
// else's and counts as no auth, never as a credential keyward checked.
const landed = new WeakSet<object>()

/**
 * What a guard found at its landing place, if keyward put it there; anything else is no auth.
 *
 * @example
 * ```ts
 * keywardAuth(req.user) // undefined for passport's user, the auth for authenticate({ as: 'user' })'s
 * ```
 */
export function keywardAuth(found: unknown): AuthContext | undefined {
  return typeof found === 'object' && found !== null && landed.has(found) ? (found as AuthContext) : undefined
}

/**
 * Puts `auth` (from `createAuthenticator`, so already recorded) on `target[name]` for an `as`
 * other than `'auth'`, refusing to overwrite what keyward did not put there (express-session's
 * `req.session`, a framework's own field): that is an application bug, thrown so the framework's
 * error handling answers 500, never a silent clobber.
 *
 * @example
 * ```ts
 * land(req, 'session', decision.auth, 'req')
 * ```
 */
export function land(target: Record<string, unknown>, name: string, auth: AuthContext, where: string): void {
  const current = target[name]
  if (current !== undefined && keywardAuth(current) === undefined)
    throw new Error(
      `keyward: authenticate({ as: '${name}' }) cannot set ${where}.${name}: it already holds a value keyward did not put there`,
    )
  target[name] = auth
}

/**
 * How an adapter reads its framework's request.
 *
 * @example
 * ```ts
 * const read: RequestReader<Request> = {
 *   method: (r) => r.method,
 *   headers: (r) => r.headers,
 *   url: (r) => r.url,
 *   socketAddress: () => undefined,
 *   forwardedFor: () => undefined,
 * }
 * ```
 */
export interface RequestReader<Request> {
  method(request: Request): string
  headers(request: Request): HeaderSource
  /** Path and query: only looked at to refuse a credential sent in it. */
  url(request: Request): string
  socketAddress(request: Request): string | undefined
  forwardedFor(request: Request): string | readonly string[] | null | undefined
  /** The platform's `waitUntil` for this request (Workers), when it has one. */
  waitUntil?(request: Request): WaitUntil | undefined
}

/**
 * The header fields of a Node `IncomingMessage` (Express, Koa), structurally: no `node:` import here.
 *
 * @example
 * ```ts
 * const fields: NodeHeaderFields = { headers: req.headers, rawHeaders: req.rawHeaders }
 * ```
 */
export interface NodeHeaderFields {
  headers: Readonly<Record<string, string | readonly string[] | undefined>>
  rawHeaders: readonly string[]
}

/**
 * The headers of a Node request as keyward must see them. Node keeps only the first of several
 * Authorization lines (it drops repeats of a few single-value headers), so a second, different
 * credential would go unseen; when there are several, all of them are handed on, and keyward
 * refuses them unless they are identical (400 `invalid_request`).
 *
 * @example
 * ```ts
 * kw.verify({ headers: nodeHeaders(req) })
 * ```
 */
export function nodeHeaders(request: NodeHeaderFields): HeaderSource {
  const raw = request.rawHeaders
  let values: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 13 && name.toLowerCase() === 'authorization') (values ??= []).push(raw[i + 1]!)
  }
  return values === undefined || values.length < 2 ? request.headers : { ...request.headers, authorization: values }
}

/**
 * What the middleware does next: go on (with auth, or with none) or send the refusal.
 *
 * @example
 * ```ts
 * const decision: Decision = await decide(req)
 * if (!decision.ok) send(res, decision.response)
 * ```
 */
export type Decision =
  { ok: true; auth: AuthContext | undefined; headers: Readonly<Record<string, string>> } | { ok: false; response: ErrorResponse }

const PASS: Decision = Object.freeze({ ok: true, auth: undefined, headers: Object.freeze({}) })
/**
 * The options every adapter's `authenticate()` takes, as rules of the shared option checker.
 *
 * @example
 * ```ts
 * checkOptions(options, { ...AUTHENTICATE_OPTIONS, ip: func() })
 * ```
 */
export const AUTHENTICATE_OPTIONS: OptionRules = {
  project: func('of the request'),
  scopes: (value, path) => {
    checkScopes(typeof value === 'string' ? [value] : (value as readonly string[]), path)
  },
  optional: boolean,
  onError: func('(error, request) => response override'),
  // createClientIpResolver says what a valid hop count or address list is.
  trustProxy: checkedElsewhere,
  credentials: nested({
    header: required((value, path) => {
      const names = typeof value === 'string' ? [value] : value
      if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && /^[a-z0-9-]+$/.test(n)))
        optionError(`${path} must be a lowercase header name or a non-empty list of them`)
    }),
    type: oneOf(['api_key', 'jwt']),
  }),
}

/** The `onError` of the `authenticate()` that ran on a request, for the guards after it. */
const hooks = new WeakMap<object, ErrorHook<never>>()

/**
 * The per-request decision `createAuthenticator` returns: call it for a promise of the decision;
 * `now(request)` for the decision itself when verify() answered at once and the request passes (a
 * cached key, a CORS preflight, `optional` with no credential), else a promise of it (every
 * refusal, a store lookup, a `project()` that returns a promise): no promise and no microtask hop
 * on the fast path (Koa's and Hono's promise middleware); or hand the decision to a callback with
 * `into(request, next, fail)`, one promise fewer (Express's and Fastify's callback middleware).
 * `now` throws synchronously what failed synchronously (e.g. a reader, `project()`, a replaced
 * `kw.verify`), so its caller must catch. `into` calls `next` once with the decision, or `fail` once
 * with whatever was thrown (even a falsy value). A throw from `next` itself (landing the auth,
 * writing the refusal, or the framework's `next()`/`done()` running the rest of the chain in a host
 * that does not catch its handlers' throws) goes to `fail`, once, as Express's router treats a
 * throwing handler: so `next` must not call the framework's error path itself. When the decision
 * came after an await there is no caller left to throw to: a throw from `fail` is then dropped,
 * where it would otherwise be an unhandled rejection, which ends a Node process.
 *
 * @example
 * ```ts
 * const decision = await decide(req)
 * const at = decide.now(ctx) // a Decision for a cached key, else a Promise<Decision>
 * decide.into(request, (decision) => land(decision), (error) => done(error as Error))
 * ```
 */
export interface Authenticator<Request> {
  (request: Request): Promise<Decision>
  now(request: Request): Decision | Promise<Decision>
  into(request: Request, next: (decision: Decision) => void, fail: (error: unknown) => void): void
}

/**
 * Checks the options once, at start-up, and returns the per-request decision. An unknown option is
 * a TypeError: a typo such as `scope:` would otherwise silently drop a check.
 *
 * @example
 * ```ts
 * const decide = createAuthenticator(kw, { scopes: 'read' }, read)
 * ```
 */
export function createAuthenticator<Request extends object>(
  kw: Keyward,
  options: AuthenticateOptions<Request> | undefined,
  read: RequestReader<Request>,
  extraOptions: OptionRules = {},
): Authenticator<Request> {
  if (kw === null || typeof kw !== 'object' || typeof kw.verify !== 'function')
    optionError('authenticate(kw, options) needs the instance createKeyward() returned')
  const opts = checkOptions(options ?? {}, { ...AUTHENTICATE_OPTIONS, ...extraOptions })
  const { project, optional = false, onError } = opts
  const scopes = checkScopes(opts.scopes === undefined ? [] : typeof opts.scopes === 'string' ? [opts.scopes] : opts.scopes, 'scopes')
  const clientIp = createClientIpResolver(opts.trustProxy)
  const source = opts.credentials
  const credentialHeaders =
    source === undefined ? undefined : Object.freeze(typeof source.header === 'string' ? [source.header] : [...source.header])
  const accept = source?.type
  // With no proxy trusted the socket address is the client: X-Forwarded-For is not even read.
  const trustsProxy = opts.trustProxy !== undefined && opts.trustProxy !== false && opts.trustProxy !== 0

  // keyward's own verify() answers at once when nothing has to wait (VERIFY_NOW, looked up per
  // call so that a verify replaced later, a test's spy, is the one called); any other verify()
  // through Promise.resolve: a plain value or a thenable still gives one native promise, settled
  // once (into() relies on it: never two callbacks).
  const verify = (request: Request, headers: HeaderSource, target: unknown): VerifyResult | Promise<VerifyResult> => {
    const input: VerifyInput = {
      headers,
      ip: trustsProxy ? clientIp(read.socketAddress(request), read.forwardedFor(request)) : read.socketAddress(request),
      // Anything but a string (no projectId, null, a number from a JSON body) names no project a
      // key holds: refused. Passing undefined on would make verify() skip the check.
      project: project === undefined ? undefined : typeof target === 'string' ? target : '',
      scopes,
      url: read.url(request),
      waitUntil: read.waitUntil?.(request),
      credentialHeaders,
      accept,
    }
    const now = verifyNowOf(kw.verify)
    return now === undefined ? Promise.resolve(kw.verify(input)) : now(input)
  }

  // PASS at once for a CORS preflight, else verify()'s answer to come. May throw (a reader, project()).
  const begin = (request: Request): Promise<VerifyResult> | VerifyResult | Decision => {
    const headers = read.headers(request)
    if (isPreflight(read.method(request), headers)) return PASS
    if (onError !== undefined) hooks.set(request, onError)
    if (project === undefined) return verify(request, headers, undefined)
    const target = project(request)
    // A string (a route param) goes straight on; a promise or thenable (a body read on demand) is awaited.
    return (typeof target === 'object' && target !== null) || typeof target === 'function'
      ? Promise.resolve(target).then((resolved) => verify(request, headers, resolved))
      : verify(request, headers, target)
  }

  const conclude = (request: Request, result: VerifyResult): Decision | Promise<Decision> => {
    if (result.ok) {
      landed.add(result.auth)
      return result
    }
    if (optional && result.error.code === 'missing_credentials') return PASS
    return errorResponse(result.error, request, onError).then((response) => ({ ok: false, response }))
  }

  // The decision at once when verify() answered at once; a synchronous failure is thrown.
  const now = (request: Request): Decision | Promise<Decision> => {
    const started = begin(request)
    if (started === PASS) return PASS
    if (isPromiseLike(started)) return Promise.resolve(started).then((result) => conclude(request, result as VerifyResult))
    return conclude(request, started as VerifyResult)
  }
  // Not an async function: one promise fewer per request on every adapter. A throw still comes
  // back as a rejection, never synchronously, as the adapters expect.
  const decide = (request: Request): Promise<Decision> => {
    try {
      return Promise.resolve(now(request))
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }
  // Hands the decision on; `late` when it came after an await (see Authenticator.into).
  const handOn = (decision: Decision, next: (decision: Decision) => void, fail: (error: unknown) => void, late: boolean): void => {
    try {
      next(decision)
    } catch (error) {
      if (late) failLater(fail, error)
      else fail(error)
    }
  }
  const onResult = (
    request: Request,
    result: VerifyResult,
    next: (decision: Decision) => void,
    fail: (error: unknown) => void,
    late: boolean,
  ): void => {
    let decision: Decision | Promise<Decision>
    try {
      decision = conclude(request, result)
    } catch (error) {
      if (late) failLater(fail, error)
      else fail(error)
      return
    }
    if (isPromiseLike(decision))
      Promise.resolve(decision).then(
        (concluded) => handOn(concluded, next, fail, true),
        (error: unknown) => failLater(fail, error),
      )
    else handOn(decision, next, fail, late)
  }
  const into: Authenticator<Request>['into'] = (request, next, fail) => {
    let started: Promise<VerifyResult> | VerifyResult | Decision
    try {
      started = begin(request)
    } catch (error) {
      fail(error)
      return
    }
    if (started === PASS) return handOn(PASS, next, fail, false)
    // An answer at once (a cached key): next() in this same turn, no promise.
    if (isPromiseLike(started))
      Promise.resolve(started).then(
        (result) => onResult(request, result as VerifyResult, next, fail, true),
        (error: unknown) => failLater(fail, error),
      )
    else onResult(request, started as VerifyResult, next, fail, false)
  }
  return Object.assign(decide, { now, into })
}

/**
 * Calls the framework's error path after an await. Nothing is left to take a throw from it (the
 * framework's own error handler failing): it is dropped, since a rejection nobody handles ends a
 * Node process, and one request must not be able to do that.
 */
function failLater(fail: (error: unknown) => void, error: unknown): void {
  try {
    fail(error)
  } catch {
    // Dropped (see above), but said once: the request it came from may now hang unanswered.
    if (!warnedDropped) {
      warnedDropped = true
      // A logger that throws must not end the process either: the reason failLater exists.
      try {
        console.error(
          "keyward: the framework's error path threw while handling an error after an asynchronous decision; " +
            'the throw was dropped (a rejection nobody handles would end the process) and that request may get no answer. ' +
            'Check the error handler of your middleware chain. (Said once per process.)',
        )
      } catch {
        // Nowhere left to say it.
      }
    }
  }
}
let warnedDropped = false

/**
 * Hands a promise's outcome to a framework's callbacks: `onValue(value)`, or `fail(reason)` when
 * the promise rejects or `onValue` throws (the framework's `next()` running the rest of the chain
 * in a host that does not catch its handlers' throws), once. A throw from `fail` is dropped, never
 * an unhandled rejection. So `onValue` must not call the error path itself.
 *
 * @example
 * ```ts
 * handOff(guardResponse(error, req), (response) => send(res, response), (reason) => next(asError(reason)))
 * ```
 */
export function handOff<T>(promise: Promise<T>, onValue: (value: T) => void, fail: (reason: unknown) => void): void {
  promise.then(onValue).then(undefined, (reason: unknown) => failLater(fail, reason))
}

/**
 * A rejection reason a framework will treat as an error. `throw undefined` (or null, 0, '') in
 * `project` or `onError` would otherwise read as no error at all: Express's `next(undefined)`
 * goes on to the handler, Fastify's `done(undefined)` too, and Koa answers nothing.
 *
 * @example
 * ```ts
 * decide(req).then(onDecision).catch((reason) => next(asError(reason)))
 * ```
 */
export function asError(reason: unknown): unknown {
  return reason || new Error('keyward: a check failed with no error (a falsy value was thrown)')
}

/**
 * What a guard reads of the request: only enough to recognize a CORS preflight.
 *
 * @example
 * ```ts
 * const read: PreflightReader<Request> = { method: (r) => r.method, headers: (r) => r.headers }
 * ```
 */
export type PreflightReader<Request> = Pick<RequestReader<Request>, 'method' | 'headers'>

/**
 * The check behind `requireScopes(...)`: the refusal, or undefined when the auth holds every scope
 * or the request is a CORS preflight. `auth.scopes` are already expanded through the hierarchy.
 * `found` is whatever sits at the landing place: it counts only if `authenticate()` put it there
 * (see {@link keywardAuth}), so the same holds for the MFA and project guards.
 *
 * @example
 * ```ts
 * createScopeGuard(['admin'], read)(req, req.auth)?.status // 403, or undefined for an admin key
 * ```
 */
export function createScopeGuard<Request>(
  scopes: readonly string[],
  read: PreflightReader<Request>,
): (request: Request, found: unknown) => KeywardError | undefined {
  const required = checkScopes(scopes, 'requireScopes()')
  if (required.length === 0) optionError('requireScopes() needs at least one scope')
  return (request, found) => {
    // authenticate() let the preflight through with no auth; refusing it here would undo that.
    if (isPreflight(read.method(request), read.headers(request))) return undefined
    const auth = keywardAuth(found)
    if (auth === undefined) return new KeywardError('missing_credentials')
    const missing = missingScopes(auth.scopes, required)
    return missing.length === 0 ? undefined : new KeywardError('insufficient_scope', { scope: missing.join(' ') })
  }
}

/**
 * The check behind `requireMfa()`: 401 `mfa_required` (RFC 9470 `insufficient_user_authentication`)
 * unless the request's token was minted after a second factor. An API key never was. A CORS
 * preflight passes.
 *
 * @example
 * ```ts
 * createMfaGuard(read)(req, req.auth)?.code // 'mfa_required' for a password-only login
 * ```
 */
export function createMfaGuard<Request>(read: PreflightReader<Request>): (request: Request, found: unknown) => KeywardError | undefined {
  return (request, found) => {
    if (isPreflight(read.method(request), read.headers(request))) return undefined
    const auth = keywardAuth(found)
    if (auth === undefined) return new KeywardError('missing_credentials')
    return auth.mfa === true ? undefined : new KeywardError('mfa_required')
  }
}

/**
 * The check behind `requireProject(...)`: a route that needs a project refuses a request naming
 * none. A CORS preflight passes, before `getProjectId` runs (it has no body to read).
 *
 * @example
 * ```ts
 * const error = await createProjectGuard((req: Request) => req.params.projectId, read)(req, req.auth)
 * ```
 */
export function createProjectGuard<Request>(
  getProjectId: ProjectResolver<Request>,
  read: PreflightReader<Request>,
): (request: Request, found: unknown) => Promise<KeywardError | undefined> {
  if (typeof getProjectId !== 'function') optionError('requireProject() needs a function of the request returning the project id')
  return async (request, found) => {
    if (isPreflight(read.method(request), read.headers(request))) return undefined
    const auth = keywardAuth(found)
    if (auth === undefined) return new KeywardError('missing_credentials')
    const id = await getProjectId(request)
    return typeof id === 'string' && auth.projects.includes(id) ? undefined : new KeywardError('project_forbidden')
  }
}

/**
 * The guard's refusal, shaped by the `onError` of the `authenticate()` that ran before it.
 *
 * @example
 * ```ts
 * send(res, await guardResponse(error, req))
 * ```
 */
export function guardResponse<Request extends object>(error: KeywardError, request: Request): Promise<ErrorResponse> {
  return errorResponse(error, request, hooks.get(request) as ErrorHook<Request> | undefined)
}

function checkScopes(scopes: readonly string[], where: string): readonly string[] {
  if (!Array.isArray(scopes) || !scopes.every(isValidScope)) optionError(`${where} must be scope strings (RFC 6749 characters, at most 64)`)
  return Object.freeze([...scopes])
}
