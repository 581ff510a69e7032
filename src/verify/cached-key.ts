/**
 * Cache-entry preparation: a store record checked, compacted and turned into the principal the
 * API-key strategy hands to the pipeline, once per cache fill rather than once per request.
 */
import { formatPolicy } from '../http/rate-limit-headers.js'
import { parseCidr, type IpNetwork } from '../http/ip.js'
import type { PlaceRules } from '../http/restrictions.js'
import { toKeyInfo } from '../keys/info.js'
import type { AuthContext, KeyInfo, KeyRecord, RateLimitRule } from '../types.js'
import type { Principal, Quota } from './principal.js'
import { checkRecordShape } from '../keys/record-codec.js'

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
  record: KeyRecord
  place: PlaceRules
  /** The quota in force: the key's own rules, else the server default, and its policy header. */
  quota: Quota
  /** Shared, frozen auth context handed to every request made with this key. */
  auth: AuthContext
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

/**
 * Prepares a store record for the cache: a compact copy, parsed networks, the quota, the frozen
 * auth context (its `key` built on first read).
 *
 * @example
 * ```ts
 * const entry = buildCachedKey(runtime, record) // entry.auth is frozen and shared
 * ```
 */
export function buildCachedKey(settings: KeySettings, record: KeyRecord): CachedKey {
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
  const kept = compactRecord(record)
  const rules = kept.rateLimit.length > 0 ? kept.rateLimit : settings.defaultRateLimit
  let info: KeyInfo | undefined
  const auth: AuthContext = Object.freeze({
    type: 'api_key' as const,
    keyId: kept.id,
    org: kept.orgId,
    scopes: Object.freeze(settings.expandScopes(kept.scopes)),
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
