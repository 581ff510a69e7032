/**
 * Cache-entry preparation: a store record checked, compacted and turned into the principal the
 * API-key strategy hands to the pipeline, once per cache fill rather than once per request.
 */
import { formatPolicy } from '../http/rate-limit-headers.js'
import { parseCidr, type IpNetwork } from '../http/ip.js'
import type { PlaceRules } from '../http/restrictions.js'
import { creditsInfo, toKeyInfo } from '../keys/info.js'
import type { AuthContext, KeyInfo, KeyRecord, RateLimitRule } from '../types.js'
import type { Principal, Quota } from './principal.js'
import { checkRecordShape } from '../keys/record-codec.js'
import { Interner } from './interner.js'

/**
 * A store record prepared once for fast verification while it sits in the cache.
 *
 * @example
 * ```ts
 * if (entry.quota.policy !== null) headers['ratelimit-policy'] = entry.quota.policy
 * ```
 */
export interface CachedKey extends Principal {
  /** The record, as a compact copy; its `hash` is compared as stored (hex). */
  readonly record: KeyRecord
  readonly place: PlaceRules
  /** The quota in force: the key's own rules, else the server default, and its policy header. */
  readonly quota: Quota
  /** Shared, frozen auth context handed to every request made with this key (its `key`'s Dates fresh on each read). */
  readonly auth: AuthContext
}

/**
 * What preparing an entry needs from the instance (the runtime has both).
 *
 * @example
 * ```ts
 * const settings: KeySettings = { expandScopes: (s) => [...s], defaultRateLimit: [] }
 * ```
 */
export interface KeySettings {
  expandScopes: (granted: readonly string[]) => string[]
  defaultRateLimit: readonly RateLimitRule[]
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Date)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

// Shared by every key without origin or IP rules, or without metadata: most keys.
const NO_PLACE: PlaceRules = Object.freeze({ allowedOrigins: Object.freeze([]), networks: Object.freeze([]), hasIpRules: false })
const NO_RULES: readonly RateLimitRule[] = Object.freeze([])
const NO_METADATA: Record<string, unknown> = Object.freeze({})

// Built once per rule list: keys without their own rules all share the server default's.
const policies = new WeakMap<readonly RateLimitRule[], string | null>()
function policyOf(rules: readonly RateLimitRule[]): string | null {
  let policy = policies.get(rules)
  if (policy === undefined) policies.set(rules, (policy = rules.length > 0 ? formatPolicy(rules) : null))
  return policy
}

let readKey: (this: ApiKeyAuth) => KeyInfo

/**
 * The frozen auth context of a cached key. `key` is an own enumerable accessor as on a literal,
 * but its getter is one function for every key (a getter per object costs a closure, a context
 * and a hidden class each), and it reaches the record through a private field.
 */
class ApiKeyAuth {
  // Assigned in the literal's order (type first), so keys and JSON read as before.
  readonly type: 'api_key'
  readonly keyId: string
  readonly org: string
  readonly scopes: readonly string[]
  readonly projects: readonly string[]
  readonly environment: string
  declare readonly key: KeyInfo
  declare readonly credits?: number
  readonly #record: KeyRecord
  #info: KeyInfo | undefined

  /** `credits`: the balance after this request, for the auth of one request with a key with credits. */
  constructor(record: KeyRecord, scopes: readonly string[], credits?: number) {
    this.type = 'api_key'
    this.keyId = record.id
    this.org = record.orgId
    this.scopes = scopes
    this.projects = record.projects
    this.environment = record.environment
    this.#record = record
    Object.defineProperty(this, 'key', { get: readKey, enumerable: true })
    // Only on a key with credits: every other auth keeps the one shape, and no `credits: undefined`.
    if (credits !== undefined) Object.defineProperty(this, 'credits', { value: credits, enumerable: true })
    Object.freeze(this)
  }

  static {
    // Built on first read: most requests never look. Shared by every request with this key while
    // cached, so deeply frozen, its Dates read afresh (see withFreshDates). (A private field stays
    // writable on a frozen object.) With credits, the balance shown is this request's.
    readKey = function (this: ApiKeyAuth) {
      if (this.#info !== undefined) return this.#info
      const info = toKeyInfo(this.#record)
      if (this.credits !== undefined) info.credits = creditsInfo(this.#record.credits, this.credits)
      return (this.#info = deepFreeze(withFreshDates(info, this.#record)))
    }
    // One prototype behind every API-key auth: writable, a handler could give every other
    // request's auth a property (a `subject`, a `toJSON`) that audit events and handlers then read.
    Object.freeze(ApiKeyAuth.prototype)
    Object.freeze(ApiKeyAuth)
  }
}

// Where a key's info view keeps the times its Dates are built from: a non-enumerable symbol, so
// JSON, spreads and comparisons see the fields alone. Only the five times, frozen: never the
// record (its hash is not for handlers, and a handler could change what others read from it).
const TIMES = Symbol('keyward.times')
type DateField = 'expiresAt' | 'createdAt' | 'updatedAt' | 'lastUsedAt' | 'revokedAt'
type View = { [TIMES]: Readonly<Record<DateField, number | null>> }
const dateGetter = (field: DateField) =>
  function (this: View): Date | null {
    const ms = this[TIMES][field]
    return ms === null ? null : new Date(ms)
  }
// One getter per field for every key: objects built the same way then share one hidden class
// (a getter per object would cost a closure and a hidden class each).
const DATE_GETTERS: Readonly<Record<string, () => Date | null>> = {
  expiresAt: dateGetter('expiresAt'),
  createdAt: dateGetter('createdAt'),
  updatedAt: dateGetter('updatedAt'),
  lastUsedAt: dateGetter('lastUsedAt'),
  revokedAt: dateGetter('revokedAt'),
}

/**
 * The info with its Dates as getters that build a new Date on each read, fields in the same
 * order. Freezing cannot protect a Date (`setTime()` works on a frozen one), and this info is
 * shared by every request with the key while it is cached: a handler that changed
 * `auth.key.expiresAt` would have changed it for the others, and for the grant ceiling of a
 * management call made with the key. Only a read of `auth.key` (built once per cache entry) pays
 * for it; verify() never reads these Dates: its expiry and revocation checks read the record's numbers.
 */
function withFreshDates(info: KeyInfo, record: KeyRecord): KeyInfo {
  const view = {} as Record<string, unknown> & View
  const { expiresAt, createdAt, updatedAt, lastUsedAt, revokedAt } = record
  Object.defineProperty(view, TIMES, { value: Object.freeze({ expiresAt, createdAt, updatedAt, lastUsedAt, revokedAt }) })
  for (const field in info) {
    const get = DATE_GETTERS[field]
    if (get === undefined) view[field] = info[field as keyof KeyInfo]
    else Object.defineProperty(view, field, { get, enumerable: true })
  }
  return view as unknown as KeyInfo
}

/**
 * The auth of one request made with a key with credits: the cached key's, with the balance
 * after this request as `credits` and in `key.credits.remaining`. Only keys with credits pay for it.
 *
 * @example
 * ```ts
 * const auth = authWithCredits(principal.record, principal.auth.scopes, decision.credits)
 * ```
 */
export function authWithCredits(record: KeyRecord, scopes: readonly string[], remaining: number): AuthContext {
  return new ApiKeyAuth(record, scopes, remaining) as unknown as AuthContext
}

/**
 * Prepares a store record for the cache: a compact copy (identical lists and strings shared
 * through `interner`), parsed networks, the quota, the frozen auth context (its `key` built on
 * first read).
 *
 * @example
 * ```ts
 * const entry = buildCachedKey(runtime, record, new Interner(10_000)) // entry.auth is frozen and shared
 * ```
 */
export function buildCachedKey(settings: KeySettings, record: KeyRecord, interner: Interner = new Interner(0)): CachedKey {
  // A malformed record is a broken store (503): ISO strings for times or a TEXT column for a list
  // would otherwise fail open (`NaN <= now` is false: never expired). Checked field by field
  // from the one field table (src/keys/record-fields.ts).
  checkRecordShape(record)
  const networks: IpNetwork[] = []
  for (const rule of record.allowedIps) {
    const network = parseCidr(rule)
    // Rules were validated when written; one that no longer parses allows nothing.
    if (network !== null) networks.push(network)
  }
  const kept = compactRecord(record, interner)
  const rules = kept.rateLimit.length > 0 ? kept.rateLimit : settings.defaultRateLimit
  const auth = new ApiKeyAuth(kept, interner.list(settings.expandScopes(kept.scopes))) as unknown as AuthContext
  const hasIpRules = kept.allowedIps.length > 0
  return {
    record: kept,
    place: kept.allowedOrigins.length === 0 && !hasIpRules ? NO_PLACE : { allowedOrigins: kept.allowedOrigins, networks, hasIpRules },
    // Counted under the rotation chain's first key: a successor shares its predecessor's quota.
    // A store that predates rootId answers none: the key's own id, as before.
    quota: { key: typeof kept.rootId === 'string' ? kept.rootId : kept.id, rules, policy: policyOf(rules) },
    auth,
  }
}

// The store's copy as a plain object of one fixed shape: structuredClone'd records are kept in
// V8's dictionary mode, nearly three times the size. Lists and the few-valued strings are shared
// with other entries; the nested values are already our own copies.
function compactRecord(r: KeyRecord, interner: Interner): KeyRecord {
  const rateLimit = r.rateLimit.length === 0 ? (NO_RULES as RateLimitRule[]) : r.rateLimit
  return {
    id: r.id,
    prefix: interner.string(r.prefix),
    environment: interner.string(r.environment),
    hash: r.hash,
    orgId: interner.string(r.orgId),
    name: r.name,
    description: r.description,
    projects: interner.list(r.projects) as string[],
    scopes: interner.list(r.scopes) as string[],
    allowedOrigins: interner.list(r.allowedOrigins) as string[],
    allowedIps: interner.list(r.allowedIps) as string[],
    rateLimit,
    metadata: Object.keys(r.metadata).length === 0 ? NO_METADATA : r.metadata,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    lastUsedAt: r.lastUsedAt,
    revokedAt: r.revokedAt,
    rotatedFrom: r.rotatedFrom,
    rotatedTo: r.rotatedTo,
    version: r.version,
    rootId: r.rootId,
    // Null when absent (a custom store's record from before credits): read by the tail on every request.
    credits: r.credits ?? null,
  }
}
