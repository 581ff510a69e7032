import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BASE32, decodeBase32, encodeBase32 } from '../../src/internal/base32.js'
import { generateTotpSecret, matchTotpCode, totp, totpCode, totpUri } from '../../src/jwt/totp.js'
import { CPU_BOUND } from '../support/budget.js'

// Independent references, written from the specs rather than from the code under test.

/** RFC 4648 base32 through a string of bits: slow and obvious. */
function referenceBase32(bytes: Uint8Array): string {
  let bits = ''
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0')
  while (bits.length % 5 !== 0) bits += '0'
  let out = ''
  for (let i = 0; i < bits.length; i += 5) out += BASE32[parseInt(bits.slice(i, i + 5), 2)]
  return out
}

/** RFC 6238 TOTP with node:crypto's HMAC-SHA-1 (RFC 4226 section 5.3 truncation). */
function referenceTotp(key: Uint8Array, atMs: number): string {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30_000)))
  const mac = createHmac('sha1', key).update(counter).digest()
  const offset = mac[19]! & 0x0f
  const binary = mac.readUInt32BE(offset) & 0x7fffffff
  return String(binary % 1_000_000).padStart(6, '0')
}

const ascii = (text: string) => new TextEncoder().encode(text)
const RFC_KEY = ascii('12345678901234567890')
const RFC_SECRET = encodeBase32(RFC_KEY)
const STEP = 30_000

describe('base32 (RFC 4648 section 6)', () => {
  // RFC 4648 section 10, padded as the RFC prints them and unpadded as we encode.
  const vectors: Array<[string, string]> = [
    ['', ''],
    ['f', 'MY======'],
    ['fo', 'MZXQ===='],
    ['foo', 'MZXW6==='],
    ['foob', 'MZXW6YQ='],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI======'],
  ]

  it.each(vectors)('encodes %j as %s (without the padding)', (text, encoded) => {
    expect(encodeBase32(ascii(text))).toBe(encoded.replace(/=+$/, ''))
  })

  it.each(vectors)('decodes %j from %s padded, unpadded and in lower case', (text, encoded) => {
    expect(decodeBase32(encoded)).toEqual(ascii(text))
    expect(decodeBase32(encoded.replace(/=+$/, ''))).toEqual(ascii(text))
    expect(decodeBase32(encoded.toLowerCase())).toEqual(ascii(text))
  })

  it('round-trips any bytes and agrees with the bit-string reference (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const encoded = encodeBase32(bytes)
        expect(encoded).toBe(referenceBase32(bytes))
        expect(decodeBase32(encoded)).toEqual(bytes)
        expect(decodeBase32(encoded.toLowerCase())).toEqual(bytes)
        const padded = encoded + '='.repeat((8 - (encoded.length % 8)) % 8)
        expect(decodeBase32(padded)).toEqual(bytes)
      }),
    )
  })

  it('accepts only canonical spellings: whatever decodes re-encodes to itself (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abz=01 -'), maxLength: 24 }), (text) => {
        const bytes = decodeBase32(text)
        if (bytes !== null) expect(encodeBase32(bytes)).toBe(text.toUpperCase().replace(/=+$/, ''))
      }),
    )
  })

  it.each([
    ['a space', 'MZXW 6YTB'],
    ['a dash', 'MZXW-6YTB'],
    ['a newline', 'MZXW6YTB\n'],
    ['0, 1, 8 and 9 (not in the alphabet)', 'MZXW6YT0'],
    ['a non-ASCII look-alike', 'MZXW6YTВ'],
    ['a length no whole bytes give (1 char)', 'M'],
    ['a length no whole bytes give (3 chars)', 'MZX'],
    ['a length no whole bytes give (6 chars)', 'MZXW6Y'],
    ['padding to the wrong length', 'MY====='],
    ['too much padding', 'MY========'],
    ['padding that is all there is', '========'],
    ['padding in the middle', 'MY======MY======'],
    ['padding after a full group', 'MZXW6YTB========'],
    ['set bits past the last byte (non-canonical "f")', 'MZ'],
  ])('refuses %s', (_, text) => {
    expect(decodeBase32(text)).toBeNull()
  })
})

describe('totpCode', () => {
  // RFC 6238 Appendix B, SHA-1 rows: the RFC prints 8 digits; 6-digit codes are the last 6.
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('RFC 6238 Appendix B: T = %i s gives %s', (seconds, eightDigits) => {
    expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(eightDigits.slice(-6))
    expect(matchTotpCode(RFC_SECRET, eightDigits.slice(-6), seconds * 1000)).toBe(Math.floor(seconds / 30))
  })

  it('agrees with a node:crypto reference for any secret and time (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), fc.integer({ min: 0, max: 2 ** 45 }), (key, at) => {
        expect(totpCode(encodeBase32(key), at)).toBe(referenceTotp(key, at))
      }),
    )
  })

  it('is the same for every instant of a 30-second step and changes at its edge', () => {
    const start = 1_700_000_010_000 - (1_700_000_010_000 % STEP)
    expect(totpCode(RFC_SECRET, start)).toBe(totpCode(RFC_SECRET, start + STEP - 1))
    expect(totpCode(RFC_SECRET, start + STEP)).toBe(referenceTotp(RFC_KEY, start + STEP))
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, '59000' as unknown as number])(
    'refuses the time %j with a TypeError',
    (at) => {
      expect(() => totpCode(RFC_SECRET, at)).toThrow(TypeError)
    },
  )
})

describe('matchTotpCode', () => {
  const now = 1_700_000_000_000
  const step = Math.floor(now / STEP)
  const codeAt = (offset: number) => totpCode(RFC_SECRET, now + offset * STEP)

  it('matches the current step and one step either side, returning that step', () => {
    expect(matchTotpCode(RFC_SECRET, codeAt(0), now)).toBe(step)
    expect(matchTotpCode(RFC_SECRET, codeAt(-1), now)).toBe(step - 1)
    expect(matchTotpCode(RFC_SECRET, codeAt(1), now)).toBe(step + 1)
  })

  it('does not match two steps away with the default window', () => {
    // Distinct codes, so a match could only come from the step being tested.
    const near = new Set([codeAt(-1), codeAt(0), codeAt(1)])
    for (const offset of [-2, 2]) {
      expect(near.has(codeAt(offset))).toBe(false)
      expect(matchTotpCode(RFC_SECRET, codeAt(offset), now)).toBeNull()
    }
  })

  it('honours the window: 0 is the current step only, 2 reaches two steps away', () => {
    expect(matchTotpCode(RFC_SECRET, codeAt(0), now, 0)).toBe(step)
    expect(matchTotpCode(RFC_SECRET, codeAt(1), now, 0)).toBeNull()
    expect(matchTotpCode(RFC_SECRET, codeAt(-2), now, 2)).toBe(step - 2)
    expect(matchTotpCode(RFC_SECRET, codeAt(2), now, 2)).toBe(step + 2)
  })

  it('looks at no step before 0 at the start of time', () => {
    expect(matchTotpCode(RFC_SECRET, totpCode(RFC_SECRET, 0), 10_000)).toBe(0)
  })

  it('refuses a wrong code of the right shape', () => {
    const near = new Set([codeAt(-1), codeAt(0), codeAt(1)])
    const wrong = ['000000', '123456', '999999', '287082'].find((code) => !near.has(code))!
    expect(matchTotpCode(RFC_SECRET, wrong, now)).toBeNull()
  })

  const right = () => codeAt(0)
  const toFullwidth = (code: string) => [...code].map((d) => String.fromCharCode(0xff10 + Number(d))).join('')
  const toArabicIndic = (code: string) => [...code].map((d) => String.fromCharCode(0x0660 + Number(d))).join('')
  it.each<[string, () => unknown]>([
    ['5 digits', () => right().slice(1)],
    ['7 digits', () => `${right()}0`],
    ['7 digits ending in the right code', () => `0${right()}`],
    ['a letter', () => `${right().slice(0, 5)}a`],
    ['a leading space', () => ` ${right().slice(1)}`],
    ['a trailing newline', () => `${right()}\n`],
    ['fullwidth digits', () => toFullwidth(right())],
    ['Arabic-Indic digits', () => toArabicIndic(right())],
    ['a number', () => Number(right())],
    ['an empty string', () => ''],
    ['null', () => null],
    ['undefined', () => undefined],
  ])('refuses %s (returns null)', (_, code) => {
    expect(matchTotpCode(RFC_SECRET, code(), now)).toBeNull()
  })

  it('decodes the secret case-insensitively and with or without padding', () => {
    const padded = encodeBase32(ascii('1234567890123456')) // 16 bytes: 26 chars + 6 '='
    const withPadding = `${padded}======`
    const code = totpCode(padded, now)
    expect(matchTotpCode(withPadding, code, now)).toBe(step)
    expect(matchTotpCode(padded.toLowerCase(), code, now)).toBe(step)
  })

  it.each([
    ['empty', ''],
    ['not base32', 'GEZDGNBVGY3TQOJQ!EZDGNBVGY3TQOJQ'],
    ['spaced', 'GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ'],
    ['shorter than 128 bits', encodeBase32(new Uint8Array(15))],
    ['longer than 128 bytes', encodeBase32(new Uint8Array(129))],
    ['not a string', 12345 as unknown as string],
  ])('throws a TypeError on a secret that is %s', (_, secret) => {
    expect(() => matchTotpCode(secret, '123456', now)).toThrow(TypeError)
    expect(() => totpCode(secret, now)).toThrow(TypeError)
  })

  it.each([-1, 1.5, 11, Number.NaN])('throws a TypeError on the window %j', (window) => {
    expect(() => matchTotpCode(RFC_SECRET, codeAt(0), now, window)).toThrow(TypeError)
  })
})

describe('generateTotpSecret', () => {
  it('gives 20 random bytes as 32 base32 characters without padding', () => {
    const secrets = new Set<string>()
    for (let i = 0; i < 100; i++) {
      const secret = generateTotpSecret()
      expect(secret).toMatch(/^[A-Z2-7]{32}$/)
      expect(decodeBase32(secret)).toHaveLength(20)
      secrets.add(secret)
    }
    expect(secrets.size).toBe(100)
  })

  it('gives secrets the other helpers accept', () => {
    const secret = generateTotpSecret()
    expect(matchTotpCode(secret, totpCode(secret, 1_700_000_000_000), 1_700_000_000_000)).toBe(Math.floor(1_700_000_000_000 / STEP))
  })
})

describe('totpUri (Google Authenticator Key Uri Format)', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'

  it('builds the otpauth URI with every parameter', () => {
    expect(totpUri({ secret, account: 'alice', issuer: 'ByteStack' })).toBe(
      `otpauth://totp/ByteStack:alice?secret=${secret}&issuer=ByteStack&algorithm=SHA1&digits=6&period=30`,
    )
  })

  it('percent-encodes the label and the issuer parameter, spaces as %20', () => {
    const uri = totpUri({ secret, account: 'ada lovelace+1@example.com', issuer: 'Byte Stack & Co/é?#%' })
    expect(uri).toBe(
      `otpauth://totp/Byte%20Stack%20%26%20Co%2F%C3%A9%3F%23%25:ada%20lovelace%2B1%40example.com?secret=${secret}` +
        '&issuer=Byte%20Stack%20%26%20Co%2F%C3%A9%3F%23%25&algorithm=SHA1&digits=6&period=30',
    )
    const parsed = new URL(uri)
    expect(parsed.protocol).toBe('otpauth:')
    expect(parsed.host).toBe('totp')
    expect(decodeURIComponent(parsed.pathname.slice(1))).toBe('Byte Stack & Co/é?#%:ada lovelace+1@example.com')
    expect(parsed.searchParams.get('issuer')).toBe('Byte Stack & Co/é?#%')
    expect(parsed.searchParams.get('secret')).toBe(secret)
  })

  it('writes the secret in canonical form: upper case, no padding', () => {
    const padded = `${encodeBase32(ascii('1234567890123456'))}======`
    expect(totpUri({ secret: padded.toLowerCase(), account: 'a', issuer: 'b' })).toContain(
      `secret=${encodeBase32(ascii('1234567890123456'))}&`,
    )
  })

  it.each<[string, Record<string, unknown>]>([
    ['an empty account', { account: '' }],
    ['an empty issuer', { issuer: '' }],
    ['a colon in the account', { account: 'a:b' }],
    ['a colon in the issuer', { issuer: 'Byte:Stack' }],
    ['a control character', { account: 'ada\nlovelace' }],
    ['a lone surrogate', { issuer: 'Byte\ud800' }],
    ['an over-long account', { account: 'a'.repeat(257) }],
    ['a non-string account', { account: 42 }],
    ['a missing issuer', { issuer: undefined }],
    ['an invalid secret', { secret: 'not-base32' }],
    ['a short secret', { secret: 'MZXW6YTBOI' }],
  ])('throws a TypeError on %s', (_, change) => {
    const input = { secret, account: 'alice', issuer: 'ByteStack', ...change }
    expect(() => totpUri(input as Parameters<typeof totpUri>[0])).toThrow(TypeError)
  })

  it('throws a TypeError without an input object', () => {
    expect(() => totpUri(null as unknown as Parameters<typeof totpUri>[0])).toThrow(TypeError)
  })
})

describe('the totp namespace', () => {
  it('names the same functions and cannot be changed', () => {
    expect(totp).toEqual({ generateSecret: generateTotpSecret, uri: totpUri, code: totpCode, match: matchTotpCode })
    expect(Object.isFrozen(totp)).toBe(true)
  })

  it('is exported from the package entry, as the one way in (the functions are not exported alone)', async () => {
    const entry: Record<string, unknown> = await import('keyward')
    expect(entry.totp).toBe(totp)
    expect(Object.keys(entry).filter((name) => /totp/i.test(name))).toEqual(['totp'])
  })
})
