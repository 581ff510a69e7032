/**
 * The refusals and the success shape `verify()` answers with. The ones that carry nothing
 * request-specific are built once, frozen and shared. Internal.
 */
import { KeywardError, type KeywardErrorCode, type KeywardErrorOptions } from '../errors.js'
import type { AuthContext } from '../types.js'

/**
 * A refusal as `verify()` returns it.
 *
 * @example
 * ```ts
 * const f: Failure = { ok: false, error: new KeywardError('invalid_token') }
 * ```
 */
export type Failure = { ok: false; error: KeywardError }

/**
 * What a successful check hands back: the auth and the RateLimit headers to send.
 *
 * @example
 * ```ts
 * const s: Success = { ok: true, auth, headers: NO_HEADERS }
 * ```
 */
export type Success = { ok: true; auth: AuthContext; headers: Readonly<Record<string, string>> }

/**
 * No RateLimit headers: shared and frozen.
 *
 * @example
 * ```ts
 * let headers = NO_HEADERS // replaced only when the quota has rules
 * ```
 */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

// The refusals that carry nothing request-specific are built once and shared, frozen: building
// an Error captures a stack trace, which would cost more than the rest of a refusal.
function shared(code: KeywardErrorCode, options: KeywardErrorOptions = {}): Failure {
  const error = new KeywardError(code, options)
  Object.freeze(error.headers)
  return Object.freeze({ ok: false as const, error: Object.freeze(error) })
}

/**
 * The one `invalid_token` refusal: every cause looks the same from outside.
 *
 * @example
 * ```ts
 * if (parsed === null) return INVALID_TOKEN
 * ```
 */
export const INVALID_TOKEN = shared('invalid_token')
/**
 * Shared refusals by code, for those that carry no option.
 *
 * @example
 * ```ts
 * STATIC_FAILURES.project_forbidden?.error.status // 403
 * ```
 */
export const STATIC_FAILURES: Partial<Record<KeywardErrorCode, Failure>> = {
  invalid_token: INVALID_TOKEN,
  project_forbidden: shared('project_forbidden'),
  origin_forbidden: shared('origin_forbidden'),
  ip_forbidden: shared('ip_forbidden'),
}
/**
 * More attempts from one address in flight and queued on this instance than the gate keeps
 * (see `MAX_WAITING` in lockout-gate.ts): a 503 to retry shortly, since nothing says the address failed.
 *
 * @example
 * ```ts
 * if (gate.wait(bucket) === null) return BUSY
 * ```
 */
export const BUSY = shared('store_unavailable', {
  message: 'Too many requests from this address in progress; retry shortly',
  retryAfter: 1,
})
/**
 * A credential in the query string (RFC 6750 §2.3 discouraged; URLs end up in logs).
 *
 * @example
 * ```ts
 * if (urlHasCredential(input.url, rt.prefixes)) return URL_CREDENTIAL
 * ```
 */
export const URL_CREDENTIAL = shared('invalid_request', { message: 'Credentials must be sent in a header, never in the URL' })

/**
 * Milliseconds as whole seconds for Retry-After, at least one.
 *
 * @example
 * ```ts
 * retrySeconds(1500) // 2
 * ```
 */
export function retrySeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

/**
 * The 429 of an address that failed too often, with its Retry-After.
 *
 * @example
 * ```ts
 * return blockedFailure(decision.retryAfterMs)
 * ```
 */
export function blockedFailure(ms: number): Failure {
  return { ok: false, error: new KeywardError('ip_blocked', { retryAfter: retrySeconds(ms) }) }
}
