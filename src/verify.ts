import { extractCredential, readHeader, urlHasCredential, type HeaderSource } from './credentials.js'
import { KeywardError, type KeywardErrorCode } from './errors.js'
import { constantTimeEqual, digestFromHex, DUMMY_DIGEST } from './hashing.js'
import { ipInNetwork, lockoutBucket, parseCidr, parseIp, type IpNetwork } from './ip.js'
import { toKeyInfo } from './key-info.js'
import { parseKey } from './key-format.js'
import { originAllowed } from './origin.js'
import { formatPolicy, formatRateLimit } from './rate-limit-headers.js'
import type { CachedKey, Runtime } from './runtime.js'
import { missingScopes } from './scopes.js'
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

/** The answer of `kw.verify()`: it never throws. */
export type VerifyResult =
  | { ok: true; auth: AuthContext; headers: Readonly<Record<string, string>> }
  | { ok: false; error: KeywardError }

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})
const NO_SCOPES: readonly string[] = Object.freeze([])

// The failures that count toward an address's lockout: a wrong key, or a key used from where
// it is not allowed. Project and scope refusals are a valid key asking for too much.
const COUNTED: ReadonlySet<KeywardErrorCode> = new Set(['invalid_token', 'origin_forbidden', 'ip_forbidden'])

/** Prepares a store record for the cache: digest bytes, parsed networks, frozen auth context. */
export function buildCachedKey(rt: Runtime, record: KeyRecord): CachedKey {
  const networks: IpNetwork[] = []
  for (const rule of record.allowedIps) {
    const network = parseCidr(rule)
    // Rules were validated when written; one that no longer parses allows nothing.
    if (network !== null) networks.push(network)
  }
  const rules = record.rateLimit.length > 0 ? record.rateLimit : rt.defaultRateLimit
  const key = toKeyInfo(record)
  const auth: AuthContext = Object.freeze({
    type: 'api_key' as const,
    keyId: record.id,
    org: record.orgId,
    scopes: Object.freeze(rt.expandScopes(record.scopes)),
    projects: Object.freeze([...record.projects]),
    environment: record.environment,
    key: Object.freeze(key),
  })
  return { record, digest: digestFromHex(record.hash), networks, rules, policy: rules.length > 0 ? formatPolicy(rules) : null, auth }
}

function retrySeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

/** Why the key, valid in itself, may not be used from where the request comes (DESIGN §4). */
function placeRefusal(rt: Runtime, entry: CachedKey, input: VerifyInput): KeywardErrorCode | null {
  const { allowedOrigins } = entry.record
  const hasIps = entry.networks.length > 0 || entry.record.allowedIps.length > 0
  if (allowedOrigins.length === 0 && !hasIps) return null
  let origin: string | undefined
  if (allowedOrigins.length > 0) {
    for (const name of rt.originHeaders) {
      const value = readHeader(input.headers, name)
      if (value !== undefined) {
        // Several Origin values are refused rather than guessed between.
        origin = typeof value === 'string' ? value : value.length === 1 ? value[0]! : ''
        break
      }
    }
    if (origin !== undefined) return originAllowed(origin, allowedOrigins) ? null : 'origin_forbidden'
    if (!hasIps) return 'origin_forbidden'
  }
  const address = input.ip === undefined ? null : parseIp(input.ip)
  if (address === null) return 'ip_forbidden'
  for (const network of entry.networks) if (ipInNetwork(address, network)) return null
  return 'ip_forbidden'
}

/** The verification pipeline (README "How verify() decides"). Never throws. */
export async function verifyRequest(rt: Runtime, input: VerifyInput): Promise<VerifyResult> {
  let bucket: string | null | undefined
  const now = rt.now()
  const fail = async (code: KeywardErrorCode, options?: ConstructorParameters<typeof KeywardError>[1]): Promise<VerifyResult> => {
    if (rt.lockout !== false && COUNTED.has(code) && input.ip !== undefined) {
      bucket ??= lockoutBucket(input.ip)
      if (bucket !== null) {
        const state = await rt.limiter.recordFailure(bucket, rt.lockout, now)
        if (state.blocked) rt.blocked.set(bucket, now + state.retryAfterMs)
      }
    }
    return { ok: false, error: new KeywardError(code, options) }
  }
  const blockedFor = (): number => {
    if (rt.lockout === false || input.ip === undefined) return 0
    bucket ??= lockoutBucket(input.ip)
    if (bucket === null) return 0
    const until = rt.blocked.get(bucket)
    return until !== undefined && until > now ? until - now : 0
  }

  try {
    if (input.url !== undefined && urlHasCredential(input.url, rt.prefixes)) {
      return { ok: false, error: new KeywardError('invalid_request', { message: 'Credentials must be sent in a header, never in the URL' }) }
    }
    const credential = extractCredential(input.headers, rt.credentialHeaders)
    if (typeof credential !== 'string') return { ok: false, error: credential }

    const parsed = parseKey(credential, rt.prefixes)
    const blockedMs = blockedFor()
    if (blockedMs > 0) return { ok: false, error: new KeywardError('ip_blocked', { retryAfter: retrySeconds(blockedMs) }) }
    if (parsed === null || parsed.environment !== rt.environment) return await fail('invalid_token')

    const found = rt.cache.get(parsed.keyId, (id) => rt.store.findById(id), (record) => buildCachedKey(rt, record))
    const entry = found instanceof Promise ? await found : found
    // An unknown id still costs a hash and a comparison, so timing does not tell ids apart.
    const digest = rt.hash(credential)
    if (entry === null) {
      constantTimeEqual(digest, DUMMY_DIGEST)
      return await fail('invalid_token')
    }
    const record = entry.record
    if (!constantTimeEqual(digest, entry.digest ?? DUMMY_DIGEST) || entry.digest === null) return await fail('invalid_token')
    if (
      (record.revokedAt !== null && record.revokedAt <= now) ||
      (record.expiresAt !== null && record.expiresAt <= now) ||
      record.environment !== rt.environment ||
      record.prefix !== parsed.prefix
    ) {
      return await fail('invalid_token')
    }

    if (input.project !== undefined && !record.projects.includes(input.project)) return await fail('project_forbidden')
    const place = placeRefusal(rt, entry, input)
    if (place !== null) return await fail(place)

    const required = input.scopes === undefined ? NO_SCOPES : typeof input.scopes === 'string' ? [input.scopes] : input.scopes
    if (required.length > 0) {
      const missing = missingScopes(entry.auth.scopes, required)
      if (missing.length > 0) return await fail('insufficient_scope', { scope: missing.join(' ') })
    }

    let headers = NO_HEADERS
    if (entry.rules.length > 0 || (rt.lockout !== false && input.ip !== undefined)) {
      bucket ??= input.ip === undefined ? null : lockoutBucket(input.ip)
      const decision = await rt.limiter.limit({ key: record.id, rules: entry.rules, blockKey: rt.lockout === false ? undefined : (bucket ?? undefined), now })
      if (decision.blocked) {
        if (bucket) rt.blocked.set(bucket, now + decision.retryAfterMs)
        return { ok: false, error: new KeywardError('ip_blocked', { retryAfter: retrySeconds(decision.retryAfterMs) }) }
      }
      if (entry.policy !== null) {
        headers = { 'ratelimit-policy': entry.policy, ratelimit: formatRateLimit(decision.rules) }
        if (!decision.allowed) {
          return {
            ok: false,
            error: new KeywardError('rate_limited', { retryAfter: retrySeconds(decision.retryAfterMs), headers }),
          }
        }
      }
    }
    rt.usage?.record(record.id, now)
    return { ok: true, auth: entry.auth, headers }
  } catch (cause) {
    // Fail closed: whatever broke (store, limiter, a bug), the answer is a refusal.
    return { ok: false, error: new KeywardError('store_unavailable', { cause, retryAfter: 1 }) }
  }
}
