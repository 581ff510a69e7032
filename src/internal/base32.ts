/**
 * The RFC 4648 base32 alphabet (section 6), the one authenticator apps read secrets in.
 *
 * @example
 * ```ts
 * BASE32[26] // '2'
 * ```
 */
export const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

const LOOKUP = /* @__PURE__ */ (() => {
  const table = new Int8Array(128).fill(-1)
  for (let i = 0; i < BASE32.length; i++) {
    table[BASE32.charCodeAt(i)] = i
    table[BASE32.toLowerCase().charCodeAt(i)] = i
  }
  return table
})()

// Unpadded length modulo 8 -> how many characters a final partial group can have: 1, 3 and 6
// characters never come out of whole bytes, so text of such a length is not base32.
const VALID_TAIL = [true, false, true, false, true, true, false, true]

/**
 * `bytes` as RFC 4648 base32, upper case, without `=` padding (the form authenticator apps
 * expect in an `otpauth://` URI).
 *
 * @example
 * ```ts
 * encodeBase32(new TextEncoder().encode('foobar')) // 'MZXW6YTBOI'
 * ```
 */
export function encodeBase32(bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (let i = 0; i < bytes.length; i++) {
    buffer = ((buffer << 8) | bytes[i]!) & 0xfff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += BASE32[(buffer >>> bits) & 31]
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31]
  return out
}

/**
 * The bytes of RFC 4648 base32 `text`, or null when it is not canonical base32. Letters may be
 * either case and the `=` padding may be absent, but when present it must be exactly right;
 * nothing else is skipped (no spaces, no dashes), and the unused low bits of the last character
 * must be zero, so every byte string has exactly one accepted spelling per case.
 *
 * @example
 * ```ts
 * decodeBase32('mzxw6ytboi') // bytes of 'foobar'
 * decodeBase32('MZXW6YTBOI======') // bytes of 'foobar'
 * decodeBase32('MZXW 6YTBOI') // null
 * ```
 */
export function decodeBase32(text: string): Uint8Array | null {
  if (typeof text !== 'string') return null
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--
  if (end !== text.length && (text.length % 8 !== 0 || text.length - end >= 8)) return null
  if (!VALID_TAIL[end % 8]) return null
  const out = new Uint8Array(Math.floor((end * 5) / 8))
  let buffer = 0
  let bits = 0
  let at = 0
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i)
    const value = code < 128 ? LOOKUP[code]! : -1
    if (value < 0) return null
    buffer = ((buffer << 5) | value) & 0xfff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[at++] = (buffer >>> bits) & 0xff
    }
  }
  // Leftover bits are padding inside the last character: set bits there mean a different
  // (non-canonical) spelling of the same bytes, which a strict decoder refuses.
  if ((buffer & ((1 << bits) - 1)) !== 0) return null
  return out
}
