import { extractCredential, urlHasCredential, type HeaderSource } from '../http/credentials.js'
import { KeywardError } from '../errors.js'
import { digestEqualsHex, DUMMY_HEX } from '../keys/hashing.js'
import { parseCidr, type IpNetwork } from '../http/ip.js'
import { toKeyInfo } from '../keys/info.js'
import { parseKey } from '../keys/format.js'
import { looksLikeJwt } from '../jwt/token-verifier.js'
import { verifyBearerToken } from '../jwt/verify-bearer-token.js'
import { admit, grant, hold, INVALID_TOKEN, refuse, settle, URL_CREDENTIAL } from './steps.js'
import { formatPolicy } from '../http/rate-limit-headers.js'
import { placeRefusal } from '../http/restrictions.js'
import type { CachedKey, Runtime } from '../runtime.js'
import type { AuthContext, KeyInfo, KeyRecord } from '../types.js'
import type { WaitUntil } from './usage-recorder.js'

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
  /**
   * The platform's way to keep background work (the batched last-used write) alive after the
   * response: on Workers `(p) => ctx.waitUntil(p)`; the Hono adapter passes it. Without it a timer
   * is used, and a batch found overdue is written at the next request.
   */
  waitUntil?: WaitUntil | undefined
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
 * Prepares a store record for the cache: a compact copy, parsed networks, the quota, the frozen
 * auth context (its `key` built on first read).
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
  const kept = compactRecord(record)
  const rules = kept.rateLimit.length > 0 ? kept.rateLimit : rt.defaultRateLimit
  let info: KeyInfo | undefined
  const auth: AuthContext = Object.freeze({
    type: 'api_key' as const,
    keyId: kept.id,
    org: kept.orgId,
    scopes: Object.freeze(rt.expandScopes(kept.scopes)),
    projects: kept.projects,
    environment: kept.environment,
    // Built on first read: most requests never look, and a cached key costs half the memory without
    // it. Shared by every request with this key while cached, so deeply frozen.
    get key(): KeyInfo {
      return (info ??= deepFreeze(toKeyInfo(kept)))
    },
  })
  return {
    record: kept,
    place: { allowedOrigins: kept.allowedOrigins, networks, hasIpRules: kept.allowedIps.length > 0 },
    // Counted under the rotation chain's first key: a successor shares its predecessor's quota.
    // A store that predates rootId answers none: the key's own id, as before.
    quota: { key: typeof kept.rootId === 'string' ? kept.rootId : kept.id, rules, policy: rules.length > 0 ? formatPolicy(rules) : null },
    auth,
  }
}

// The store's copy as a plain object of one fixed shape: structuredClone'd records are kept in
// V8's dictionary mode, nearly three times the size. The nested values are already our own copies.
function compactRecord(r: KeyRecord): KeyRecord {
  return {
    id: r.id,
    prefix: r.prefix,
    environment: r.environment,
    hash: r.hash,
    orgId: r.orgId,
    name: r.name,
    description: r.description,
    projects: Object.freeze(r.projects) as string[],
    scopes: r.scopes,
    allowedOrigins: r.allowedOrigins,
    allowedIps: r.allowedIps,
    rateLimit: r.rateLimit,
    metadata: r.metadata,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    lastUsedAt: r.lastUsedAt,
    revokedAt: r.revokedAt,
    rotatedFrom: r.rotatedFrom,
    rotatedTo: r.rotatedTo,
    version: r.version,
    rootId: r.rootId,
  }
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
  if (input.waitUntil !== undefined && typeof input.waitUntil !== 'function') throw new TypeError('keyward: verify() waitUntil must be a function, e.g. (p) => ctx.waitUntil(p)')
  try {
    if (input.url !== undefined && urlHasCredential(input.url, rt.prefixes)) return URL_CREDENTIAL
    const credential = extractCredential(input.headers, rt.credentialHeaders)
    if (typeof credential !== 'string') return { ok: false, error: credential }

    // Parse: typos, forgeries and keys of the other environment never reach the store.
    const parsed = parseKey(credential, rt.prefixes)
    if (parsed === null) {
      // Not one of our keys: a JWT when keyward is configured for them, else simply invalid.
      if (rt.tokens !== undefined && looksLikeJwt(credential)) return await verifyBearerToken(rt, rt.tokens, input, credential)
      return INVALID_TOKEN
    }
    if (parsed.environment !== rt.environment) return INVALID_TOKEN

    const now = rt.now()
    const client = rt.memo.address(input.ip)
    // Admission comes before the key is looked at, so that no answer depends on whether it is right.
    const admission = admit(rt, client, now)
    const admitted = admission instanceof Promise ? await admission : admission
    if (typeof admitted !== 'boolean') return admitted
    let held = admitted

    let entry: CachedKey | null
    const found = rt.cache.get(parsed.keyId, rt.loadKey, rt.buildKey)
    if (found instanceof Promise) {
      // The lookup is an await: the attempt is held against the address's failure budget meanwhile.
      held = hold(rt, client, held)
      try {
        entry = await found
      } catch (cause) {
        settle(rt, client, held)
        throw cause
      }
    } else {
      entry = found
    }
    // An unknown id still costs a hash and a comparison, so timing does not tell ids apart.
    const digest = rt.hash(credential)
    if (entry === null) {
      digestEqualsHex(digest, DUMMY_HEX)
      return await refuse(rt, 'invalid_token', client, now, undefined, held)
    }
    const record = entry.record
    if (
      // A stored hash that is not 64 hex digits never matches.
      !digestEqualsHex(digest, record.hash) ||
      // Any revocation counts, whatever its time: `revokedAt` is stamped with the revoking
      // instance's clock, and an instance whose clock lags must not read it as still to come.
      record.revokedAt !== null ||
      (record.expiresAt !== null && record.expiresAt <= now) ||
      record.environment !== rt.environment ||
      record.prefix !== parsed.prefix
    ) {
      return await refuse(rt, 'invalid_token', client, now, undefined, held)
    }

    if (input.project !== undefined && !record.projects.includes(input.project)) return await refuse(rt, 'project_forbidden', client, now, undefined, held)
    const place = placeRefusal(entry.place, input.headers, rt.originHeaders, client, rt.memo)
    if (place !== null) return await refuse(rt, place, client, now, undefined, held)
    // A valid key: its slot goes to the next attempt before the quota call, which checks the block.
    settle(rt, client, held)

    const granted = await grant(rt, input.scopes, client, now, entry.auth, entry.quota)
    if (granted.ok) rt.usage?.record(record.id, now, input.waitUntil)
    return granted
  } catch (cause) {
    // Fail closed: whatever broke (store, limiter, a bug), the answer is a refusal.
    return { ok: false, error: new KeywardError('store_unavailable', { cause, retryAfter: 1 }) }
  }
}
