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
 * Whether a valid key may be used from where the request comes (docs/origin-and-ip.md):
 * origins only -> the Origin must match, and a request without one is refused;
 * IPs only -> the client address must match, whatever Origin is claimed;
 * both -> Origin present: the origin list; absent: the IP list.
 * `Origin: null` and several Origin values never match.
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
): 'origin_forbidden' | 'ip_forbidden' | null {
  if (rules.allowedOrigins.length > 0) {
    for (const name of originHeaders) {
      const value = readHeader(headers, name)
      if (value === undefined) continue
      // Anything but one string (several values, or a null an app put in a header record) never matches.
      const single =
        typeof value === 'string' ? value : Array.isArray(value) && value.length === 1 && typeof value[0] === 'string' ? value[0] : ''
      const host = memo.originHost(single)
      return host !== '' && rules.allowedOrigins.includes(host) ? null : 'origin_forbidden'
    }
    if (!rules.hasIpRules) return 'origin_forbidden'
  } else if (!rules.hasIpRules) {
    return null
  }
  if (client === null) return 'ip_forbidden'
  for (const network of rules.networks) if (ipInNetwork(client.address, network)) return null
  return 'ip_forbidden'
}
