/**
 * The shared tail of the pipeline, the same for every principal whatever strategy produced it:
 * project → origin/IP → scopes and quota (and credits) → attach. Internal.
 */
import { KeywardError } from '../errors.js'
import { formatRateLimit } from '../http/rate-limit-headers.js'
import { placeRefusal, type ClientAddress } from '../http/restrictions.js'
import { isValidScope, missingScopes } from '../keys/scopes.js'
import { CREDITS_HEADER } from '../http/credits-header.js'
import type { LimitRequest, LimitResult } from '../limiters/rate-limiter.js'
import type { KeyCredits } from '../types.js'
import { authWithCredits } from './cached-key.js'
import { warnCreditsPerProcess } from './credits-per-process.js'
import { sharedQuotasFor, sharedRateLimitHeaders, type ResolvedSharedRequest } from '../limiters/shared-quotas.js'
import type { Runtime } from '../runtime.js'
import { blockedFailure, NO_HEADERS, retrySeconds, type Failure, type Success } from './failures.js'
import type { VerifyInput } from './input.js'
import { refuse, settle } from './lockout-steps.js'
import type { Principal } from './principal.js'

/**
 * Decides on an accepted credential: its projects, then its origin and IP rules (an API key's),
 * then {@link grant}. `held` says whether a lockout slot is held for the attempt: it is settled
 * here, counted if the refusal counts, released if not. Answers synchronously when nothing had
 * to wait (a synchronous limiter and no refusal to count), sparing the caller a promise.
 *
 * @example
 * ```ts
 * const decided = authorize(rt, input, client, now, held, principal)
 * return decided instanceof Promise ? await decided : decided
 * ```
 */
export function authorize(
  rt: Runtime,
  input: VerifyInput,
  client: ClientAddress | null,
  now: number,
  held: boolean,
  principal: Principal,
): Success | Failure | Promise<Success | Failure> {
  if (input.project !== undefined && !principal.auth.projects.includes(input.project))
    return refuse(rt, 'project_forbidden', client, now, undefined, held)
  if (principal.place !== undefined) {
    let place: ReturnType<typeof placeRefusal>
    try {
      place = placeRefusal(principal.place, input.headers, rt.originHeaders, client, rt.memo, rt.restrictionMode)
    } catch (cause) {
      // The slot must go back whatever broke, or the address waits behind it for good.
      settle(rt, client, held)
      throw cause
    }
    if (place !== null) return refuse(rt, place, client, now, undefined, held)
  }
  // A valid credential: its slot goes to the next attempt before the quota call, which checks the block.
  settle(rt, client, held)
  return grant(rt, input, client, now, principal)
}

/**
 * The last steps, the same for every credential: the scopes the request needs, then the quota
 * (and the address's lockout state, in the same limiter call), then the attach: the answer with
 * the principal's shared auth, and its last use noted for an API key. Synchronous unless a
 * refusal is counted or the limiter has no `limitSync`.
 *
 * @example
 * ```ts
 * const decided = grant(rt, input, client, now, principal)
 * ```
 */
export function grant(
  rt: Runtime,
  input: VerifyInput,
  client: ClientAddress | null,
  now: number,
  principal: Principal,
): Success | Failure | Promise<Success | Failure> {
  const auth = principal.auth
  const scopes = input.scopes
  if (scopes !== undefined) {
    const missing = missingScopes(auth.scopes, typeof scopes === 'string' ? [scopes] : scopes)
    // Only scope tokens go into the quoted challenge; anything else could never be granted anyway.
    if (missing.length > 0) return refuse(rt, 'insufficient_scope', client, now, { scope: missing.filter(isValidScope).join(' ') })
  }

  const quota = principal.quota
  const blockKey = rt.lockout === false || client === null ? undefined : client.bucket
  // Group budgets (createKeyward's sharedQuotas), counted in the same call as the key's rules.
  const shared = rt.sharedQuotas.length === 0 ? undefined : sharedQuotasFor(rt.sharedQuotas, auth)
  // A key with credits spends them in the same call: a path of its own, so no other key pays for it.
  const credits = principal.record?.credits
  if (credits !== null && credits !== undefined && credits.removed !== true)
    return spend(rt, input, client, now, principal, blockKey, shared, credits)
  if (quota.rules.length > 0 || blockKey !== undefined || shared !== undefined) {
    const request = { key: quota.key, rules: quota.rules, shared: shared?.shared, blockKey, now }
    // An in-process limiter answers at once: no promise, no extra turn of the event loop.
    if (rt.limiter.limitSync !== undefined)
      return decide(rt, input, client, now, principal, blockKey, shared, rt.limiter.limitSync(request))
    return decideLater(rt, input, client, now, principal, blockKey, shared, rt.limiter.limit(request))
  }
  return attach(rt, input, now, principal, NO_HEADERS)
}

/** The one message of a key with credits on a limiter that cannot spend them. */
const NO_CREDITS =
  'keyward: a key with credits was verified, but the limiter cannot spend credits (limiter.credits is not true): ' +
  'refused with 503 rather than let it pass free; use MemoryRateLimiter, RedisRateLimiter or DurableObjectRateLimiter'

// The quota call of a key with credits: the cost spent with the rules, all or nothing.
function spend(
  rt: Runtime,
  input: VerifyInput,
  client: ClientAddress | null,
  now: number,
  principal: Principal,
  blockKey: string | undefined,
  shared: ResolvedSharedRequest | undefined,
  credits: KeyCredits,
): Success | Failure | Promise<Success | Failure> {
  if (!rt.limiterSpendsCredits) {
    // Fail closed, and say so once where the app looks for background trouble.
    if (!warnedNoCredits.has(rt)) {
      warnedNoCredits.add(rt)
      rt.reportError(new Error(NO_CREDITS))
    }
    throw new Error(NO_CREDITS)
  }
  if (rt.creditsPerProcess) warnCreditsPerProcess(rt)
  const quota = principal.quota
  const request: LimitRequest = { key: quota.key, rules: quota.rules, shared: shared?.shared, blockKey, credits, cost: input.cost, now }
  if (rt.limiter.limitSync !== undefined)
    return decide(rt, input, client, now, principal, blockKey, shared, spent(rt.limiter.limitSync(request)))
  return decideLater(rt, input, client, now, principal, blockKey, shared, rt.limiter.limit(request).then(spent))
}

const warnedNoCredits = new WeakSet<Runtime>()

// A limiter that said it spends credits must say what is left: without a balance, nothing passes.
function spent(decision: LimitResult): LimitResult {
  const remaining = decision.credits
  if (!decision.blocked && !(Number.isSafeInteger(remaining) && (remaining as number) >= 0))
    throw new Error('keyward: the limiter answered a spend of credits without the balance')
  return decision
}

async function decideLater(
  rt: Runtime,
  input: VerifyInput,
  client: ClientAddress | null,
  now: number,
  principal: Principal,
  blockKey: string | undefined,
  shared: ResolvedSharedRequest | undefined,
  pending: Promise<LimitResult>,
): Promise<Success | Failure> {
  return decide(rt, input, client, now, principal, blockKey, shared, await pending)
}

// The limiter's answer applied: a block or a denial refused, else the success with its headers.
function decide(
  rt: Runtime,
  input: VerifyInput,
  client: ClientAddress | null,
  now: number,
  principal: Principal,
  blockKey: string | undefined,
  shared: ResolvedSharedRequest | undefined,
  decision: LimitResult,
): Success | Failure | Promise<Failure> {
  if (decision.blocked) {
    if (blockKey !== undefined) rt.blocked.set(blockKey, now + decision.retryAfterMs)
    return blockedFailure(decision.retryAfterMs)
  }
  let headers = NO_HEADERS
  const quota = principal.quota
  // A limiter that could not say how much is left (a fail-open policy) gets no headers rather than empty ones.
  if (shared !== undefined) {
    if (decision.rules.length > 0) headers = sharedRateLimitHeaders(quota.policy, quota.rules.length, shared.policies, decision.rules)
  } else if (quota.policy !== null && decision.rules.length > 0)
    headers = { 'ratelimit-policy': quota.policy, ratelimit: formatRateLimit(decision.rules) }
  // Only a spend of credits answers a balance: the header, and the refusal when it falls short.
  const remaining = decision.credits
  if (remaining !== undefined) {
    headers = { ...headers, [CREDITS_HEADER]: String(remaining) }
    if (decision.creditsExhausted === true) {
      // Retry-After only when a refill will cover the cost; else waiting will not help.
      const retryAfter = decision.retryAfterMs > 0 ? retrySeconds(decision.retryAfterMs) : undefined
      return { ok: false, error: new KeywardError('credits_exhausted', retryAfter === undefined ? { headers } : { retryAfter, headers }) }
    }
  }
  // Whatever the limiter says no to is refused, rules or not: a denial is never a pass.
  if (!decision.allowed) {
    const options = { retryAfter: retrySeconds(decision.retryAfterMs), headers }
    // Counted only when the app says so (lockout.count): one more limiter call, on refusals only.
    if (rt.lockoutCounts.has('rate_limited')) return refuse(rt, 'rate_limited', client, now, options)
    return { ok: false, error: new KeywardError('rate_limited', options) }
  }
  if (remaining !== undefined) return attachWithCredits(rt, input, now, principal, headers, remaining)
  return attach(rt, input, now, principal, headers)
}

// Attach: the one place a success is built.
function attach(rt: Runtime, input: VerifyInput, now: number, principal: Principal, headers: Readonly<Record<string, string>>): Success {
  if (principal.record !== undefined) rt.usage?.record(principal.record.id, now, input.waitUntil)
  return { ok: true, auth: principal.auth, headers }
}

// A key with credits: its auth for this request carries the balance after it.
function attachWithCredits(
  rt: Runtime,
  input: VerifyInput,
  now: number,
  principal: Principal,
  headers: Readonly<Record<string, string>>,
  remaining: number,
): Success {
  const record = principal.record!
  rt.usage?.record(record.id, now, input.waitUntil)
  return { ok: true, auth: authWithCredits(record, principal.auth.scopes, remaining), headers }
}
