import { extractCredential, urlHasCredential, type HeaderSource } from './credentials.js'
import { KeywardError, type KeywardErrorCode } from './errors.js'
import { constantTimeEqual, digestFromHex, DUMMY_DIGEST } from './hashing.js'
import { parseCidr, type IpNetwork } from './ip.js'
import { toKeyInfo } from './key-info.js'
import { parseKey } from './key-format.js'
import type { LimitResult } from './limiters/rate-limiter.js'
import { formatPolicy, formatRateLimit } from './rate-limit-headers.js'
import { placeRefusal, type ClientAddress } from './restrictions.js'
import type { CachedKey, Runtime } from './runtime.js'
import { isValidScope, missingScopes } from './scopes.js'
import type { AuthContext, KeyRecord } from './types.js'

/**
 * What `kw.verify()` looks at. Adapters build it from the framework's request.
 *
 * @example
 * ```ts
 * await kw.verify({ headers: request.headers, ip: '203.0.113.10', project: 'prod-site', scopes: ['write'] })
 * ```
 */
export interface VerifyInput {
  /** The request headers (Web `Headers` or a Node-style record with lowercase names). */
  headers: HeaderSource
  /** The client address as the adapter resolved it (socket address, or per trusted proxies). */
  ip?: string | undefined
  /** The project the request targets; checked against the key's projects when given. */
  project?: string | undefined
  /** Scopes the request needs; all must be granted. */
  scopes?: string | readonly string[] | undefined
  /** The request URL (path and query). Only looked at to refuse credentials sent in it. */
  url?: string | undefined
}

/**
 * The answer of `kw.verify()`: it never throws.
 *
 * @example
 * ```ts
 * const r: VerifyResult = await kw.verify({ headers })
 * if (!r.ok) return respond(r.error.status, r.error.toJSON())
 * ```
 */
export type VerifyResult =
  | { ok: true; auth: AuthContext; headers: Readonly<Record<string, string>> }
  | { ok: false; error: KeywardError }

type Failure = { ok: false; error: KeywardError }

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

// The refusals that carry nothing request-specific are built once and shared, frozen: building
// an Error captures a stack trace, which would cost more than the rest of a refusal.
function shared(code: KeywardErrorCode, message?: string): Failure {
  const error = new KeywardError(code, message === undefined ? {} : { message })
  Object.freeze(error.headers)
  return Object.freeze({ ok: false as const, error: Object.freeze(error) })
}
const INVALID_TOKEN = shared('invalid_token')
const STATIC_FAILURES: Partial<Record<KeywardErrorCode, Failure>> = {
  invalid_token: INVALID_TOKEN,
  project_forbidden: shared('project_forbidden'),
  origin_forbidden: shared('origin_forbidden'),
  ip_forbidden: shared('ip_forbidden'),
}
const URL_CREDENTIAL = shared('invalid_request', 'Credentials must be sent in a header, never in the URL')

// The failures that count toward an address's lockout: a wrong key, or a key used from where it
// is not allowed. Project and scope refusals are a valid key asking for too much; malformed keys
// are refused before any of this and never could succeed.
const COUNTED: ReadonlySet<KeywardErrorCode> = new Set(['invalid_token', 'origin_forbidden', 'ip_forbidden'])

const isTime = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v))
const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string')

/**
 * Throws unless `record` has the shape the checks rely on. A store that hands back ISO strings
 * for times or a TEXT column for a list would otherwise fail open: `NaN <= now` is false (never
 * expired) and `'prod-site'.includes('prod')` is true. A malformed record is a broken store: 503.
 */
function assertRecordShape(record: KeyRecord): void {
  const ok =
    record !== null &&
    typeof record === 'object' &&
    typeof record.id === 'string' &&
    typeof record.hash === 'string' &&
    typeof record.orgId === 'string' &&
    typeof record.prefix === 'string' &&
    (record.environment === 'live' || record.environment === 'test') &&
    isStrings(record.projects) &&
    isStrings(record.scopes) &&
    isStrings(record.allowedOrigins) &&
    isStrings(record.allowedIps) &&
    Array.isArray(record.rateLimit) &&
    record.rateLimit.every((r) => r !== null && typeof r === 'object' && Number.isSafeInteger(r.limit) && r.limit > 0 && Number.isSafeInteger(r.windowMs) && r.windowMs > 0) &&
    isTime(record.expiresAt) &&
    isTime(record.revokedAt)
  if (!ok) throw new TypeError('keyward: the store returned a malformed key record')
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Date)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/**
 * Prepares a store record for the cache: digest bytes, parsed networks, frozen auth context.
 *
 * @example
 * ```ts
 * const entry = buildCachedKey(runtime, record) // entry.auth is frozen and shared
 * ```
 */
export function buildCachedKey(rt: Runtime, record: KeyRecord): CachedKey {
  assertRecordShape(record)
  const networks: IpNetwork[] = []
  for (const rule of record.allowedIps) {
    const network = parseCidr(rule)
    // Rules were validated when written; one that no longer parses allows nothing.
    if (network !== null) networks.push(network)
  }
  const rules = record.rateLimit.length > 0 ? record.rateLimit : rt.defaultRateLimit
  const auth: AuthContext = Object.freeze({
    type: 'api_key' as const,
    keyId: record.id,
    org: record.orgId,
    scopes: Object.freeze(rt.expandScopes(record.scopes)),
    projects: Object.freeze([...record.projects]),
    environment: record.environment,
    // Shared by every request with this key while cached: one handler must not edit the next one's view.
    key: deepFreeze(toKeyInfo(record)),
  })
  return {
    record,
    digest: digestFromHex(record.hash),
    place: { allowedOrigins: record.allowedOrigins, networks, hasIpRules: record.allowedIps.length > 0 },
    rules,
    policy: rules.length > 0 ? formatPolicy(rules) : null,
    auth,
  }
}

function retrySeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

function blockedFailure(ms: number): Failure {
  return { ok: false, error: new KeywardError('ip_blocked', { retryAfter: retrySeconds(ms) }) }
}

/** Refuses with `code`, first counting the attempt against the client's address when it counts. */
async function refuse(rt: Runtime, code: KeywardErrorCode, client: ClientAddress | null, now: number, options?: ConstructorParameters<typeof KeywardError>[1]): Promise<Failure> {
  if (rt.lockout !== false && client !== null && COUNTED.has(code)) {
    const state = await rt.limiter.recordFailure(client.bucket, rt.lockout, now)
    if (state.blocked) rt.blocked.set(client.bucket, now + state.retryAfterMs)
  }
  return (options === undefined && STATIC_FAILURES[code]) || { ok: false, error: new KeywardError(code, options) }
}

/**
 * The verification pipeline (README "How verify() decides"). Never throws.
 *
 * @example
 * ```ts
 * const result = await verifyRequest(runtime, { headers, ip })
 * ```
 */
export async function verifyRequest(rt: Runtime, input: VerifyInput): Promise<VerifyResult> {
  // A wrong call is the application's bug, not the client's and not an outage: say so loudly.
  if (input === null || typeof input !== 'object' || input.headers === null || typeof input.headers !== 'object') {
    throw new TypeError('keyward: verify() needs { headers } (a Headers object or a header record)')
  }
  if (input.scopes !== undefined && typeof input.scopes !== 'string' && !Array.isArray(input.scopes)) {
    throw new TypeError('keyward: verify() scopes must be a string or a list of strings')
  }
  try {
    if (input.url !== undefined && urlHasCredential(input.url, rt.prefixes)) return URL_CREDENTIAL
    const credential = extractCredential(input.headers, rt.credentialHeaders)
    if (typeof credential !== 'string') return { ok: false, error: credential }

    // Parse: typos, forgeries and keys of the other environment never reach the store.
    const parsed = parseKey(credential, rt.prefixes)
    if (parsed === null || parsed.environment !== rt.environment) return INVALID_TOKEN

    const now = rt.now()
    const client = rt.memo.address(input.ip)
    if (rt.lockout !== false && client !== null) {
      const until = rt.blocked.get(client.bucket)
      if (until !== undefined && until > now) return blockedFailure(until - now)
    }

    const found = rt.cache.get(parsed.keyId, rt.loadKey, rt.buildKey)
    const entry = found instanceof Promise ? await found : found
    // An unknown id still costs a hash and a comparison, so timing does not tell ids apart.
    const digest = rt.hash(credential)
    if (entry === null || entry.digest === null) {
      constantTimeEqual(digest, DUMMY_DIGEST)
      return await refuse(rt, 'invalid_token', client, now)
    }
    const record = entry.record
    if (
      !constantTimeEqual(digest, entry.digest) ||
      // Any revocation counts, whatever its time: `revokedAt` is stamped with the revoking
      // instance's clock, and an instance whose clock lags must not read it as still to come.
      record.revokedAt !== null ||
      (record.expiresAt !== null && record.expiresAt <= now) ||
      record.environment !== rt.environment ||
      record.prefix !== parsed.prefix
    ) {
      return await refuse(rt, 'invalid_token', client, now)
    }

    if (input.project !== undefined && !record.projects.includes(input.project)) return await refuse(rt, 'project_forbidden', client, now)
    const place = placeRefusal(entry.place, input.headers, rt.originHeaders, client, rt.memo)
    if (place !== null) return await refuse(rt, place, client, now)

    if (input.scopes !== undefined) {
      const missing = missingScopes(entry.auth.scopes, typeof input.scopes === 'string' ? [input.scopes] : input.scopes)
      // Only scope tokens go into the quoted challenge; anything else could never be granted anyway.
      if (missing.length > 0) return await refuse(rt, 'insufficient_scope', client, now, { scope: missing.filter(isValidScope).join(' ') })
    }

    let headers = NO_HEADERS
    const blockKey = rt.lockout === false || client === null ? undefined : client.bucket
    if (entry.rules.length > 0 || blockKey !== undefined) {
      const request = { key: record.id, rules: entry.rules, blockKey, now }
      const decision: LimitResult = rt.limiter.limitSync ? rt.limiter.limitSync(request) : await rt.limiter.limit(request)
      if (decision.blocked) {
        if (blockKey !== undefined) rt.blocked.set(blockKey, now + decision.retryAfterMs)
        return blockedFailure(decision.retryAfterMs)
      }
      // A limiter that could not say how much is left (a fail-open policy) gets no headers rather than empty ones.
      if (entry.policy !== null && decision.rules.length > 0) headers = { 'ratelimit-policy': entry.policy, ratelimit: formatRateLimit(decision.rules) }
      // Whatever the limiter says no to is refused, rules or not: a denial is never a pass.
      if (!decision.allowed) return { ok: false, error: new KeywardError('rate_limited', { retryAfter: retrySeconds(decision.retryAfterMs), headers }) }
    }
    rt.usage?.record(record.id, now)
    return { ok: true, auth: entry.auth, headers }
  } catch (cause) {
    // Fail closed: whatever broke (store, limiter, a bug), the answer is a refusal.
    return { ok: false, error: new KeywardError('store_unavailable', { cause, retryAfter: 1 }) }
  }
}
