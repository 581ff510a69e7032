/**
 * The steps every credential type goes through once it is known who the caller is: the lockout
 * check, the counted refusal, the scope check and the quota. Written once so that an API key and a
 * JWT are refused and counted the same way. Internal.
 */
import { KeywardError, type KeywardErrorCode, type KeywardErrorOptions } from '../errors.js'
import type { LimitResult } from '../limiters/rate-limiter.js'
import type { LockoutGate } from './lockout-gate.js'
import { formatRateLimit } from '../http/rate-limit-headers.js'
import type { ClientAddress } from '../http/restrictions.js'
import type { Runtime } from '../runtime.js'
import { isValidScope, missingScopes } from '../keys/scopes.js'
import type { AuthContext, RateLimitRule } from '../types.js'

/** A refusal as `verify()` returns it. */
export type Failure = { ok: false; error: KeywardError }

/** What a successful check hands back: the auth and the RateLimit headers to send. */
export type Success = { ok: true; auth: AuthContext; headers: Readonly<Record<string, string>> }

/** No RateLimit headers: shared and frozen. */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

// The refusals that carry nothing request-specific are built once and shared, frozen: building
// an Error captures a stack trace, which would cost more than the rest of a refusal.
function shared(code: KeywardErrorCode, options: KeywardErrorOptions = {}): Failure {
  const error = new KeywardError(code, options)
  Object.freeze(error.headers)
  return Object.freeze({ ok: false as const, error: Object.freeze(error) })
}

/** The one `invalid_token` refusal: every cause looks the same from outside. */
export const INVALID_TOKEN = shared('invalid_token')
const STATIC_FAILURES: Partial<Record<KeywardErrorCode, Failure>> = {
  invalid_token: INVALID_TOKEN,
  project_forbidden: shared('project_forbidden'),
  origin_forbidden: shared('origin_forbidden'),
  ip_forbidden: shared('ip_forbidden'),
}
/**
 * More attempts from one address in flight and queued on this instance than the gate keeps
 * (see `MAX_WAITING` in lockout-gate.ts): a 503 to retry shortly, since nothing says the address failed.
 */
export const BUSY = shared('store_unavailable', { message: 'Too many requests from this address in progress; retry shortly', retryAfter: 1 })
/** A credential in the query string (RFC 6750 §2.3 discouraged; URLs end up in logs). */
export const URL_CREDENTIAL = shared('invalid_request', { message: 'Credentials must be sent in a header, never in the URL' })

// The failures that count toward an address's lockout: a wrong credential, or one used from where
// it is not allowed. Project and scope refusals are a valid credential asking for too much;
// malformed credentials are refused before any of this and never could succeed.
const COUNTED: ReadonlySet<KeywardErrorCode> = new Set(['invalid_token', 'origin_forbidden', 'ip_forbidden'])

function retrySeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

/** The 429 of an address that failed too often, with its Retry-After. */
export function blockedFailure(ms: number): Failure {
  return { ok: false, error: new KeywardError('ip_blocked', { retryAfter: retrySeconds(ms) }) }
}

/** The refusal for an address this process knows to be blocked, or null. Costs no I/O. */
export function knownBlock(rt: Runtime, client: ClientAddress | null, now: number): Failure | null {
  if (rt.lockout === false || client === null) return null
  const until = rt.blocked.get(client.bucket)
  return until !== undefined && until > now ? blockedFailure(until - now) : null
}

/**
 * What {@link admit} answers: a refusal, or the go-ahead, saying whether an attempt is already
 * held for the caller (after a wait) or not (the caller holds one before its first await).
 */
export type Admission = Failure | boolean

/**
 * Lets an attempt from `client` be evaluated, or refuses it, before anything about its credential
 * is looked at (so the answer cannot depend on it): a known block is a 429; an address whose
 * failure budget is all in flight waits until an attempt settles, then looks again. Synchronous
 * and I/O-free unless it must wait.
 *
 * @example
 * ```ts
 * const a = admit(rt, client, now)
 * const admitted = typeof a === 'object' && 'then' in a ? await a : a
 * ```
 */
export function admit(rt: Runtime, client: ClientAddress | null, now: number): Admission | Promise<Admission> {
  if (rt.gate === undefined || client === null) return false
  const blocked = knownBlock(rt, client, now)
  if (blocked !== null) return blocked
  return rt.gate.hasRoom(client.bucket, now) ? false : waitForRoom(rt, rt.gate, client)
}

async function waitForRoom(rt: Runtime, gate: LockoutGate, client: ClientAddress): Promise<Admission> {
  for (;;) {
    const waiting = gate.wait(client.bucket)
    // Thousands of attempts queued from one address: turned away without waiting, whatever they
    // carry. Not ip_blocked: the address may have no failure at all (a busy NAT, a cold cache).
    if (waiting === null) return BUSY
    await waiting
    const now = rt.now()
    const blocked = knownBlock(rt, client, now)
    if (blocked !== null) return blocked
    if (gate.hasRoom(client.bucket, now)) {
      // Held here, in the same synchronous run as the check: the caller resumes later.
      gate.hold(client.bucket)
      return true
    }
  }
}

/**
 * Holds an attempt for `client` before the caller awaits anything; a no-op when one is held
 * already or lockout does not apply. Returns whether one is held now.
 *
 * @example
 * ```ts
 * held = hold(rt, client, held) // then `await store.findById(id)`
 * ```
 */
export function hold(rt: Runtime, client: ClientAddress | null, held: boolean): boolean {
  if (held || rt.gate === undefined || client === null) return held
  rt.gate.hold(client.bucket)
  return true
}

/**
 * Settles a held attempt that did not fail (or failed without counting).
 *
 * @example
 * ```ts
 * settle(rt, client, held) // the key is valid: its slot goes to the next attempt
 * ```
 */
export function settle(rt: Runtime, client: ClientAddress | null, held: boolean): void {
  if (held && client !== null) rt.gate?.release(client.bucket)
}

/**
 * Refuses with `code`, first counting the attempt against the client's address when it counts.
 * A counted attempt stays held until the limiter has counted it; `held` says whether the caller
 * holds one already (else one is held now, before the first await). A failure the limiter counts
 * after the address was already blocked is answered 429, as it would have been had it come later.
 */
export async function refuse(
  rt: Runtime,
  code: KeywardErrorCode,
  client: ClientAddress | null,
  now: number,
  options?: ConstructorParameters<typeof KeywardError>[1],
  held = false,
): Promise<Failure> {
  if (rt.lockout !== false && client !== null && COUNTED.has(code)) {
    hold(rt, client, held)
    try {
      const state = await rt.limiter.recordFailure(client.bucket, rt.lockout, now)
      if (state.blocked) rt.blocked.set(client.bucket, now + state.retryAfterMs)
      rt.gate?.learn(client.bucket, state.failures, state.blocked, now)
      if (state.blocked && state.failures !== undefined && state.failures > rt.lockout.maxFailures) return blockedFailure(state.retryAfterMs)
    } finally {
      rt.gate?.release(client.bucket)
    }
  } else {
    settle(rt, client, held)
  }
  return (options === undefined && STATIC_FAILURES[code]) || { ok: false, error: new KeywardError(code, options) }
}

/** The quota a caller is counted against. */
export interface Quota {
  /** The limiter key: a key id, or `jwt:` and the token's issuer and subject. Never a secret. */
  key: string
  rules: readonly RateLimitRule[]
  /** The RateLimit-Policy header value, or null without rules. */
  policy: string | null
}

/**
 * The last steps of the pipeline, the same for every credential: the scopes the request needs,
 * then the quota (and the address's lockout state, in the same limiter call).
 *
 * @example
 * ```ts
 * return await grant(rt, input.scopes, client, now, auth, { key: record.id, rules, policy })
 * ```
 */
export async function grant(
  rt: Runtime,
  scopes: string | readonly string[] | undefined,
  client: ClientAddress | null,
  now: number,
  auth: AuthContext,
  quota: Quota,
): Promise<Success | Failure> {
  if (scopes !== undefined) {
    const missing = missingScopes(auth.scopes, typeof scopes === 'string' ? [scopes] : scopes)
    // Only scope tokens go into the quoted challenge; anything else could never be granted anyway.
    if (missing.length > 0) return await refuse(rt, 'insufficient_scope', client, now, { scope: missing.filter(isValidScope).join(' ') })
  }

  let headers = NO_HEADERS
  const blockKey = rt.lockout === false || client === null ? undefined : client.bucket
  if (quota.rules.length > 0 || blockKey !== undefined) {
    const request = { key: quota.key, rules: quota.rules, blockKey, now }
    const decision: LimitResult = rt.limiter.limitSync ? rt.limiter.limitSync(request) : await rt.limiter.limit(request)
    if (decision.blocked) {
      if (blockKey !== undefined) rt.blocked.set(blockKey, now + decision.retryAfterMs)
      return blockedFailure(decision.retryAfterMs)
    }
    // A limiter that could not say how much is left (a fail-open policy) gets no headers rather than empty ones.
    if (quota.policy !== null && decision.rules.length > 0) headers = { 'ratelimit-policy': quota.policy, ratelimit: formatRateLimit(decision.rules) }
    // Whatever the limiter says no to is refused, rules or not: a denial is never a pass.
    if (!decision.allowed) return { ok: false, error: new KeywardError('rate_limited', { retryAfter: retrySeconds(decision.retryAfterMs), headers }) }
  }
  return { ok: true, auth, headers }
}
