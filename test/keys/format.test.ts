import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BASE62, encodeBase62, isBase62, randomBase62 } from '../../src/internal/base62.js'
import { crc32Ascii } from '../../src/internal/crc32.js'
import {
  assertValidPrefix,
  CHECKSUM_LENGTH,
  displayPrefix,
  generateKey,
  generateKeyId,
  hasKeyPrefix,
  KEY_ID_LENGTH,
  MAX_KEY_LENGTH,
  parseKey,
  SECRET_LENGTH,
  type Environment,
} from '../../src/keys/format.js'
import { CPU_BOUND } from '../support/budget.js'

// Independent references, written from the specs rather than from the code under test.

/** Bit-at-a-time CRC-32 (IEEE 802.3, reflected, init and final xor 0xFFFFFFFF). */
function referenceCrc32(text: string): number {
  let crc = 0xffffffff
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i)
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
function decodeBase62(text: string): number {
  let value = 0
  for (const ch of text) value = value * 62 + ALPHABET.indexOf(ch)
  return value
}

const KEY_SHAPE = /^([a-z][a-z0-9]{0,15})_(live|test)_([0-9A-Za-z]{8})([0-9A-Za-z]{30})([0-9A-Za-z]{6})$/

const prefixArb = fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/)
const envArb = fc.constantFrom<Environment>('live', 'test')

describe('crc32Ascii', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['abc', 0x352441c2],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('CRC-32(%j) = %i (published check values)', (text, expected) => {
    expect(crc32Ascii(text)).toBe(expected)
  })

  it('covers only the first `end` code units when `end` is given', () => {
    expect(crc32Ascii('123456789tail', 9)).toBe(0xcbf43926)
  })

  it('agrees with a bitwise reference on arbitrary ASCII', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: 200 }), (text) => {
        expect(crc32Ascii(text)).toBe(referenceCrc32(text))
      }),
    )
  })
})

describe('base62 helpers', () => {
  it('uses the 62 alphanumerics, digits first', () => {
    expect(BASE62).toBe(ALPHABET)
  })

  it.each([
    [0, 6, '000000'],
    [61, 6, '00000z'],
    [62, 6, '000010'],
    [62 * 62 - 1, 3, '0zz'],
    [0xffffffff, 6, '4gfFC3'],
  ])('encodeBase62(%i, %i) = %j', (value, width, expected) => {
    expect(encodeBase62(value, width)).toBe(expected)
  })

  it('encodes every 32-bit value in 6 characters that decode back to it', CPU_BOUND, () => {
    expect(62 ** 6).toBeGreaterThan(2 ** 32)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        const text = encodeBase62(value, 6)
        expect(text).toMatch(/^[0-9A-Za-z]{6}$/)
        expect(decodeBase62(text)).toBe(value)
      }),
    )
  })

  it('isBase62 accepts only the alphabet, honouring start and end', () => {
    expect(isBase62(ALPHABET)).toBe(true)
    expect(isBase62('')).toBe(true)
    for (const bad of ['_', '-', ' ', '+', '/', '=', '\u0000', '\u007f', 'é', '\u0430', '\uff41', '\u0130']) {
      expect(isBase62(`abc${bad}def`), JSON.stringify(bad)).toBe(false)
    }
    expect(isBase62('__abc__', 2, 5)).toBe(true)
    expect(isBase62('__abc__', 1, 5)).toBe(false)
    // Code units whose low 7 bits are alphanumeric must still be refused.
    expect(isBase62(String.fromCharCode(0x80 + 0x41))).toBe(false)
    expect(isBase62(String.fromCharCode(0x100 + 0x61))).toBe(false)
  })
})

describe('randomBase62', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('returns exactly the requested number of base62 characters', () => {
    for (const length of [0, 1, 7, 8, 30, 44, 100, 1000, 100_000]) {
      const text = randomBase62(length)
      expect(text).toHaveLength(length)
      expect(isBase62(text)).toBe(true)
    }
  })

  it('draws from crypto.getRandomValues and maps each accepted byte to BASE62[byte % 62]', () => {
    const bytes = [0, 1, 61, 62, 123, 185, 186, 247]
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const view = array as unknown as Uint8Array
      view.fill(0)
      view.set(bytes)
      return array
    })
    // 0, 1, 61, 62 % 62 = 0, 123 % 62 = 61, 185 % 62 = 61, 186 % 62 = 0, 247 % 62 = 61
    expect(randomBase62(8)).toBe('01z0zz0z')
  })

  it('has no modulo bias by construction: bytes 248-255 are thrown away, 0-247 map 4 to 1', () => {
    // Feed the eight rejectable bytes 248..255 first, then 0..247. The 248 = 62 * 4 accepted bytes
    // give every character exactly four times; a plain `byte % 62` would count 248..255 as 0..7.
    let calls = 0
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const view = array as unknown as Uint8Array
      for (let i = 0; i < view.length; i++) view[i] = (calls * view.length + i + 248) % 256
      calls++
      return array
    })
    const text = randomBase62(248)
    const counts = new Map<string, number>()
    for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1)
    expect(counts.size).toBe(62)
    for (const [ch, n] of counts) expect(n, ch).toBe(4)
  })

  it('keeps drawing when a whole buffer is rejected', () => {
    let calls = 0
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const view = array as unknown as Uint8Array
      view.fill(calls++ < 3 ? 255 : 10)
      return array
    })
    expect(randomBase62(5)).toBe('AAAAA')
    expect(calls).toBe(4)
  })

  it('is uniform over the alphabet (chi-square, false-alarm probability < 1e-10)', () => {
    // 200k characters in 62 cells: Pearson's statistic is chi-square with 61 degrees of freedom
    // (3,226 expected per cell, far into the asymptotic regime). Chernoff bound for chi-square(k):
    // P(X >= z k) <= (z e^(1 - z))^(k / 2). With z = 170 / 61 = 2.787 that is
    // exp(30.5 * (ln 2.787 + 1 - 2.787)) = exp(-23.2) ~ 8e-11, so this cannot flake in practice.
    // A `byte % 62` generator scores about 1,300 here and a missing character scores > 3,000.
    const n = 200_000
    const text = randomBase62(n)
    const counts = new Array<number>(62).fill(0)
    for (let i = 0; i < n; i++) counts[ALPHABET.indexOf(text[i]!)]!++
    const expected = n / 62
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0)
    expect(chi2).toBeLessThan(170)
    expect(Math.min(...counts)).toBeGreaterThan(0)
  })

  it('never repeats a 30-character secret across many draws', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 10_000; i++) seen.add(randomBase62(SECRET_LENGTH))
    expect(seen.size).toBe(10_000)
  })
})

describe('generateKey', () => {
  it('has the shape <prefix>_<env>_<8 id><30 secret><6 checksum>', () => {
    for (const env of ['live', 'test'] as const) {
      const { key, keyId } = generateKey('bsk', env)
      const m = KEY_SHAPE.exec(key)
      expect(m, key).not.toBeNull()
      expect(m![1]).toBe('bsk')
      expect(m![2]).toBe(env)
      expect(m![3]).toBe(keyId)
      expect(key).toHaveLength('bsk_'.length + env.length + 1 + KEY_ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH)
    }
    expect(KEY_ID_LENGTH).toBe(8)
    expect(SECRET_LENGTH).toBe(30)
    expect(CHECKSUM_LENGTH).toBe(6)
  })

  it('ends with the base62 CRC-32 of everything before the checksum', CPU_BOUND, () => {
    fc.assert(
      fc.property(prefixArb, envArb, (prefix, env) => {
        const { key } = generateKey(prefix, env)
        const head = key.slice(0, -6)
        expect(decodeBase62(key.slice(-6))).toBe(referenceCrc32(head))
      }),
      { numRuns: 200 },
    )
  })

  it('uses a given key id, and a fresh secret every time', () => {
    const a = generateKey('bk', 'live', 'AbCd1234')
    const b = generateKey('bk', 'live', 'AbCd1234')
    expect(a.keyId).toBe('AbCd1234')
    expect(a.key.startsWith('bk_live_AbCd1234')).toBe(true)
    expect(a.key).not.toBe(b.key)
  })

  it('generateKeyId gives 8 base62 characters', () => {
    const id = generateKeyId()
    expect(id).toMatch(/^[0-9A-Za-z]{8}$/)
  })
})

describe('parseKey', () => {
  const { key: valid, keyId } = generateKey('bsk', 'live')
  const { key: validTest } = generateKey('bsk', 'test')

  /** A key with a correct checksum over an arbitrary head (to test everything but the checksum). */
  const withChecksum = (head: string) => head + encodeBase62(referenceCrc32(head), 6)

  it('returns prefix, environment and key id of a well-formed key', () => {
    expect(parseKey(valid, ['bsk'])).toEqual({ prefix: 'bsk', environment: 'live', keyId })
    expect(parseKey(validTest, ['bsk'])).toMatchObject({ prefix: 'bsk', environment: 'test' })
  })

  it('round-trips any valid prefix and environment (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(prefixArb, envArb, fc.array(prefixArb, { maxLength: 3 }), (prefix, env, others) => {
        const { key, keyId: id } = generateKey(prefix, env)
        expect(parseKey(key, [...others, prefix])).toEqual({ prefix, environment: env, keyId: id })
      }),
      { numRuns: 300 },
    )
  })

  it('accepts each of several configured prefixes, and only those', () => {
    const bk = generateKey('bk', 'live').key
    expect(parseKey(bk, ['bsk', 'bk'])?.prefix).toBe('bk')
    expect(parseKey(valid, ['bsk', 'bk'])?.prefix).toBe('bsk')
    expect(parseKey(bk, ['bsk'])).toBeNull()
    // A prefix that is the start of another is still a different prefix.
    expect(parseKey(valid, ['bs'])).toBeNull()
    expect(parseKey(valid, ['bskx'])).toBeNull()
    expect(parseKey(valid, [])).toBeNull()
  })

  it('refuses a foreign prefix even with a correct checksum', () => {
    expect(parseKey(withChecksum(`sk_live_${'A'.repeat(38)}`), ['bsk'])).toBeNull()
    expect(parseKey(withChecksum(`sk_live_${'A'.repeat(38)}`), ['sk'])).not.toBeNull()
  })

  it('refuses an unknown environment, even with a correct checksum', () => {
    const body = 'A'.repeat(38)
    for (const env of ['prod', 'LIVE', 'Live', 'tes', 'testt', 'live2', '']) {
      expect(parseKey(withChecksum(`bsk_${env}_${body}`), ['bsk']), env).toBeNull()
    }
    expect(parseKey(withChecksum(`bsk_live_${body}`), ['bsk'])).not.toBeNull()
  })

  it('refuses a bad checksum', () => {
    const last = valid.at(-1)!
    expect(parseKey(valid.slice(0, -1) + (last === 'A' ? 'B' : 'A'), ['bsk'])).toBeNull()
    // A checksum over a different head than the key's.
    expect(parseKey(valid.slice(0, -6) + encodeBase62(crc32Ascii('something else'), 6), ['bsk'])).toBeNull()
  })

  it('refuses the wrong length: truncated, extended, empty, and anything over 128', () => {
    expect(parseKey('', ['bsk'])).toBeNull()
    expect(parseKey('bsk_live_', ['bsk'])).toBeNull()
    expect(parseKey(valid.slice(0, -1), ['bsk'])).toBeNull()
    expect(parseKey(`${valid}A`, ['bsk'])).toBeNull()
    expect(parseKey(withChecksum(`bsk_live_${'A'.repeat(39)}`), ['bsk'])).toBeNull()
    expect(parseKey(withChecksum(`bsk_live_${'A'.repeat(37)}`), ['bsk'])).toBeNull()
    expect(MAX_KEY_LENGTH).toBe(128)
    expect(parseKey(valid + 'A'.repeat(MAX_KEY_LENGTH + 1 - valid.length), ['bsk'])).toBeNull()
    expect(parseKey('bsk_live_' + 'A'.repeat(1_000_000), ['bsk'])).toBeNull()
  })

  it('refuses malformed structure', () => {
    const body = valid.slice('bsk_live_'.length)
    for (const bad of [
      `bsklive_${body}`,
      `bsk_live${body}`,
      `_bsk_live_${body}`,
      `bsk__live_${body}`,
      `bsk_live__${body.slice(1)}`,
      `bsk-live-${body}`,
      `BSK_live_${body}`,
      `bsk_live_${body.slice(0, 10)}_${body.slice(11)}`,
      'bsk',
      '_',
    ]) {
      expect(parseKey(bad, ['bsk']), bad).toBeNull()
    }
  })

  it('refuses whitespace anywhere, including a trailing newline', () => {
    for (const ws of [' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\ufeff']) {
      expect(parseKey(ws + valid, ['bsk'])).toBeNull()
      expect(parseKey(valid + ws, ['bsk'])).toBeNull()
      expect(parseKey(valid.slice(0, 20) + ws + valid.slice(21), ['bsk'])).toBeNull()
    }
  })

  it('refuses non-ASCII look-alikes even where they fold to a valid character', () => {
    // Cyrillic а/А/О, Greek Α, fullwidth a, dotted İ, and code units whose low byte is a letter.
    for (const ch of ['\u0430', '\u0410', '\u041e', '\u0391', '\uff41', '\u0130', String.fromCharCode(0x141), String.fromCharCode(0xc1)]) {
      for (const at of [9, 20, valid.length - 1]) {
        const forged = valid.slice(0, at) + ch + valid.slice(at + 1)
        expect(parseKey(forged, ['bsk']), `${ch} at ${at}`).toBeNull()
      }
    }
  })

  it('refuses any single-character change anywhere in the key (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(
        prefixArb,
        envArb,
        fc.nat(),
        fc.oneof(
          fc.constantFrom(...ALPHABET, '_', '-', ' ', '\u0430'),
          fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        ),
        (prefix, env, position, replacement) => {
          const { key } = generateKey(prefix, env)
          const at = position % key.length
          fc.pre(key[at] !== replacement)
          const changed = key.slice(0, at) + replacement + key.slice(at + 1)
          expect(parseKey(changed, [prefix])).toBeNull()
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('refuses a deleted, inserted or swapped character (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(prefixArb, envArb, fc.nat(), fc.constantFrom(...ALPHABET), (prefix, env, position, ch) => {
        const { key } = generateKey(prefix, env)
        const at = position % key.length
        expect(parseKey(key.slice(0, at) + key.slice(at + 1), [prefix])).toBeNull()
        expect(parseKey(key.slice(0, at) + ch + key.slice(at), [prefix])).toBeNull()
        const swapAt = Math.min(at, key.length - 2)
        const swapped = key.slice(0, swapAt) + key[swapAt + 1] + key[swapAt] + key.slice(swapAt + 2)
        if (swapped !== key) expect(parseKey(swapped, [prefix])).toBeNull()
      }),
      { numRuns: 1000 },
    )
  })

  it('refuses non-strings without throwing', () => {
    for (const bad of [undefined, null, 42, {}, [valid], Buffer.from(valid)]) {
      expect(parseKey(bad as unknown as string, ['bsk'])).toBeNull()
    }
  })
})

describe('assertValidPrefix', () => {
  it.each(['bk', 'bsk', 'a', 'sk2', 'a123456789012345'])('accepts %j', (prefix) => {
    expect(() => assertValidPrefix(prefix)).not.toThrow()
  })

  it.each(['', 'A', 'Bsk', 'my_app', 'my-app', '1abc', 'a1234567890123456', 'bsk ', ' bsk', 'bsk\n', 'bs\u006b\u0301', 'bšk'])(
    'refuses %j with a TypeError',
    (prefix) => {
      expect(() => assertValidPrefix(prefix)).toThrow(TypeError)
    },
  )

  it('refuses non-strings', () => {
    for (const bad of [undefined, null, 1, ['bsk']]) expect(() => assertValidPrefix(bad as unknown as string)).toThrow(TypeError)
  })

  it('accepts exactly the prefixes that generated keys parse back with (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (prefix) => {
        let valid = true
        try {
          assertValidPrefix(prefix)
        } catch {
          valid = false
        }
        expect(valid).toBe(/^[a-z][a-z0-9]{0,15}$/.test(prefix))
      }),
    )
  })
})

describe('hasKeyPrefix and displayPrefix', () => {
  it('hasKeyPrefix tells our keys from JWTs and foreign keys', () => {
    expect(hasKeyPrefix('bsk_live_abc', ['bsk'])).toBe(true)
    expect(hasKeyPrefix('bk_test_abc', ['bsk', 'bk'])).toBe(true)
    expect(hasKeyPrefix('eyJhbGciOiJIUzI1NiJ9.e30.sig', ['bsk'])).toBe(false)
    expect(hasKeyPrefix('sk_live_abc', ['bsk'])).toBe(false)
    expect(hasKeyPrefix('_bsk', ['bsk'])).toBe(false)
  })

  it('displayPrefix is the non-secret start of the key', () => {
    const { key, keyId } = generateKey('bsk', 'live')
    const shown = displayPrefix('bsk', 'live', keyId)
    expect(shown).toBe(`bsk_live_${keyId}`)
    expect(key.startsWith(shown)).toBe(true)
  })
})
