import { extractCredential, type HeaderSource } from './http/credentials.js'
import type { KeywardErrorCode } from './errors.js'
import { parseKey } from './keys/format.js'
import type { AuthContext } from './types.js'
import type { WaitUntil } from './verify/usage-recorder.js'

/**
 * The kinds of audit event keyward reports through the `onEvent` option.
 *
 * @example
 * ```ts
 * const watched: KeywardEventType[] = ['key.revoked', 'verify.failed']
 * ```
 */
export type KeywardEventType = 'key.created' | 'key.updated' | 'key.rotated' | 'key.revoked' | 'key.leaked' | 'verify.failed'

/**
 * What a `key.leaked` event says about the leak: what was done, and where the key was found.
 *
 * @example
 * ```ts
 * const leak: LeakDetails = { action: 'revoked', url: 'https://github.com/acme/app/blob/main/.env', source: 'commit' }
 * ```
 */
export interface LeakDetails {
  /** `revoked` now, `flagged` only (nothing stored), or `already_revoked` before the report. */
  action: 'revoked' | 'flagged' | 'already_revoked'
  /** The public URL where the key was found, as the reporter gave it. */
  url?: string
  /** What found it or where (`commit`, `npm`...), as the reporter gave it. */
  source?: string
}

/**
 * Who made a change: the authenticated caller of the management routes, or the CLI.
 *
 * @example
 * ```ts
 * const actor: EventActor = { type: 'api_key', keyId: '4fTq9ZkA', org: 'org_1' }
 * ```
 */
export interface EventActor {
  /** `api_key` or `jwt` for an authenticated caller; `cli` for the `keyward` command; `app` when the app says so. */
  type: string
  keyId?: string
  subject?: string
  org?: string
}

/**
 * One audit event. Never holds a key, a secret or a hash: only ids, codes and addresses, so it
 * can be shipped to any log as it is.
 *
 * @example
 * ```ts
 * createKeyward({ prefix: 'bsk', onEvent: (event: KeywardEvent) => logger.info(event) })
 * ```
 */
export interface KeywardEvent {
  type: KeywardEventType
  at: Date
  /** Who did it, when known (the management routes and the CLI say; direct `kw.keys.*` calls may pass it). */
  actor?: EventActor
  /** The key concerned: created, changed, revoked, rotated out, or presented (when it parsed). */
  keyId?: string
  /** `key.rotated`: the id of the key that replaces `keyId`. */
  rotatedTo?: string
  org?: string
  /** The client address, when known. */
  ip?: string
  /** `verify.failed`: the refusal's code (`invalid_token`, `rate_limited`...). */
  code?: KeywardErrorCode
  /** `key.leaked`: what was done and where the key was found. Never the key. */
  leak?: LeakDetails
}

/**
 * The hook itself. A hook that throws or rejects never changes the request's outcome: the error
 * goes to `onBackgroundError`.
 *
 * @example
 * ```ts
 * const onEvent: EventHook = async (event) => { await auditLog.write(event) }
 * ```
 */
export type EventHook = (event: KeywardEvent) => void | Promise<void>

/**
 * Who is acting and from where, given to `kw.keys.*` calls so their events say it, and, when the
 * caller is an authenticated request, so that it cannot grant more than it holds (the grant
 * ceiling, docs/delegation.md).
 *
 * @example
 * ```ts
 * // On behalf of a verified caller: create/update/rotate are held to the caller's own grant.
 * await kw.keys.create(input, { auth: result.auth, ip })
 * // The app itself (a job, an operator tool): no ceiling, the app vouches.
 * await kw.keys.revoke(id, { actor: { type: 'app', subject: 'alice' }, ip: '203.0.113.10' })
 * ```
 */
export interface ActionContext {
  /** Who, for the audit event. Default with `auth`: `actorOf(auth)`. */
  actor?: EventActor
  ip?: string
  /**
   * The verified caller, as `kw.verify()` returned it. When given (or when `actor` is the one
   * `actorOf(auth)` built), create, update and rotate refuse with 403 `insufficient_scope` a key
   * beyond the caller's own scopes, projects, expiry, org or environment. Without it: no ceiling.
   * Present but null or undefined (`{ auth: req.auth }` for an unauthenticated request): a
   * TypeError before anything is stored, never the app's own power.
   */
  auth?: AuthContext
  /**
   * The projects a JWT caller holds, as the app knows them, in place of the token's `projects`
   * claim for the grant ceiling: a list, or `'*'` for every project of the caller's org (risky:
   * docs/delegation.md). Ignored for an API-key caller, whose own projects always bound it.
   * Default: the claim; a JWT without a valid one grants no project.
   */
  callerProjects?: readonly string[] | '*'
  /**
   * Keeps the audit hook's work alive past the response where the platform would cut it off
   * (Workers: `(p) => ctx.waitUntil(p)`): an async `onEvent` hook's promise for this change is
   * handed to it, as `verify()` does for `verify.failed`. The management routes of the fetch and
   * Hono adapters pass the request's own. One that throws is reported to `onBackgroundError`; the
   * change stands. Anything but a function is a TypeError, before anything is stored. Default: none.
   */
  waitUntil?: WaitUntil
}

/**
 * Sends an event to the hook, if any. Never throws. When the hook is async, returns a promise that
 * settles (never rejects) once the hook has, for a platform's `waitUntil` to keep alive.
 *
 * @example
 * ```ts
 * const pending = emit({ type: 'key.revoked', keyId: id, org })
 * if (pending !== undefined) waitUntil?.(pending)
 * ```
 */
export type Emit = (event: Omit<KeywardEvent, 'at'>) => Promise<void> | undefined

/**
 * Builds the emitter `kw.keys.*` and `verify()` call, or undefined without a hook, so that
 * callers skip even building the event when nobody listens.
 *
 * @example
 * ```ts
 * const emit = createEmitter(options.onEvent, options.onBackgroundError, Date.now)
 * emit?.({ type: 'key.created', keyId, org })
 * ```
 */
export function createEmitter(hook: EventHook | undefined, onError: (error: unknown) => void, now: () => number): Emit | undefined {
  if (hook === undefined) return undefined
  if (typeof hook !== 'function') throw new TypeError('keyward: onEvent must be a function')
  return (partial) => {
    const event: KeywardEvent = { ...partial, at: new Date(now()) }
    try {
      const result = hook(event)
      if (result !== undefined && typeof (result as Promise<void>).then === 'function')
        return Promise.resolve(result).then(undefined, (error: unknown) => report(onError, error))
    } catch (error) {
      report(onError, error)
    }
    return undefined
  }
}

/**
 * Hands an event's pending hook work (what {@link Emit} returned) to the platform's `waitUntil`,
 * when there are both. A `waitUntil` that throws (an unbound `ctx.waitUntil`) goes to `onError`,
 * and an `onError` that throws is dropped: the outcome the event reports stands either way.
 *
 * @example
 * ```ts
 * keepAlive(emit({ type: 'key.revoked', keyId: id, org }), context?.waitUntil, onBackgroundError)
 * ```
 */
export function keepAlive(pending: Promise<void> | undefined, waitUntil: WaitUntil | undefined, onError: (error: unknown) => void): void {
  if (pending === undefined || waitUntil === undefined) return
  try {
    waitUntil(pending)
  } catch (error) {
    report(onError, error)
  }
}

/**
 * Throws a TypeError for a context whose `waitUntil` is not a function, or that names an `auth`
 * which is null or undefined: checked before a change is stored, so that a bad one cannot leave a
 * change made and its audit cut off. `{ auth: req.auth }` on a route where authentication is
 * optional would otherwise, for a request with no credential, act with no ceiling at all (the
 * app's own power); acting as the app itself is leaving `auth` out.
 *
 * @example
 * ```ts
 * checkActionContext(context)
 * ```
 */
export function checkActionContext(context: ActionContext | undefined): void {
  if (context !== undefined && context !== null && 'auth' in context && (context.auth === undefined || context.auth === null))
    throw new TypeError(
      `keyward: context.auth is ${String(context.auth)}: no request was authenticated (an optional route?). ` +
        'Pass the auth kw.verify() returned, or leave auth out to act as the app itself',
    )
  const waitUntil = context?.waitUntil
  if (waitUntil !== undefined && typeof waitUntil !== 'function')
    throw new TypeError('keyward: context.waitUntil must be a function, e.g. (p) => ctx.waitUntil(p)')
}

// An error handler that throws itself must not turn into an unhandled rejection or a throw.
function report(onError: (error: unknown) => void, error: unknown): void {
  try {
    onError(error)
  } catch {
    // Nowhere left to report it.
  }
}

const ACTOR_AUTH = new WeakMap<EventActor, AuthContext>()

/**
 * The actor of an authenticated caller, as events report it. Passed as `{ actor }` to
 * `kw.keys.*`, it also carries the caller's grant ceiling (see `ActionContext.auth`).
 *
 * @example
 * ```ts
 * await kw.keys.create(input, { actor: actorOf(result.auth), ip })
 * ```
 */
export function actorOf(auth: AuthContext): EventActor {
  const actor: EventActor = { type: auth.type, org: auth.org }
  if (auth.keyId !== undefined) actor.keyId = auth.keyId
  if (auth.subject !== undefined) actor.subject = auth.subject
  // Code that passes `{ actor: actorOf(auth) }` acts for that caller: the grant ceiling must
  // apply to it too, without putting scopes into every audit event.
  ACTOR_AUTH.set(actor, auth)
  return actor
}

/**
 * The caller a change is made for: `context.auth`, or the auth `actorOf()` built the actor from.
 * Undefined when the app acts on its own (no context, or an actor built by hand).
 *
 * @example
 * ```ts
 * const caller = callerOf({ actor: actorOf(result.auth) }) // result.auth
 * ```
 */
export function callerOf(context: ActionContext | undefined): AuthContext | undefined {
  if (context === undefined || context === null) return undefined
  return context.auth ?? (context.actor === undefined ? undefined : ACTOR_AUTH.get(context.actor))
}

/**
 * The `verify.failed` event of a refusal: the code, the client address, and the key id when the
 * credential parsed as one of this server's keys (the id is not secret; the key never leaves).
 * Only runs on a refusal with a hook configured: a second parse costs nothing on the fast path.
 *
 * @example
 * ```ts
 * emit(verifyFailedEvent(input.headers, input.ip, 'invalid_token', rt.credentialHeaders, rt.prefixes))
 * ```
 */
export function verifyFailedEvent(
  headers: HeaderSource,
  ip: string | undefined,
  code: KeywardErrorCode,
  credentialHeaders: readonly string[],
  prefixes: readonly string[],
): Omit<KeywardEvent, 'at'> {
  const event: Omit<KeywardEvent, 'at'> = { type: 'verify.failed', code }
  if (ip !== undefined) event.ip = ip
  try {
    const credential = extractCredential(headers, credentialHeaders)
    const parsed = typeof credential === 'string' ? parseKey(credential, prefixes) : null
    if (parsed !== null) event.keyId = parsed.keyId
  } catch {
    // Headers that cannot even be read name no key; the code says enough.
  }
  return event
}
