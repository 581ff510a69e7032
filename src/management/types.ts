import type { HeaderSource } from '../http/credentials.js'
import type { Environment } from '../keys/format.js'
import type { AuthContext, KeyInfo } from '../types.js'
import type { WaitUntil } from '../verify/usage-recorder.js'

/**
 * What a management call does, as `authorize(auth, action)` sees it.
 *
 * @example
 * ```ts
 * const readOnly = (_auth: AuthContext, action: ManagementAction) => action === 'keys.list' || action === 'keys.read'
 * ```
 */
export type ManagementAction = 'keys.create' | 'keys.list' | 'keys.read' | 'keys.update' | 'keys.rotate' | 'keys.revoke'

/**
 * One management call as `authorize` and `policy` see it: who, what, with which input, on which key.
 *
 * @example
 * ```ts
 * const noWrites = (_auth: AuthContext, _action: ManagementAction, call: ManagementCall) => call.input === undefined
 * ```
 */
export interface ManagementCall {
  action: ManagementAction
  /** The verified caller. */
  auth: AuthContext
  /** create, update, rotate: the JSON body as sent (rotate: `{}` when empty), not yet validated. */
  input?: Record<string, unknown>
  /** Routes naming a key: that key, when it exists in the caller's org (else undefined, then 404). */
  current?: KeyInfo
}

/**
 * A write (create, update, rotate) as the write policy sees it: the input is always there.
 *
 * @example
 * ```ts
 * const immutableName = ({ action, input }: ManagementWrite) => {
 *   if (action === 'keys.update' && 'name' in input) {
 *     throw new KeywardError('validation_failed', { errors: [{ field: 'name', message: 'cannot be changed' }] })
 *   }
 * }
 * ```
 */
export interface ManagementWrite extends ManagementCall {
  action: 'keys.create' | 'keys.update' | 'keys.rotate'
  input: Record<string, unknown>
}

/**
 * The write policy: returns the input to use (adjusted: defaults set, fields dropped) or
 * undefined to keep it; refuses by throwing a `KeywardError` (`validation_failed` with `errors`
 * is a 400 naming the fields, `insufficient_scope` a 403). Any other throw, or an answer that is
 * not a plain object, is a 500 and nothing is stored. The grant ceiling applies to what it returns.
 *
 * @example
 * ```ts
 * const policy: WritePolicy = ({ action, input }) => (action === 'keys.create' ? { scopes: ['read'], ...input } : undefined)
 * ```
 */
export type WritePolicy = (
  write: ManagementWrite,
) => Record<string, unknown> | undefined | void | Promise<Record<string, unknown> | undefined | void>

/**
 * Answers which projects a signed-in (JWT) caller holds, from the app's own data: a list of
 * project ids, or `'*'` for every project of the caller's org. `'*'` lets every JWT caller that
 * passes `scope`/`authorize` mint keys for any project of its org, including projects it could
 * not otherwise use: answer it only for users who manage the whole org. A throw, a rejection or
 * any other answer is a 500 and nothing is stored.
 *
 * @example
 * ```ts
 * const callerProjects: CallerProjects = async (auth) => (await db.isOrgOwner(auth.subject) ? '*' : db.projectsOfUser(auth.subject))
 * ```
 */
export type CallerProjects = (auth: AuthContext) => readonly string[] | '*' | Promise<readonly string[] | '*'>

/**
 * A request body the handler reads itself, at most `maxBodyBytes` of it: text, bytes, a Web
 * stream (`Request.body`) or any async iterable of bytes (Node's `IncomingMessage`).
 *
 * @example
 * ```ts
 * const body: BodySource = request.body // a ReadableStream, or null
 * ```
 */
export type BodySource = string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null | undefined

/**
 * The framework-neutral request the management handler takes. Adapters build it.
 *
 * @example
 * ```ts
 * const req: ManagementRequest = { method: 'GET', path: '/keys', query: 'limit=10', headers: request.headers, ip }
 * ```
 */
export interface ManagementRequest {
  method: string
  /** The path below the mount point: `/keys`, `/keys/4fTq9ZkA/rotate`. */
  path: string
  /** The query string, without `?`, or parsed. */
  query?: string | URLSearchParams
  headers: HeaderSource
  /** The client address the adapter resolved (socket, or per trusted proxies). */
  ip?: string | undefined
  /** The whole original URL (path and query): only looked at to refuse a credential in it. */
  url?: string
  /** The raw body, read by the handler within the size bound. */
  body?: BodySource
  /**
   * A body a framework parser already read (Express `express.json()`, koa-bodyparser): used
   * instead of `body` when not undefined. Its JSON form is held to the same size bound.
   */
  parsedBody?: unknown
  /**
   * The platform's `waitUntil` for this request (Workers: `(p) => ctx.waitUntil(p)`): the audit
   * hook's work for the change (`key.created`...) and the last-used write are kept alive past the
   * response. The fetch and Hono adapters pass it. Default: none.
   */
  waitUntil?: WaitUntil
}

/**
 * What the handler answers: ready to send, header names lowercase.
 *
 * @example
 * ```ts
 * const { status, headers, body }: ManagementResponse = await handle(req)
 * return new Response(body, { status, headers })
 * ```
 */
export interface ManagementResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Options of the management routes, the same in every adapter.
 *
 * @example
 * ```ts
 * const options: ManagementOptions = { scope: 'keys:manage', maxBodyBytes: 8192 }
 * ```
 */
export interface ManagementOptions {
  /** The scope a caller's key needs for every route. Default `'admin'`. Ignored when `authorize` is given. */
  scope?: string
  /**
   * Decides instead of the scope: called with the verified caller, the action and the whole call
   * (its input and the key it names); anything but true (or a promise of true) is 403. Throwing
   * is a 500 (fail closed). Org isolation and the grant ceiling apply either way.
   */
  authorize?: (auth: AuthContext, action: ManagementAction, call: ManagementCall) => boolean | Promise<boolean>
  /**
   * The write policy of create, update and rotate, after `authorize`: may adjust the input or
   * refuse (see {@link WritePolicy}). It may restrict, never widen: the grant ceiling (a key never
   * holds more than its creator) is checked on what it returns. Default: none.
   */
  policy?: WritePolicy
  /**
   * The projects a JWT caller holds, answered by the app from its own data, for the grant
   * ceiling of create, update and rotate (see {@link CallerProjects}). Default: none given, so a
   * JWT caller holds the projects of its token's `projects` claim, and a token without a valid
   * claim can grant no project. Not asked for API-key callers: a key's projects always bound it.
   */
  callerProjects?: CallerProjects
  /** Largest request body accepted, in bytes; beyond it 413. Default 16,384. */
  maxBodyBytes?: number
  /** Receives unexpected errors (answered 500). Never receives a secret. Default: ignore. */
  onError?: (error: unknown) => void
  /**
   * What `GET /capabilities` tells a user interface this caller may set (see
   * {@link CapabilitiesHook}): describe your write policy here so a form offers only what it
   * accepts. May narrow, never widen. Default: every field, the caller's own scopes and projects.
   */
  capabilities?: CapabilitiesHook
  /**
   * A request header every route (but the component's script) requires, e.g. `'x-keyward-csrf'`:
   * without it 403 `csrf_header_missing`, before the credential is read. Set it when a browser
   * sends the credential by itself (a cookie session turned into the Authorization header by
   * your middleware): a cross-site page cannot add a custom header without a CORS preflight,
   * which these routes never approve. The `<keyward-keys>` component always sends it. Default: none.
   */
  csrfHeader?: string
  /** Serve the `<keyward-keys>` component at `GET /ui/keyward-keys.js`. Default true. */
  ui?: boolean
  /**
   * Let callers set, top up and remove key credits through POST and PATCH bodies (`credits`).
   * Default false: credits are billing, so a body with `credits` is refused 403 and only the
   * application sets them (`kw.keys.update`, or the write policy, which may add them). Turn it on
   * for an operators' console, never for customers managing their own keys.
   */
  credits?: boolean
  /**
   * Credits each call spends from the caller's key, when that key has credits (`verify({ cost })`).
   * Default 0: managing keys is not metered use, and a caller whose balance ran out can still
   * list, rotate and revoke its org's keys (a leaked key must never wait for a top-up); so a
   * balance of 0 does not stop management calls: to suspend a key, revoke it. The caller key's
   * rate limit and lockout apply either way.
   */
  cost?: number
}

/**
 * The create fields a form may offer. `metadata` is left out on purpose: it is the app's, not the user's.
 *
 * @example
 * ```ts
 * const field: KeyFormField = 'allowedOrigins'
 * ```
 */
export type KeyFormField = 'name' | 'description' | 'projects' | 'scopes' | 'allowedOrigins' | 'allowedIps' | 'rateLimit' | 'expiresAt'

/**
 * What `GET <mount>/capabilities` answers: what this caller may do and grant, so a form offers
 * only that. It is advice for a user interface: every write is still held to `authorize`, the
 * write policy and the grant ceiling, whatever a client sends.
 *
 * @example
 * ```ts
 * const caps: ManagementCapabilities = await (await fetch('/admin/capabilities', { headers })).json()
 * if (caps.actions.includes('keys.create')) showCreateButton(caps.scopes)
 * ```
 */
export interface ManagementCapabilities {
  /** The actions `authorize` (or the management scope) lets this caller perform. */
  actions: ManagementAction[]
  /** The scopes it may put on a key: its own effective scopes (the grant ceiling). */
  scopes: string[]
  /** The projects it may put on a key, or `'*'` for any project of its org. */
  projects: string[] | '*'
  /** The environment of every key it creates. */
  environment: Environment
  /** An API-key caller that expires: keys it creates must expire no later (ISO 8601). Else null. */
  maxExpiresAt: string | null
  /**
   * An API-key caller held to addresses or origins, when the grant ceiling covers them
   * (createKeyward's `grantRestrictions: 'within'`, the default): its own two lists. Every key it
   * creates must be held within them, judged as `verify()` combines the lists (docs/delegation.md),
   * so leaving them empty is refused; its own lists always qualify, so a form starts from them.
   * Null for any other caller. Only the caller's own restrictions, never another key's.
   */
  placeBounds: { allowedIps: string[]; allowedOrigins: string[] } | null
  /** The create fields to offer. */
  fields: KeyFormField[]
  /** The header every call must carry (the `csrfHeader` option), or null. */
  csrfHeader: string | null
}

/**
 * The app's say on {@link ManagementCapabilities}: what its write policy lets this caller set.
 * May only narrow: each list is intersected with keyward's own answer.
 *
 * @example
 * ```ts
 * const capabilities: CapabilitiesHook = (auth) => ({ fields: ['name', 'description', 'projects', 'expiresAt'], scopes: ['write'] })
 * ```
 */
export type CapabilitiesHook = (
  auth: AuthContext,
  computed: ManagementCapabilities,
) =>
  | Partial<Pick<ManagementCapabilities, 'actions' | 'scopes' | 'projects' | 'fields'>>
  | undefined
  | Promise<Partial<Pick<ManagementCapabilities, 'actions' | 'scopes' | 'projects' | 'fields'>> | undefined>
