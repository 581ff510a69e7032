import { readHeader, type HeaderSource } from './credentials.js'
import { ipInNetwork, lockoutBucket, parseIp, type IpAddress, type IpNetwork } from './ip.js'
import { originHostname } from './origin.js'
import { LRUCache } from 'lru-cache'

/**
 * A client address parsed once: the address for IP rules, the bucket for lockout.
 *
 * @example
 * ```ts
 * memo.address('2001:db8::1')?.bucket // '2001:db8::/64'
 * ```
 */
export interface ClientAddress {
  address: IpAddress
  bucket: string
}

/**
 * Bounded memo tables for what every request re-parses: client addresses and Origin values.
 * A service sees few distinct origins and a working set of addresses; a flood of distinct ones
 * only churns the LRU, it cannot grow it.
 *
 * @example
 * ```ts
 * const memo = new ParseMemo()
 * memo.originHost('https://Example.com') // 'example.com'
 * ```
 */
export class ParseMemo {
  readonly #addresses = new LRUCache<string, ClientAddress | false>({ max: 10_000 })
  readonly #origins = new LRUCache<string, string>({ max: 1_000 })

  /** The parsed client address, or null when `ip` is missing or not a valid address. */
  address(ip: string | undefined): ClientAddress | null {
    if (ip === undefined) return null
    let entry = this.#addresses.get(ip)
    if (entry === undefined) {
      const address = parseIp(ip)
      entry = address === null ? false : { address, bucket: lockoutBucket(ip)! }
      this.#addresses.set(ip, entry)
    }
    return entry === false ? null : entry
  }

  /** The hostname of an Origin header value, or '' when it can match nothing. */
  originHost(value: string): string {
    let host = this.#origins.get(value)
    if (host === undefined) {
      host = originHostname(value) ?? ''
      this.#origins.set(value, host)
    }
    return host
  }
}

/**
 * What the place rules of one key need.
 *
 * @example
 * ```ts
 * const rules: PlaceRules = { allowedOrigins: ['example.com'], networks: [], hasIpRules: false }
 * ```
 */
export interface PlaceRules {
  allowedOrigins: readonly string[]
  /** Parsed `allowedIps`; a rule that failed to parse is absent and so allows nothing. */
  networks: readonly IpNetwork[]
  hasIpRules: boolean
}

/**
 * How a key's two lists combine (docs/origin-and-ip.md):
 * - `'strict'` (the default): an IP list binds whatever Origin a client claims, unless the key
 *   also has an origin list and the request an Origin; a key with only origins refuses a request
 *   without one.
 * - `'origin-or-ip'` (TokenKit's documented rule): a request with an Origin is checked against the
 *   origin list only, one without against the IP list only, and an empty list passes. Any client
 *   that can set headers escapes a one-list key by sending, or leaving out, an Origin.
 *
 * @example
 * ```ts
 * createKeyward({ prefix: 'tk', restrictionMode: 'origin-or-ip', originHeaders: ['origin', 'x-origin'] })
 * ```
 */
export type RestrictionMode = 'strict' | 'origin-or-ip'

/**
 * Whether a valid key may be used from where the request comes (docs/origin-and-ip.md), in the
 * given {@link RestrictionMode}. In `'strict'` mode:
 * origins only -> the Origin must match, and a request without one is refused;
 * IPs only -> the client address must match, whatever Origin is claimed;
 * both -> Origin present: the origin list; absent: the IP list.
 * `Origin: null` and several Origin values never match an origin list.
 *
 * @example
 * ```ts
 * placeRefusal(rules, headers, ['origin'], memo.address(ip), memo) // null | 'origin_forbidden' | 'ip_forbidden'
 * ```
 */
export function placeRefusal(
  rules: PlaceRules,
  headers: HeaderSource,
  originHeaders: readonly string[],
  client: ClientAddress | null,
  memo: ParseMemo,
  mode: RestrictionMode = 'strict',
): 'origin_forbidden' | 'ip_forbidden' | null {
  if (mode === 'origin-or-ip') {
    const origin = requestOrigin(headers, originHeaders)
    if (origin !== undefined) return originRefusal(rules, origin, memo)
    return rules.hasIpRules ? ipRefusal(rules, client) : null
  }
  if (rules.allowedOrigins.length > 0) {
    const origin = requestOrigin(headers, originHeaders)
    if (origin !== undefined) return originRefusal(rules, origin, memo)
    if (!rules.hasIpRules) return 'origin_forbidden'
  } else if (!rules.hasIpRules) {
    return null
  }
  return ipRefusal(rules, client)
}

/**
 * The request's Origin as one string: the first of `originHeaders` present, or undefined when
 * none is. Anything but one string (several values, or a null an app put in a header record)
 * comes back as '', which no origin list matches.
 */
function requestOrigin(headers: HeaderSource, originHeaders: readonly string[]): string | undefined {
  for (const name of originHeaders) {
    const value = readHeader(headers, name)
    if (value === undefined) continue
    return typeof value === 'string' ? value : Array.isArray(value) && value.length === 1 && typeof value[0] === 'string' ? value[0] : ''
  }
  return undefined
}

/** The origin list's answer: an empty list passes (only `'origin-or-ip'` mode asks it then). */
function originRefusal(rules: PlaceRules, origin: string, memo: ParseMemo): 'origin_forbidden' | null {
  if (rules.allowedOrigins.length === 0) return null
  const host = memo.originHost(origin)
  return host !== '' && rules.allowedOrigins.includes(host) ? null : 'origin_forbidden'
}

/** The IP list's answer, for a key that has one: no client address never matches. */
function ipRefusal(rules: PlaceRules, client: ClientAddress | null): 'ip_forbidden' | null {
  if (client === null) return 'ip_forbidden'
  for (const network of rules.networks) if (ipInNetwork(client.address, network)) return null
  return 'ip_forbidden'
}
