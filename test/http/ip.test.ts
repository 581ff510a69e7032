import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  formatAddress,
  formatNetwork,
  ipInNetwork,
  lockoutBucket,
  parseCidr,
  parseIp,
  type IpAddress,
  type IpNetwork,
} from '../../src/http/ip.js'
import { CPU_BOUND } from '../support/budget.js'

const v4 = (...bytes: number[]): IpAddress => ({ version: 4, bytes: Uint8Array.from(bytes) })
const bytesOf = (address: IpAddress | null) => (address === null ? null : { version: address.version, bytes: Array.from(address.bytes) })

/** 16 bytes from 8 groups, for writing IPv6 expectations readably. */
function groups(...g: number[]): number[] {
  return g.flatMap((x) => [x >> 8, x & 0xff])
}

// ---------------------------------------------------------------------------------------------
// References written in the test, independent of src/http/ip.ts.

/** Bit `i` (0 = most significant) of a byte array. */
const bit = (bytes: ArrayLike<number>, i: number) => (bytes[i >> 3]! >> (7 - (i & 7))) & 1

/** Bit-by-bit CIDR membership. */
function referenceContains(address: IpAddress, network: IpNetwork): boolean {
  if (address.version !== network.version) return false
  for (let i = 0; i < network.prefixLength; i++) if (bit(address.bytes, i) !== bit(network.bytes, i)) return false
  return true
}

/** The WHATWG URL parser's IPv6 reading of `text` (groups), or null when it refuses it. */
function whatwgIpv6(text: string): number[] | null {
  let host: string
  try {
    host = new URL(`http://[${text}]/`).hostname
  } catch {
    return null
  }
  // The serializer never emits an IPv4 tail, so the result is plain hex groups around one `::`.
  const inner = host.slice(1, -1)
  const [head, tail] = inner.includes('::') ? inner.split('::') : [inner, undefined]
  const h = head === '' ? [] : head!.split(':').map((x) => parseInt(x, 16))
  const t = tail === undefined || tail === '' ? [] : tail.split(':').map((x) => parseInt(x, 16))
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
}

const isMapped = (g: number[]) => g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff

// ---------------------------------------------------------------------------------------------

describe('parseIp: IPv4', () => {
  it.each([
    ['0.0.0.0', [0, 0, 0, 0]],
    ['127.0.0.1', [127, 0, 0, 1]],
    ['203.0.113.10', [203, 0, 113, 10]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['10.0.0.0', [10, 0, 0, 0]],
  ])('reads %s', (text, bytes) => {
    expect(bytesOf(parseIp(text))).toEqual({ version: 4, bytes })
  })

  it.each([
    ['010.0.0.1', 'leading zero (octal to some parsers)'],
    ['1.2.3.04', 'leading zero in the last octet'],
    ['00.0.0.0', 'double zero'],
    ['256.0.0.1', 'octet over 255'],
    ['1.2.3.999', 'octet over 255'],
    ['1.2.3.1000', 'four digits'],
    ['1.2.3', 'three parts'],
    ['1.2', 'two parts'],
    ['16909060', 'one number'],
    ['1.2.3.4.5', 'five parts'],
    ['1..3.4', 'empty part'],
    ['1.2.3.', 'trailing dot'],
    ['.1.2.3', 'leading dot'],
    ['0x7f.0.0.1', 'hex'],
    ['1e2.0.0.1', 'exponent'],
    ['+1.2.3.4', 'sign'],
    ['-1.2.3.4', 'sign'],
    ['1.2.3.-0', 'sign'],
    [' 1.2.3.4', 'leading space'],
    ['1.2.3.4 ', 'trailing space'],
    ['1.2.3.4\n', 'trailing newline'],
    ['\u0661.\u0662.\u0663.\u0664', 'non-ASCII digits'],
    ['\uff11.2.3.4', 'fullwidth digit'],
    ['1.2.3.4/32', 'a network is not an address'],
    ['', 'empty'],
    ['localhost', 'a name'],
  ])('refuses %j (%s)', (text) => {
    expect(parseIp(text)).toBeNull()
  })

  it('refuses non-strings without throwing', () => {
    for (const bad of [undefined, null, 1, {}, ['1.2.3.4'], new Uint8Array(4)]) expect(parseIp(bad)).toBeNull()
  })
})

describe('parseIp: IPv6', () => {
  it.each([
    ['::', groups(0, 0, 0, 0, 0, 0, 0, 0)],
    ['::1', groups(0, 0, 0, 0, 0, 0, 0, 1)],
    ['1::', groups(1, 0, 0, 0, 0, 0, 0, 0)],
    ['2001:db8::1', groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ['2001:DB8::1', groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ['1:2:3:4:5:6:7:8', groups(1, 2, 3, 4, 5, 6, 7, 8)],
    ['1::8', groups(1, 0, 0, 0, 0, 0, 0, 8)],
    ['1:2:3:4:5:6:7::', groups(1, 2, 3, 4, 5, 6, 7, 0)],
    ['::2:3:4:5:6:7:8', groups(0, 2, 3, 4, 5, 6, 7, 8)],
    ['1:2:3::6:7:8', groups(1, 2, 3, 0, 0, 6, 7, 8)],
    ['fe80::1', groups(0xfe80, 0, 0, 0, 0, 0, 0, 1)],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', groups(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff)],
    // Embedded IPv4 tails.
    ['1:2:3:4:5:6:1.2.3.4', groups(1, 2, 3, 4, 5, 6, 0x0102, 0x0304)],
    ['64:ff9b::192.0.2.33', groups(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221)],
    ['::ffff:0:1.2.3.4', groups(0, 0, 0, 0, 0xffff, 0, 0x0102, 0x0304)],
    // IPv4-compatible (deprecated) stays IPv6: only ::ffff:0:0/96 is "the IPv4 address".
    ['::1.2.3.4', groups(0, 0, 0, 0, 0, 0, 0x0102, 0x0304)],
    ['::0.0.0.1', groups(0, 0, 0, 0, 0, 0, 0, 1)],
    ['0000:0000:0000:0000:0000:0000:255.255.255.255', groups(0, 0, 0, 0, 0, 0, 0xffff, 0xffff)],
  ])('reads %s', (text, bytes) => {
    expect(bytesOf(parseIp(text))).toEqual({ version: 6, bytes })
  })

  it.each([
    ['::ffff:1.2.3.4', [1, 2, 3, 4]],
    ['::FFFF:203.0.113.10', [203, 0, 113, 10]],
    ['0:0:0:0:0:ffff:1.2.3.4', [1, 2, 3, 4]],
    ['0000:0000:0000:0000:0000:ffff:255.255.255.255', [255, 255, 255, 255]],
    ['::ffff:c000:280', [192, 0, 2, 128]],
    ['::ffff:C000:0280', [192, 0, 2, 128]],
    ['0:0:0:0:0:ffff:0:0', [0, 0, 0, 0]],
    ['::ffff:0.0.0.0', [0, 0, 0, 0]],
  ])('reads the IPv4-mapped %s as the IPv4 address it carries', (text, bytes) => {
    expect(bytesOf(parseIp(text))).toEqual({ version: 4, bytes })
  })

  it.each([
    ['1.2.3.4::', 'dotted quad before ::'],
    ['1.2.3.4::1', 'dotted quad not last'],
    ['::1.2.3.4:1', 'dotted quad not last'],
    ['1.2.3.4:1:2:3:4:5:6', 'dotted quad first'],
    ['::1.2.3', 'short dotted quad'],
    ['::1.2.3.04', 'leading zero in the dotted quad'],
    ['::256.1.1.1', 'octet over 255'],
    ['::ffff:01.2.3.4', 'leading zero in a mapped address'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'nine groups with a dotted quad'],
    ['1:2:3:4:5:6:7:8:1.2.3.4', 'ten groups'],
    ['1:2:3:4:5:1.2.3.4', 'seven groups with a dotted quad'],
    ['fe80::1%eth0', 'zone id'],
    ['fe80::1%1', 'numeric zone id'],
    ['fe80::1%25eth0', 'percent-encoded zone id'],
    ['::ffff:1.2.3.4%eth0', 'zone id after a dotted quad'],
    [':::', 'three colons'],
    ['1:::2', 'three colons inside'],
    ['1::2::3', 'two ::'],
    ['::1::', 'two ::'],
    ['1:2:3:4:5:6:7', 'seven groups'],
    ['1:2:3:4:5:6:7:8:9', 'nine groups'],
    ['1::2:3:4:5:6:7:8', ':: standing for no group at all'],
    ['::1:2:3:4:5:6:7:8', ':: standing for no group at all'],
    ['1:2:3:4:5:6:7:8::', ':: standing for no group at all'],
    [':1:2:3:4:5:6:7', 'leading single colon'],
    [':1::', 'leading single colon'],
    ['1:2:3:4:5:6:7:', 'trailing single colon'],
    ['::1:', 'trailing single colon'],
    [':', 'a colon'],
    ['12345::', 'five hex digits'],
    ['00000::1', 'five hex digits'],
    ['g::1', 'not hex'],
    ['::-1', 'sign'],
    ['::+1', 'sign'],
    ['::0x1', 'hex prefix'],
    ['[::1]', 'brackets'],
    ['[::1]:80', 'brackets and port'],
    [' ::1', 'leading space'],
    ['::1 ', 'trailing space'],
    ['::1\n', 'trailing newline'],
    [':: 1', 'inner space'],
    ['::\uff11', 'fullwidth digit'],
    ['2001:db8::/32', 'a network is not an address'],
    ['0000:0000:0000:0000:0000:0000:0000:0000:0', 'too long'],
  ])('refuses %j (%s)', (text) => {
    expect(parseIp(text)).toBeNull()
  })

  it('accepts exactly what the WHATWG URL parser accepts, with the same bytes, bar "::" for zero groups (property)', CPU_BOUND, () => {
    // Random strings over the characters IPv6 text is made of, with a bias to nearly-valid forms.
    const hextet = fc.oneof(
      fc.constantFrom('0', '1', 'ffff', 'FFFF', 'db8', '0db8', '00000', '12345', 'g', '', 'fe80', 'a'),
      fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
    )
    const quad = fc.constantFrom('1.2.3.4', '255.255.255.255', '0.0.0.0', '01.2.3.4', '1.2.3', '256.1.1.1', '1.2.3.4.5', '192.0.2.33')
    const text = fc
      .tuple(fc.array(hextet, { maxLength: 9 }), fc.option(quad), fc.option(fc.nat()), fc.option(fc.nat()))
      .map(([parts, tail, c1, c2]) => {
        const all = tail === null ? parts : [...parts, tail]
        let s = all.join(':')
        // Insert up to two extra colons, which makes `::` (or `:::`) somewhere.
        for (const c of [c1, c2]) if (c !== null) s = `${s.slice(0, c % (s.length + 1))}:${s.slice(c % (s.length + 1))}`
        return s
      })
      .filter((s) => s.includes(':'))
    fc.assert(
      fc.property(text, (s) => {
        const reference = whatwgIpv6(s)
        const ours = parseIp(s)
        // WHATWG lets `::` stand for zero groups (`1::2:3:4:5:6:7:8`); RFC 4291 says "one or more".
        const hex = s.split('::')
        const groupCount = hex
          .join(':')
          .split(':')
          .filter((g) => g !== '')
          .reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0)
        if (reference !== null && s.includes('::') && groupCount === 8) {
          expect(ours).toBeNull()
          return
        }
        if (reference === null) {
          expect(ours).toBeNull()
          return
        }
        expect(ours).not.toBeNull()
        if (isMapped(reference)) expect(bytesOf(ours)).toEqual({ version: 4, bytes: groups(reference[6]!, reference[7]!) })
        else expect(bytesOf(ours)).toEqual({ version: 6, bytes: groups(...reference) })
      }),
      { numRuns: 5000 },
    )
  })

  it('reads every textual form of a random address back to its bytes (property)', CPU_BOUND, () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.array(fc.nat(3), { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        fc.nat(),
        (g, padding, upper, dottedTail, pick) => {
          let texts = g.map((x, i) => {
            const hex = x.toString(16).padStart(Math.min(4, x.toString(16).length + padding[i]!), '0')
            return upper ? hex.toUpperCase() : hex
          })
          let tail: string[] = []
          if (dottedTail) {
            tail = [`${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`]
            texts = texts.slice(0, 6)
          }
          // Every run of zero groups (length >= 1, not eating into a dotted tail) may be `::`.
          const runs: Array<[number, number]> = []
          for (let i = 0; i < texts.length; i++) for (let j = i; j < texts.length && g[j] === 0; j++) runs.push([i, j + 1])
          const zeroRuns = runs.filter(([i, j]) => j - i < 8)
          let text: string
          if (zeroRuns.length > 0 && pick % 3 !== 0) {
            const [i, j] = zeroRuns[pick % zeroRuns.length]!
            const left = texts.slice(0, i).join(':')
            const right = [...texts.slice(j), ...tail].join(':')
            text = `${left}::${right}`
          } else {
            text = [...texts, ...tail].join(':')
          }
          const parsed = parseIp(text)
          const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff
          expect(bytesOf(parsed), text).toEqual(mapped ? { version: 4, bytes: groups(g[6]!, g[7]!) } : { version: 6, bytes: groups(...g) })
        },
      ),
      { numRuns: 3000 },
    )
  })
})

describe('formatAddress', () => {
  it.each([
    // RFC 5952 §4: lowercase, no leading zeros, longest run of 2+ zero groups compressed, first on a tie.
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:1:0:0:0:0:0', '0:0:1::'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['0:1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7'],
    ['fe80::0001', 'fe80::1'],
    ['::1.2.3.4', '::102:304'],
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
  ])('%s -> %s', (text, canonical) => {
    expect(formatAddress(parseIp(text)!)).toBe(canonical)
  })

  it('writes IPv4 as a dotted quad, including mapped addresses', () => {
    expect(formatAddress(v4(192, 0, 2, 1))).toBe('192.0.2.1')
    expect(formatAddress(parseIp('::ffff:c000:201')!)).toBe('192.0.2.1')
  })

  it('agrees with the WHATWG URL serializer on random addresses, and parses back (property)', CPU_BOUND, () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (g) => {
        fc.pre(!isMapped(g))
        const address: IpAddress = { version: 6, bytes: Uint8Array.from(groups(...g)) }
        const text = formatAddress(address)
        expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname)
        expect(whatwgIpv6(text)).toEqual(g)
        expect(bytesOf(parseIp(text))).toEqual(bytesOf(address))
      }),
      { numRuns: 3000 },
    )
  })

  it('round-trips random IPv4 addresses format -> parse (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        const text = formatAddress({ version: 4, bytes })
        expect(text).toBe(Array.from(bytes).join('.'))
        expect(bytesOf(parseIp(text))).toEqual({ version: 4, bytes: Array.from(bytes) })
      }),
    )
  })

  it('round-trips random IPv6 addresses format -> parse (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const parsed = parseIp(formatAddress({ version: 6, bytes }))
        expect(parsed).not.toBeNull()
        expect(Array.from(parsed!.bytes)).toEqual(parsed!.version === 4 ? Array.from(bytes.slice(12)) : Array.from(bytes))
      }),
    )
  })
})

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 4, [10, 0, 0, 0], 8],
    ['0.0.0.0/0', 4, [0, 0, 0, 0], 0],
    ['203.0.113.10', 4, [203, 0, 113, 10], 32],
    ['203.0.113.10/32', 4, [203, 0, 113, 10], 32],
    ['192.168.0.0/23', 4, [192, 168, 0, 0], 23],
    ['2001:db8::/32', 6, groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32],
    ['2001:DB8:0:0::/32', 6, groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32],
    ['::/0', 6, groups(0, 0, 0, 0, 0, 0, 0, 0), 0],
    ['::1', 6, groups(0, 0, 0, 0, 0, 0, 0, 1), 128],
    ['::1/128', 6, groups(0, 0, 0, 0, 0, 0, 0, 1), 128],
    ['fe80::/10', 6, groups(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10],
    ['2001:db8:1:2::/64', 6, groups(0x2001, 0xdb8, 1, 2, 0, 0, 0, 0), 64],
    // IPv4-mapped networks of /96 or longer are the IPv4 networks they cover.
    ['::ffff:10.0.0.0/104', 4, [10, 0, 0, 0], 8],
    ['::ffff:0:0/96', 4, [0, 0, 0, 0], 0],
    ['::ffff:203.0.113.10', 4, [203, 0, 113, 10], 32],
    ['::ffff:203.0.113.10/128', 4, [203, 0, 113, 10], 32],
    ['::ffff:c0a8:0/112', 4, [192, 168, 0, 0], 16],
  ])('reads %s', (text, version, bytes, prefixLength) => {
    const network = parseCidr(text)
    expect(network && { version: network.version, bytes: Array.from(network.bytes), prefixLength: network.prefixLength }).toEqual({
      version,
      bytes,
      prefixLength,
    })
  })

  it.each([
    ['10.0.0.1/8', 'host bits set'],
    ['192.168.1.0/23', 'host bits set'],
    ['2001:db8::1/32', 'host bits set'],
    ['2001:db8:8000::/32', 'host bits set'],
    ['::1/127', 'host bits set'],
    ['::ffff:10.0.0.1/104', 'host bits set in a mapped network'],
    ['::ffff:0:0/95', 'mapped prefix shorter than /96 has the ffff as host bits'],
    ['::ffff:0:0/80', 'mapped prefix shorter than /96 has the ffff as host bits'],
    ['10.0.0.0/33', 'prefix over 32'],
    ['::/129', 'prefix over 128'],
    ['::ffff:0:0/129', 'prefix over 128'],
    ['10.0.0.0/-1', 'negative prefix'],
    ['10.0.0.0/+8', 'signed prefix'],
    ['10.0.0.0/08', 'leading zero in the prefix'],
    ['10.0.0.0/8.0', 'fractional prefix'],
    ['10.0.0.0/0x8', 'hex prefix'],
    ['10.0.0.0/', 'empty prefix'],
    ['10.0.0.0/8/8', 'two slashes'],
    ['10.0.0.0/ 8', 'space'],
    ['10.0.0.0/8 ', 'trailing space'],
    [' 10.0.0.0/8', 'leading space'],
    ['/8', 'no address'],
    ['010.0.0.0/8', 'leading zero in the address'],
    ['10.0.0/8', 'three octets'],
    ['10/8', 'one octet'],
    ['fe80::%eth0/64', 'zone id'],
    ['fe80::/64%eth0', 'zone id after the prefix'],
    ['1.2.3.4::/64', 'dotted quad before ::'],
    ['2001:db8::/1000', 'prefix over 128'],
    ['*', 'wildcard'],
    ['', 'empty'],
  ])('refuses %j (%s)', (text) => {
    expect(parseCidr(text)).toBeNull()
  })

  it('refuses non-strings', () => {
    for (const bad of [undefined, null, 8, {}, ['10.0.0.0/8']]) expect(parseCidr(bad)).toBeNull()
  })

  it('accepts a network exactly when its host bits are zero (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(128), (isV4, raw, n) => {
        const bytes = isV4 ? raw.slice(0, 4) : raw
        const max = isV4 ? 32 : 128
        const prefixLength = n % (max + 1)
        const address: IpAddress = { version: isV4 ? 4 : 6, bytes }
        fc.pre(isV4 || parseIp(formatAddress(address))!.version === 6)
        let hostBitsZero = true
        for (let i = prefixLength; i < max; i++) if (bit(bytes, i)) hostBitsZero = false
        const parsed = parseCidr(`${formatAddress(address)}/${prefixLength}`)
        expect(parsed !== null).toBe(hostBitsZero)
        if (parsed !== null) {
          expect(parsed.prefixLength).toBe(prefixLength)
          expect(Array.from(parsed.bytes)).toEqual(Array.from(bytes))
        }
      }),
      { numRuns: 3000 },
    )
  })
})

describe('formatNetwork', () => {
  it.each([
    ['2001:DB8:0:0::/32', '2001:db8::/32'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.0.0.1', '10.0.0.1'],
    ['10.0.0.1/32', '10.0.0.1'],
    ['::1/128', '::1'],
    ['::/0', '::/0'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
  ])('%s -> %s', (text, canonical) => {
    expect(formatNetwork(parseCidr(text)!)).toBe(canonical)
  })

  it('is a fixed point: the canonical text parses back to the same network (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(128), (isV4, raw, n) => {
        const max = isV4 ? 32 : 128
        const prefixLength = n % (max + 1)
        const bytes = isV4 ? raw.slice(0, 4) : raw.slice()
        for (let i = prefixLength; i < max; i++) bytes[i >> 3]! &= ~(0x80 >> (i & 7))
        const network = parseCidr(`${formatAddress({ version: isV4 ? 4 : 6, bytes })}/${prefixLength}`)
        fc.pre(network !== null && network.version === (isV4 ? 4 : 6))
        const text = formatNetwork(network!)
        expect(formatNetwork(parseCidr(text)!)).toBe(text)
      }),
    )
  })
})

describe('ipInNetwork', () => {
  const inNet = (ip: string, cidr: string) => ipInNetwork(parseIp(ip)!, parseCidr(cidr)!)

  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['10.255.255.255', '10.0.0.0/8', true],
    ['11.0.0.0', '10.0.0.0/8', false],
    ['9.255.255.255', '10.0.0.0/8', false],
    ['203.0.113.10', '203.0.113.10', true],
    ['203.0.113.11', '203.0.113.10', false],
    ['192.168.1.255', '192.168.0.0/23', true],
    ['192.168.2.0', '192.168.0.0/23', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['255.255.255.255', '0.0.0.0/0', true],
    ['172.31.255.255', '172.16.0.0/12', true],
    ['172.32.0.0', '172.16.0.0/12', false],
    ['2001:db8::1', '2001:db8::/32', true],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db8::/32', true],
    ['2001:db9::', '2001:db8::/32', false],
    ['2001:db8:8000::', '2001:db8::/33', false],
    ['2001:db8:7fff::', '2001:db8::/33', true],
    ['::1', '::1', true],
    ['::2', '::1', false],
    ['::', '::/127', true],
    ['::1', '::/127', true],
    ['::2', '::/127', false],
    ['fe80::abcd', 'fe80::/10', true],
    ['febf::', 'fe80::/10', true],
    ['fec0::', 'fe80::/10', false],
    // Families never cross, except that mapped addresses and networks are IPv4 to begin with.
    ['10.0.0.1', '::/0', false],
    ['::1', '0.0.0.0/0', false],
    ['::ffff:10.1.2.3', '10.0.0.0/8', true],
    ['10.1.2.3', '::ffff:10.0.0.0/104', true],
    ['::ffff:10.1.2.3', '::ffff:10.0.0.0/104', true],
    ['::ffff:11.0.0.0', '::ffff:10.0.0.0/104', false],
    ['1.2.3.4', '::ffff:0:0/96', true],
    ['::1.2.3.4', '1.2.3.4', false],
    ['1.2.3.4', '::1.2.3.4', false],
  ])('%s in %s: %s', (ip, cidr, expected) => {
    expect(inNet(ip, cidr)).toBe(expected)
  })

  it('agrees with a bit-by-bit reference (property)', CPU_BOUND, () => {
    const arb = fc
      .tuple(
        fc.boolean(),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.nat(128),
        fc.nat(200),
      )
      .map(([isV4, a, b, n, flip]) => {
        const size = isV4 ? 4 : 16
        const max = size * 8
        const prefixLength = n % (max + 1)
        const network = a.slice(0, size)
        for (let i = prefixLength; i < max; i++) network[i >> 3]! &= ~(0x80 >> (i & 7))
        // Half the time the address is the network with one bit flipped, so the boundary is hit.
        const address = flip % 2 === 0 ? b.slice(0, size) : a.slice(0, size)
        if (flip % 2 === 1) address[((flip >> 1) % max) >> 3]! ^= 0x80 >> (((flip >> 1) % max) & 7)
        return {
          address: { version: isV4 ? 4 : 6, bytes: address } as IpAddress,
          network: { version: isV4 ? 4 : 6, bytes: network, prefixLength } as IpNetwork,
        }
      })
    fc.assert(
      fc.property(arb, ({ address, network }) => {
        expect(ipInNetwork(address, network)).toBe(referenceContains(address, network))
        // The same through the text parsers.
        const parsedNetwork = parseCidr(`${formatAddress(network)}/${network.prefixLength}`)
        const parsedAddress = parseIp(formatAddress(address))
        if (parsedNetwork !== null && parsedAddress !== null) {
          expect(ipInNetwork(parsedAddress, parsedNetwork)).toBe(referenceContains(parsedAddress, parsedNetwork))
        }
      }),
      { numRuns: 5000 },
    )
  })
})

describe('lockoutBucket', () => {
  it('is the address itself for IPv4, mapped IPv6 included', () => {
    expect(lockoutBucket('203.0.113.10')).toBe('203.0.113.10')
    expect(lockoutBucket('::ffff:203.0.113.10')).toBe('203.0.113.10')
    expect(lockoutBucket('::ffff:cb00:710a')).toBe('203.0.113.10')
    expect(lockoutBucket('203.0.113.11')).not.toBe(lockoutBucket('203.0.113.10'))
  })

  it('groups IPv6 by /64, in canonical text', () => {
    expect(lockoutBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(lockoutBucket('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64')
    expect(lockoutBucket('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(lockoutBucket('::1')).toBe('::/64')
    expect(lockoutBucket('::1.2.3.4')).toBe('::/64')
  })

  it('is null for anything that is not an address', () => {
    for (const bad of ['', 'unknown', '10.0.0.0/8', '010.0.0.1', 'fe80::1%eth0', '1.2.3.4:5678']) expect(lockoutBucket(bad)).toBeNull()
  })

  it('two IPv6 addresses share a bucket exactly when their first 64 bits agree (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.boolean(),
        (a, b, samePrefix) => {
          if (samePrefix) b.set(a.subarray(0, 8))
          fc.pre(
            parseIp(formatAddress({ version: 6, bytes: a }))!.version === 6 &&
              parseIp(formatAddress({ version: 6, bytes: b }))!.version === 6,
          )
          const same = a.subarray(0, 8).every((x, i) => x === b[i])
          expect(lockoutBucket(formatAddress({ version: 6, bytes: a })) === lockoutBucket(formatAddress({ version: 6, bytes: b }))).toBe(
            same,
          )
        },
      ),
      { numRuns: 2000 },
    )
  })
})
