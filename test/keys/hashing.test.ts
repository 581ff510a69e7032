import { createHash, createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { constantTimeEqual, createKeyHasher, digestEqualsHex, digestToHex, DUMMY_HEX } from '../../src/keys/hashing.js'
import { CPU_BOUND } from '../support/budget.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const KEY = 'bsk_live_4fTq9ZkAabcdefghijklmnopqrstuvwxyzABCD0a1B2c'

describe('createKeyHasher without a pepper: SHA-256', () => {
  const hash = createKeyHasher()

  it.each([
    // FIPS 180-2 / NIST CSRC examples.
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ])('SHA-256(%j) = %s', (input, digest) => {
    expect(hex(hash(input))).toBe(digest)
  })

  it('matches node:crypto on arbitrary strings, UTF-8 encoded (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (input) => {
        expect(hex(hash(input))).toBe(createHash('sha256').update(input, 'utf8').digest('hex'))
      }),
    )
  })

  it('gives 32 bytes, the same for the same key and different for another', () => {
    expect(hash(KEY)).toHaveLength(32)
    expect(hex(hash(KEY))).toBe(hex(hash(KEY)))
    expect(hex(hash(KEY))).not.toBe(hex(hash(`${KEY.slice(0, -1)}d`)))
  })
})

describe('createKeyHasher with a pepper: HMAC-SHA256', () => {
  it('RFC 4231 test case 1 (20-byte key)', () => {
    const hash = createKeyHasher(new Uint8Array(20).fill(0x0b))
    expect(hex(hash('Hi There'))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7')
  })

  it('RFC 4231 test cases 6 and 7 (131-byte key, hashed first)', () => {
    const hash = createKeyHasher(new Uint8Array(131).fill(0xaa))
    expect(hex(hash('Test Using Larger Than Block-Size Key - Hash Key First'))).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    )
    expect(
      hex(
        hash(
          'This is a test using a larger than block-size key and a larger than block-size data. The key ' +
            'needs to be hashed before being used by the HMAC algorithm.',
        ),
      ),
    ).toBe('9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2')
  })

  it('reuses its keyed state safely: repeated and interleaved calls give the same digests', () => {
    const hash = createKeyHasher(new Uint8Array(20).fill(0x0b))
    const expected = 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'
    expect(hex(hash('Hi There'))).toBe(expected)
    hash(KEY)
    hash('')
    expect(hex(hash('Hi There'))).toBe(expected)
    expect(hex(hash('Hi There'))).toBe(expected)
  })

  it('matches node:crypto HMAC for string and byte peppers (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ minLength: 16, maxLength: 80 }), fc.uint8Array({ minLength: 16, maxLength: 200 })),
        fc.string({ maxLength: 100 }),
        (pepper, input) => {
          const hash = createKeyHasher(pepper)
          const reference = createHmac('sha256', typeof pepper === 'string' ? Buffer.from(pepper, 'utf8') : Buffer.from(pepper))
            .update(input, 'utf8')
            .digest('hex')
          expect(hex(hash(input))).toBe(reference)
          expect(hex(hash(input))).toBe(reference)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('differs from plain SHA-256 and between peppers', () => {
    const plain = hex(createKeyHasher()(KEY))
    const a = hex(createKeyHasher('pepper-one-0123456789')(KEY))
    const b = hex(createKeyHasher('pepper-two-0123456789')(KEY))
    expect(new Set([plain, a, b]).size).toBe(3)
  })

  it('refuses a pepper under 16 bytes, counting UTF-8 bytes', () => {
    expect(() => createKeyHasher('')).toThrow(TypeError)
    expect(() => createKeyHasher('x'.repeat(15))).toThrow(TypeError)
    expect(() => createKeyHasher(new Uint8Array(15))).toThrow(TypeError)
    expect(() => createKeyHasher('x'.repeat(16))).not.toThrow()
    expect(() => createKeyHasher(new Uint8Array(16))).not.toThrow()
    // Eight characters, sixteen bytes.
    expect(() => createKeyHasher('éééééééé')).not.toThrow()
    expect(() => createKeyHasher('ééééééé')).toThrow(TypeError)
  })
})

describe('digestToHex and the stored-hex comparison', () => {
  it('writes any 32-byte digest as 64 lowercase hex characters that compare equal to it (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (digest) => {
        const text = digestToHex(digest)
        expect(text).toMatch(/^[0-9a-f]{64}$/)
        expect(digestEqualsHex(digest, text)).toBe(true)
      }),
    )
  })

  // 0xaa bytes: each text below would match them if its length or stray character were ignored.
  it.each([
    ['', 'empty'],
    ['aa', 'too short'],
    ['a'.repeat(63), '63 characters'],
    ['a'.repeat(65), '65 characters'],
    ['a'.repeat(128), 'a 64-byte digest'],
    [`${'a'.repeat(62)}ag`, 'not hex'],
    [`${'a'.repeat(62)} a`, 'a space'],
    [`0x${'a'.repeat(62)}`, 'a 0x prefix'],
  ])('a stored hash %j (%s) never matches', (text) => {
    expect(digestEqualsHex(new Uint8Array(32).fill(0xaa), text)).toBe(false)
  })
})

describe('constantTimeEqual', () => {
  it('is true for equal bytes, false for any difference', () => {
    const a = Uint8Array.from({ length: 32 }, (_, i) => i)
    expect(constantTimeEqual(a, a.slice())).toBe(true)
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
    for (const at of [0, 1, 15, 31]) {
      const b = a.slice()
      b[at]! ^= 0x01
      expect(constantTimeEqual(a, b), `byte ${at}`).toBe(false)
      b[at]! ^= 0x81
      expect(constantTimeEqual(a, b), `byte ${at}`).toBe(false)
    }
    expect(constantTimeEqual(a, a.slice(0, 31))).toBe(false)
    expect(constantTimeEqual(a.slice(0, 31), a)).toBe(false)
  })

  it('agrees with byte-wise equality (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.boolean(), (a, b, same) => {
        const other = same ? a.slice() : b
        expect(constantTimeEqual(a, other)).toBe(a.length === other.length && a.every((x, i) => x === other[i]))
      }),
    )
  })

  it('reads every byte of both inputs even when the first byte differs (no early exit)', () => {
    const reads = { a: new Set<number>(), b: new Set<number>() }
    const spy = (bytes: Uint8Array, seen: Set<number>) =>
      new Proxy(bytes, {
        get(target, prop) {
          if (typeof prop === 'string' && /^\d+$/.test(prop)) seen.add(Number(prop))
          const value = Reflect.get(target, prop, target) as unknown
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        },
      })
    const a = new Uint8Array(32)
    const b = new Uint8Array(32).fill(0xff)
    expect(constantTimeEqual(spy(a, reads.a), spy(b, reads.b))).toBe(false)
    expect(reads.a.size).toBe(32)
    expect(reads.b.size).toBe(32)
  })

  it('DUMMY_HEX is as long as a real stored hash, so the unknown-id path compares as much', () => {
    expect(DUMMY_HEX).toHaveLength(digestToHex(createKeyHasher()(KEY)).length)
    expect(digestEqualsHex(createKeyHasher()(KEY), DUMMY_HEX)).toBe(false)
  })
})

describe('digestEqualsHex', () => {
  const hexChar = fc.constantFrom(...'0123456789abcdefABCDEF'.split(''))
  const anyChar = fc.oneof(hexChar, fc.constantFrom('g', 'G', ' ', '\u0000', 'é', '\uff10', 'z', '-'))

  it('agrees with decoding the hex and comparing bytes, for any 64-character text (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(anyChar, { minLength: 64, maxLength: 64 }),
        fc.boolean(),
        (digest, chars, same) => {
          const hex = same ? digestToHex(digest) : chars.join('')
          // Reference: a strict decode, then a byte comparison.
          const decoded = /^[0-9a-fA-F]{64}$/.test(hex) ? Uint8Array.from(Buffer.from(hex, 'hex')) : null
          expect(digestEqualsHex(digest, hex)).toBe(decoded !== null && constantTimeEqual(digest, decoded))
        },
      ),
    )
  })

  it('accepts upper-case hex and refuses a wrong length or a non-hex character', () => {
    const digest = Uint8Array.from({ length: 32 }, (_, i) => i * 7)
    const hex = digestToHex(digest)
    expect(digestEqualsHex(digest, hex)).toBe(true)
    expect(digestEqualsHex(digest, hex.toUpperCase())).toBe(true)
    expect(digestEqualsHex(digest, hex.slice(2))).toBe(false)
    expect(digestEqualsHex(digest, `${hex}00`)).toBe(false)
    expect(digestEqualsHex(digest, `${hex.slice(0, 63)}g`)).toBe(false)
    expect(digestEqualsHex(new Uint8Array(32), DUMMY_HEX)).toBe(true)
  })
})
