import { createHash, createHmac } from 'node:crypto'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hmacSha256Ascii, hmacSha256Key, isAscii, sha256Ascii } from '../../src/internal/sha256.js'
import { CPU_BOUND } from '../support/budget.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0))
// Printable and control ASCII alike: every code unit below 128.
const asciiUnit = fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c))
const asciiString = (maxLength: number) => fc.string({ unit: asciiUnit, maxLength })

describe('sha256Ascii', () => {
  it.each([
    // FIPS 180-2 / NIST CSRC examples, one and two blocks.
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
  ])('SHA-256(%j) = %s', (input, digest) => {
    expect(hex(sha256Ascii(input))).toBe(digest)
  })

  it('matches @noble/hashes at every length around the block and padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(33 + ((i * 7) % 94))).join('')
      expect(hex(sha256Ascii(text)), `length ${length}`).toBe(hex(sha256(ascii(text))))
    }
  })

  it('matches @noble/hashes and node:crypto on arbitrary ASCII strings (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(asciiString(300), (text) => {
        const digest = hex(sha256Ascii(text))
        expect(digest).toBe(hex(sha256(ascii(text))))
        expect(digest).toBe(createHash('sha256').update(text, 'latin1').digest('hex'))
      }),
      { numRuns: 500 },
    )
  })

  it('returns a fresh digest each call: an earlier one is not overwritten by the shared scratch', () => {
    const first = sha256Ascii('abc')
    sha256Ascii('something else entirely')
    expect(hex(first)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })
})

describe('hmacSha256Ascii', () => {
  it('RFC 4231 test cases 1 and 2', () => {
    expect(hex(hmacSha256Ascii(hmacSha256Key(new Uint8Array(20).fill(0x0b)), 'Hi There'))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    )
    expect(hex(hmacSha256Ascii(hmacSha256Key(ascii('Jefe')), 'what do ya want for nothing?'))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
  })

  it('matches @noble/hashes and node:crypto for any key up to a block and any ASCII message (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), asciiString(200), (key, text) => {
        const digest = hex(hmacSha256Ascii(hmacSha256Key(key), text))
        expect(digest).toBe(hex(hmac(sha256, key, ascii(text))))
        expect(digest).toBe(createHmac('sha256', key).update(text, 'latin1').digest('hex'))
      }),
      { numRuns: 500 },
    )
  })

  it('keeps its prepared key intact across calls', () => {
    const key = hmacSha256Key(ascii('a pepper of some length'))
    const once = hex(hmacSha256Ascii(key, 'message'))
    hmacSha256Ascii(key, 'another message, longer than the first one, over a block boundary......')
    expect(hex(hmacSha256Ascii(key, 'message'))).toBe(once)
  })

  it('refuses a key longer than a block (RFC 2104 hashes it first; the caller does)', () => {
    expect(() => hmacSha256Key(new Uint8Array(65))).toThrow(RangeError)
  })
})

describe('isAscii', () => {
  it('is true only when every code unit is below 128', () => {
    expect(isAscii('')).toBe(true)
    expect(isAscii('bsk_live_abc\u007f')).toBe(true)
    expect(isAscii('bsk_live_é')).toBe(false)
    expect(isAscii('\u0080')).toBe(false)
    expect(isAscii('a\ud83d\ude00')).toBe(false)
  })
})
