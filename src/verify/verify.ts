/**
 * The verification pipeline, start to answer: the credential is read and parsed, the address
 * admitted against its lockout budget, the credential turned into a principal by the API-key
 * strategy (api-key-strategy.ts) or the JWT strategy (jwt/token-verifier.ts), then the shared tail
 * (tail.ts) decides. Nothing here depends on the credential type after the strategy.
 */
import { extractCredential, urlHasCredential } from '../http/credentials.js'
import { KeywardError } from '../errors.js'
import { parseKey } from '../keys/format.js'
import { looksLikeJwt } from '../jwt/token-verifier.js'
import type { Runtime } from '../runtime.js'
import { acceptKey } from './api-key-strategy.js'
import type { CachedKey } from './cached-key.js'
import { INVALID_TOKEN, URL_CREDENTIAL } from './failures.js'
import type { VerifyInput, VerifyResult } from './input.js'
import { admit, hold, refuse, settle } from './lockout-steps.js'
import type { Principal } from './principal.js'
import { authorize } from './tail.js'
import { isPromiseLike, runMaybeSync } from '../internal/maybe-sync.js'

export type { VerifyInput, VerifyResult } from './input.js'

// Frozen header lists already checked: an adapter passes the same one on every request.
const checkedHeaderLists = new WeakSet<readonly string[]>()

// A wrong credential source is the application's bug: said at once, never a silent default.
function checkCredentialSource(input: VerifyInput): void {
  const names = input.credentialHeaders
  if (names !== undefined && !checkedHeaderLists.has(names)) {
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && /^[a-z0-9-]+$/.test(n)))
      throw new TypeError('keyward: verify() credentialHeaders must be a non-empty list of lowercase header names')
    if (Object.isFrozen(names)) checkedHeaderLists.add(names)
  }
  if (input.accept !== undefined && input.accept !== 'api_key' && input.accept !== 'jwt')
    throw new TypeError("keyward: verify() accept must be 'api_key' or 'jwt'")
}

/**
 * The verification pipeline (README "How verify() decides"), as a promise. Never rejects but for
 * a wrong call (a TypeError: the application's bug).
 *
 * @example
 * ```ts
 * const result = await verifyRequest(runtime, { headers, ip })
 * ```
 */
export function verifyRequest(rt: Runtime, input: VerifyInput): Promise<VerifyResult> {
  try {
    const result = verifyNow(rt, input)
    return Promise.resolve(result)
  } catch (error) {
    return Promise.reject(error as Error)
  }
}

/**
 * The verification pipeline, answered at once when nothing on the way has to wait (a cached key
 * and a synchronous limiter: the usual request), else as a promise. Throws a TypeError for a
 * wrong call; everything else is an answer (a store or limiter failure: 503).
 *
 * @example
 * ```ts
 * const result = verifyNow(runtime, { headers, ip })
 * const answer = await verifyNow(runtime, { headers, ip }) // a value at once, or a promise
 * ```
 */
export function verifyNow(rt: Runtime, input: VerifyInput): VerifyResult | Promise<VerifyResult> {
  // A wrong call is the application's bug, not the client's and not an outage: say so loudly.
  if (input === null || typeof input !== 'object' || input.headers === null || typeof input.headers !== 'object') {
    throw new TypeError('keyward: verify() needs { headers } (a Headers object or a header record)')
  }
  if (input.scopes !== undefined && typeof input.scopes !== 'string' && !Array.isArray(input.scopes)) {
    throw new TypeError('keyward: verify() scopes must be a string or a list of strings')
  }
  if (input.cost !== undefined && !(Number.isSafeInteger(input.cost) && input.cost >= 0))
    throw new TypeError('keyward: verify() cost must be a non-negative safe integer (the credits this request spends)')
  if (input.waitUntil !== undefined && typeof input.waitUntil !== 'function')
    throw new TypeError('keyward: verify() waitUntil must be a function, e.g. (p) => ctx.waitUntil(p)')
  if (input.credentialHeaders !== undefined || input.accept !== undefined) checkCredentialSource(input)
  return runMaybeSync(pipeline(rt, input))
}

// The pipeline written as an async function would be, with `yield` for `await` (runMaybeSync):
// only ever on a native promise or a plain value.
function* pipeline(rt: Runtime, input: VerifyInput): Generator<unknown, VerifyResult, unknown> {
  try {
    if (input.url !== undefined && urlHasCredential(input.url, rt.prefixes)) return URL_CREDENTIAL
    const credential = extractCredential(input.headers, input.credentialHeaders ?? rt.credentialHeaders)
    if (typeof credential !== 'string') return { ok: false, error: credential }

    // Parse: typos, forgeries and keys of the other environment never reach the store. Not one of
    // our keys: a JWT when keyward is configured for them, else simply invalid.
    const parsed = input.accept === 'jwt' ? null : parseKey(credential, rt.prefixes)
    const tokens =
      parsed === null && input.accept !== 'api_key' && rt.tokens !== undefined && looksLikeJwt(credential) ? rt.tokens : undefined
    if (parsed === null ? tokens === undefined : parsed.environment !== rt.environment) return INVALID_TOKEN

    const now = rt.now()
    const client = rt.memo.address(input.ip)
    // Lockout, first half: admission comes before the credential is looked at, so that no answer
    // depends on whether it is right.
    const admission = admit(rt, client, now)
    const admitted = (isPromiseLike(admission) ? yield admission : admission) as Awaited<typeof admission>
    if (typeof admitted !== 'boolean') return admitted
    let held = admitted

    // The strategy. A step that must wait (a store lookup, a signature check) holds an attempt
    // against the address's failure budget meanwhile; an answer from a cache holds nothing.
    let principal: Principal | null
    try {
      if (parsed !== null) {
        const found = rt.cache.get(parsed.keyId, rt.loadKey, rt.buildKey)
        let entry: CachedKey | null
        if (isPromiseLike(found)) {
          held = hold(rt, client, held)
          entry = (yield found) as CachedKey | null
        } else {
          entry = found
        }
        principal = acceptKey(rt, parsed, credential, entry, now)
      } else {
        const cached = tokens!.cachedAccess(credential, now)
        if (cached !== undefined) {
          principal = cached
        } else {
          held = hold(rt, client, held)
          principal = (yield tokens!.checkAccess(credential, now)) as Principal | null
        }
      }
    } catch (cause) {
      settle(rt, client, held)
      throw cause
    }
    if (principal === null) return (yield refuse(rt, 'invalid_token', client, now, undefined, held)) as VerifyResult
    // The shared tail: lockout (the attempt settled or counted) → project → origin/IP → scopes and quota → attach.
    const decided = authorize(rt, input, client, now, held, principal)
    return (isPromiseLike(decided) ? yield decided : decided) as VerifyResult
  } catch (cause) {
    // Fail closed: whatever broke (store, limiter, a bug), the answer is a refusal.
    return { ok: false, error: new KeywardError('store_unavailable', { cause, retryAfter: 1 }) }
  }
}
