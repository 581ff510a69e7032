/**
 * Strict IPv4/IPv6 address and CIDR parsing and matching, with no node: import.
 *
 * Strict means: IPv4 is four decimal octets 0-255 without leading zeros (`010.0.0.1` is octal to
 * some parsers and decimal to others, so it is refused); zone ids (`fe80::1%eth0`) are refused;
 * `::ffff:a.b.c.d` is the IPv4 address a.b.c.d (docs/origin-and-ip.md); IPv4-compatible `::a.b.c.d`
 * stays IPv6.
 */

/**
 * A parsed address: 4 bytes for IPv4, 16 for IPv6.
 *
 * @example
 * ```ts
 * parseIp('203.0.113.10') // { version: 4, bytes: Uint8Array [203, 0, 113, 10] }
 * ```
 */
export interface IpAddress {
  version: 4 | 6
  bytes: Uint8Array
}

/**
 * A parsed network: the address with its host bits zero, and the prefix length.
 *
 * @example
 * ```ts
 * parseCidr('10.0.0.0/8') // { version: 4, bytes: [10, 0, 0, 0], prefixLength: 8 }
 * ```
 */
export interface IpNetwork extends IpAddress {
  prefixLength: number
}

const IPV4_OCTET = /^(?:0|[1-9]\d{0,2})$/

function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  const parts = text.split('.')
  if (parts.length !== 4) return false
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!
    if (!IPV4_OCTET.test(part)) return false
    const value = Number(part)
    if (value > 255) return false
    out[offset + i] = value
  }
  return true
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/

function parseIpv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > 45) return null
  const bytes = new Uint8Array(16)
  const doubleColon = text.indexOf('::')
  if (doubleColon !== -1 && text.indexOf('::', doubleColon + 1) !== -1) return null
  const head = doubleColon === -1 ? text : text.slice(0, doubleColon)
  const tail = doubleColon === -1 ? '' : text.slice(doubleColon + 2)
  const headParts = head === '' ? [] : head.split(':')
  const tailParts = tail === '' ? [] : tail.split(':')
  const groups: number[] = []
  const tailGroups: number[] = []
  const all = doubleColon === -1 ? headParts : [...headParts, ...tailParts]
  for (let i = 0; i < all.length; i++) {
    const part = all[i]!
    // A dotted quad may only be the very last thing in the text (`1.2.3.4::` is not an address).
    const isLast = i === all.length - 1 && (doubleColon === -1 || tailParts.length > 0)
    const target = doubleColon !== -1 && i >= headParts.length ? tailGroups : groups
    if (isLast && part.includes('.')) {
      const v4 = new Uint8Array(4)
      if (!parseIpv4Into(part, v4, 0)) return null
      target.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
    } else {
      if (!HEXTET.test(part)) return null
      target.push(parseInt(part, 16))
    }
  }
  const total = groups.length + tailGroups.length
  if (doubleColon === -1 ? total !== 8 : total > 7) return null
  const ordered = [...groups, ...new Array<number>(8 - total).fill(0), ...tailGroups]
  for (let i = 0; i < 8; i++) {
    bytes[i * 2] = ordered[i]! >> 8
    bytes[i * 2 + 1] = ordered[i]! & 0xff
  }
  return bytes
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false
  return bytes[10] === 0xff && bytes[11] === 0xff
}

/**
 * Parses an IPv4 or IPv6 address strictly; IPv4-mapped IPv6 becomes IPv4. Null when invalid.
 *
 * @example
 * ```ts
 * parseIp('::ffff:203.0.113.10') // { version: 4, bytes: [203, 0, 113, 10] }
 * parseIp('010.0.0.1') // null
 * ```
 */
export function parseIp(text: unknown): IpAddress | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 45) return null
  if (!text.includes(':')) {
    const bytes = new Uint8Array(4)
    return parseIpv4Into(text, bytes, 0) ? { version: 4, bytes } : null
  }
  const bytes = parseIpv6(text)
  if (bytes === null) return null
  if (isIpv4Mapped(bytes)) return { version: 4, bytes: bytes.slice(12) }
  return { version: 6, bytes }
}

/**
 * Parses `address` or `address/prefix`. A bare address is a network of one. Host bits must be
 * zero (`10.0.0.1/8` is refused: it was probably meant as `10.0.0.0/8` or `10.0.0.1`).
 * A mapped IPv6 network `::ffff:0:0/96` or longer becomes the IPv4 network it covers.
 *
 * @example
 * ```ts
 * parseCidr('10.0.0.0/8') // { version: 4, bytes: [10, 0, 0, 0], prefixLength: 8 }
 * parseCidr('2001:db8::/32') // { version: 6, ..., prefixLength: 32 }
 * ```
 */
export function parseCidr(text: unknown): IpNetwork | null {
  if (typeof text !== 'string') return null
  const slash = text.indexOf('/')
  const addressText = slash === -1 ? text : text.slice(0, slash)
  const lengthText = slash === -1 ? null : text.slice(slash + 1)
  if (!addressText.includes(':')) {
    const bytes = new Uint8Array(4)
    if (!parseIpv4Into(addressText, bytes, 0)) return null
    return withPrefix({ version: 4, bytes }, lengthText, 32)
  }
  const bytes = parseIpv6(addressText)
  if (bytes === null) return null
  if (isIpv4Mapped(bytes)) {
    const network = withPrefix({ version: 6, bytes }, lengthText, 128)
    if (network === null || network.prefixLength < 96) return network
    return { version: 4, bytes: bytes.slice(12), prefixLength: network.prefixLength - 96 }
  }
  return withPrefix({ version: 6, bytes }, lengthText, 128)
}

function withPrefix(address: IpAddress, lengthText: string | null, max: number): IpNetwork | null {
  let prefixLength = max
  if (lengthText !== null) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(lengthText)) return null
    prefixLength = Number(lengthText)
    if (prefixLength > max) return null
  }
  for (let bit = prefixLength; bit < max; bit++) {
    if (address.bytes[bit >> 3]! & (0x80 >> (bit & 7))) return null
  }
  return { ...address, prefixLength }
}

/**
 * True when `address` lies inside `network`. IPv4 never matches an IPv6 network and vice versa
 * (mapped addresses were already turned into IPv4 by the parsers).
 *
 * @example
 * ```ts
 * ipInNetwork(parseIp('10.1.2.3')!, parseCidr('10.0.0.0/8')!) // true
 * ```
 */
export function ipInNetwork(address: IpAddress, network: IpNetwork): boolean {
  if (address.version !== network.version) return false
  const full = network.prefixLength >> 3
  for (let i = 0; i < full; i++) if (address.bytes[i] !== network.bytes[i]) return false
  const rest = network.prefixLength & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (address.bytes[full]! & mask) === network.bytes[full]
}

/**
 * Canonical text of a network: RFC 5952 for IPv6, `/n` omitted for a single address.
 *
 * @example
 * ```ts
 * formatNetwork(parseCidr('2001:DB8:0:0::/32')!) // '2001:db8::/32'
 * ```
 */
export function formatNetwork(network: IpNetwork): string {
  const text = formatAddress(network)
  return network.prefixLength === (network.version === 4 ? 32 : 128) ? text : `${text}/${network.prefixLength}`
}

/**
 * Canonical text of an address (dotted quad, or RFC 5952 IPv6).
 *
 * @example
 * ```ts
 * formatAddress(parseIp('2001:DB8:0:0:0:0:0:1')!) // '2001:db8::1'
 * ```
 */
export function formatAddress(address: IpAddress): string {
  if (address.version === 4) return Array.from(address.bytes).join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((address.bytes[i]! << 8) | address.bytes[i + 1]!)
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/**
 * The address a lockout counts failures against: the IPv4 address itself, or the IPv6 /64
 * (one subscriber usually holds a whole /64, so counting single IPv6 addresses would let an
 * attacker rotate through 2^64 of them). Null when `ip` is not a valid address.
 *
 * @example
 * ```ts
 * lockoutBucket('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 * ```
 */
export function lockoutBucket(ip: string): string | null {
  const address = parseIp(ip)
  if (address === null) return null
  if (address.version === 4) return formatAddress(address)
  const bytes = address.bytes.slice()
  bytes.fill(0, 8)
  return formatNetwork({ version: 6, bytes, prefixLength: 64 })
}
