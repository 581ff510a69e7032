import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8ToBytes } from '@noble/hashes/utils.js'
import { hmacSha256Ascii, hmacSha256Key, isAscii, sha256Ascii } from '../internal/sha256.js'

/**
 * Hashes a whole key to the 32-byte digest the store keeps.
 *
 * @example
 * ```ts
 * const hash: KeyHasher = createKeyHasher()
 * hash('bsk_live_...') // Uint8Array(32)
 * ```
 */
export type KeyHasher = (key: string) => Uint8Array

/**
 * SHA-256 of the key, or HMAC-SHA256 keyed with `pepper` when one is given (a pepper kept out
 * of the database means a stolen table alone cannot even confirm a guessed key).
 *
 * @example
 * ```ts
 * const hash = createKeyHasher(process.env.KEYWARD_PEPPER)
 * const stored = digestToHex(hash(key))
 * ```
 */
export function createKeyHasher(pepper?: string | Uint8Array): KeyHasher {
  // Keys are ASCII (parseKey saw to that): their code units are their UTF-8, hashed without a
  // byte copy or a hasher object (src/internal/sha256.ts). Anything else goes through @noble/hashes.
  if (pepper === undefined) return (key) => (isAscii(key) ? sha256Ascii(key) : sha256(utf8ToBytes(key)))
  const secret = typeof pepper === 'string' ? utf8ToBytes(pepper) : pepper
  if (secret.length < 16) throw new TypeError('keyward: pepper must be at least 16 bytes')
  // The keyed inner and outer states are computed once (a key longer than a block is hashed
  // first, RFC 2104), saving two compressions per verification.
  const keyed = hmacSha256Key(secret.length > 64 ? sha256(secret) : secret)
  const noble = hmac.create(sha256, secret)
  return (key) => (isAscii(key) ? hmacSha256Ascii(keyed, key) : noble.clone().update(utf8ToBytes(key)).digest())
}

/**
 * Lowercase hex, the form digests take in stores.
 *
 * @example
 * ```ts
 * digestToHex(new Uint8Array([0xab, 0x01])) // 'ab01'
 * ```
 */
export function digestToHex(digest: Uint8Array): string {
  // One flat string: `bytesToHex` appends two characters at a time, which V8 keeps as a tree of
  // about 50 rope nodes (1.7 KB) until something reads the characters; every stored record and
  // cached key would carry that tree.
  const codes = new Array<number>(digest.length * 2)
  for (let i = 0; i < digest.length; i++) {
    codes[2 * i] = HEX_CODES[digest[i]! >> 4]!
    codes[2 * i + 1] = HEX_CODES[digest[i]! & 15]!
  }
  return String.fromCharCode(...codes)
}

const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0))

/**
 * Compares two digests in time that depends only on their length, never on where they differ.
 *
 * @example
 * ```ts
 * constantTimeEqual(hash(presented), storedDigest) // true or false, same time either way
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

// Hex digit values by character code; 256 marks anything else, which no byte can equal.
const HEX_VALUES = /* @__PURE__ */ (() => {
  const table = new Int16Array(128).fill(256)
  for (let i = 0; i < 16; i++) {
    table['0123456789abcdef'.charCodeAt(i)] = i
    table['0123456789ABCDEF'.charCodeAt(i)] = i
  }
  return table
})()

/**
 * {@link constantTimeEqual} of a digest and a stored hex hash, without decoding the hash into a
 * second buffer first (a cached key keeps only the hex it was stored as). A hash that is not hex
 * of the right length never matches.
 *
 * @example
 * ```ts
 * digestEqualsHex(hash(presented), record.hash) // same time whatever the bytes
 * ```
 */
export function digestEqualsHex(digest: Uint8Array, hex: string): boolean {
  if (hex.length !== digest.length * 2) return false
  let diff = 0
  for (let i = 0; i < digest.length; i++) {
    const hi = hex.charCodeAt(2 * i)
    const lo = hex.charCodeAt(2 * i + 1)
    diff |= digest[i]! ^ (((hi < 128 ? HEX_VALUES[hi]! : 256) << 4) | (lo < 128 ? HEX_VALUES[lo]! : 256))
  }
  return diff === 0
}

/**
 * Compared against (with {@link digestEqualsHex}) when the key id is unknown, so that path costs
 * the same hash and comparison as a wrong secret.
 *
 * @example
 * ```ts
 * digestEqualsHex(hash(presented), DUMMY_HEX) // false, at the cost of a real comparison
 * ```
 */
export const DUMMY_HEX: string = '0'.repeat(64)
