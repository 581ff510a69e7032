/**
 * Which address a request comes from, when proxies may stand in front of the server.
 *
 * X-Forwarded-For is a list every hop appends to, so only its right end is written by proxies we
 * run; anything further left may have been typed by the client. The chain is read from the
 * right, and stops at the first address that is not a trusted proxy.
 */
import { ipInNetwork, parseCidr, parseIp, type IpNetwork } from './ip.js'

/**
 * Which proxies to believe: `0` or `false` (the default) trusts none and uses the socket address;
 * a number trusts that many hops; a list trusts those addresses or CIDR networks.
 *
 * @example
 * ```ts
 * const behindLoadBalancer: TrustProxy = ['10.0.0.0/8']
 * const behindOneHop: TrustProxy = 1
 * ```
 */
export type TrustProxy = false | number | readonly string[]

/**
 * Resolves the client address from the socket address and the X-Forwarded-For header(s).
 *
 * @example
 * ```ts
 * const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'])
 * ```
 */
export type ClientIpResolver = (
  socketAddress: string | undefined,
  forwardedFor: string | readonly string[] | null | undefined,
) => string | undefined

const MAX_HOPS = 32

const withoutTrust: ClientIpResolver = (socketAddress) => socketAddress

/**
 * Builds the resolver for a `trustProxy` setting, validated now so that a typo is a TypeError at
 * start-up. Returns `undefined` when the chain holds something that is not an address: better no
 * address (IP rules then refuse) than a proxy's own address, which lockout would block for everyone.
 *
 * @example
 * ```ts
 * const clientIp = createClientIpResolver(['10.0.0.0/8'])
 * clientIp('10.0.0.2', '198.51.100.7, 10.0.0.5') // '198.51.100.7'
 * createClientIpResolver()('10.0.0.2', '198.51.100.7') // '10.0.0.2': no proxy is trusted
 * ```
 */
export function createClientIpResolver(trustProxy: TrustProxy | undefined = false): ClientIpResolver {
  if (trustProxy === false || trustProxy === 0) return withoutTrust
  if (typeof trustProxy === 'number') {
    if (!Number.isSafeInteger(trustProxy) || trustProxy < 0 || trustProxy > MAX_HOPS) {
      throw new TypeError(`keyward: trustProxy must be a hop count from 0 to ${MAX_HOPS}, or a list of addresses/CIDRs`)
    }
    const hops = trustProxy
    return (socketAddress, forwardedFor) => {
      if (socketAddress === undefined) return undefined
      const chain = forwardedList(forwardedFor)
      // Fewer entries than hops: the leftmost is the furthest anyone vouches for.
      const index = Math.max(0, chain.length - hops)
      return chain.length === 0 ? socketAddress : checked(chain[index]!)
    }
  }
  if (!Array.isArray(trustProxy) || trustProxy.length === 0) {
    throw new TypeError('keyward: trustProxy must be false, a hop count, or a non-empty list of addresses/CIDRs')
  }
  const networks: IpNetwork[] = trustProxy.map((entry: unknown) => {
    const network = parseCidr(entry)
    if (network === null) throw new TypeError(`keyward: trustProxy entry ${JSON.stringify(entry)} is not an IP address or CIDR`)
    return network
  })
  const trusted = (text: string): boolean => {
    const address = parseIp(text)
    return address !== null && networks.some((network) => ipInNetwork(address, network))
  }
  return (socketAddress, forwardedFor) => {
    if (socketAddress === undefined || !trusted(socketAddress)) return socketAddress
    const chain = forwardedList(forwardedFor)
    let client = socketAddress
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = checked(chain[i]!)
      if (hop === undefined) return undefined
      client = hop
      if (!trusted(hop)) break
    }
    return client
  }
}

function forwardedList(header: string | readonly string[] | null | undefined): string[] {
  if (header === undefined || header === null) return []
  const text = typeof header === 'string' ? header : header.join(',')
  const list = text.split(',')
  // A header longer than any real proxy chain only costs parsing; its left end is never needed.
  return list.length > MAX_HOPS * 2 ? list.slice(-MAX_HOPS * 2) : list
}

// Some proxies append a port (`203.0.113.7:5123`, `[2001:db8::1]:443`); the address is what counts.
const V4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/
const V6_BRACKETED = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/

// `[` + the longest address (45) + `]:65535`: nothing longer is an address, with or without a port.
const MAX_HOP_LENGTH = 53

function checked(entry: string): string | undefined {
  const text = entry.trim()
  // Length first: the patterns below then never see more than a few dozen characters.
  if (text.length > MAX_HOP_LENGTH) return undefined
  if (parseIp(text) !== null) return text
  const bare = V4_WITH_PORT.exec(text)?.[1] ?? V6_BRACKETED.exec(text)?.[1]
  return bare !== undefined && parseIp(bare) !== null ? bare : undefined
}
