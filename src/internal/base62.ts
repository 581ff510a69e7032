import { fillRandom } from './random.js'

/**
 * The base62 alphabet, digits first so that encoded numbers sort like numbers.
 *
 * @example
 * ```ts
 * BASE62[10] // 'A'
 * ```
 */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

// 62 * 4 = 248: bytes at or above it are thrown away, so every character is equally likely
// (a plain `byte % 62` would favour the first eight characters).
const ACCEPT_BELOW = 248
// Web Crypto refuses to fill more than 65,536 bytes in one call (QuotaExceededError).
const MAX_DRAW = 65_536

/**
 * `length` uniformly random base62 characters from the Web Crypto CSPRNG, by rejection sampling.
 *
 * @example
 * ```ts
 * randomBase62(30) // e.g. 'f5kmKGTOjD5yjTXeYCRmOMUs728JQU'
 * ```
 */
export function randomBase62(length: number): string {
  let out = ''
  const buffer = new Uint8Array(Math.min(MAX_DRAW, Math.ceil(length * 1.25) + 8))
  while (out.length < length) {
    fillRandom(buffer)
    for (let i = 0; i < buffer.length && out.length < length; i++) {
      const byte = buffer[i]!
      if (byte < ACCEPT_BELOW) out += BASE62[byte % 62]
    }
  }
  return out
}

/**
 * `value` (an unsigned 32-bit integer) as exactly `width` base62 characters, zero-padded.
 *
 * @example
 * ```ts
 * encodeBase62(61, 3) // '00z'
 * ```
 */
export function encodeBase62(value: number, width: number): string {
  let out = ''
  let rest = value
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out
    rest = Math.floor(rest / 62)
  }
  return out
}

const LOOKUP = /* @__PURE__ */ (() => {
  const table = new Int8Array(128).fill(-1)
  for (let i = 0; i < BASE62.length; i++) table[BASE62.charCodeAt(i)] = i
  return table
})()

/**
 * True when every code unit of `text` from `start` to `end` is a base62 character.
 *
 * @example
 * ```ts
 * isBase62('abc123') // true
 * isBase62('abc-123') // false
 * ```
 */
/**
 * The value of `text[start..end)` read as base62 digits (most significant first), or -1 when a
 * character is not one. Exact while the value stays below 2^53 (eight digits).
 *
 * @example
 * ```ts
 * decodeBase62(encodeBase62(123456, 6)) // 123456
 * ```
 */
export function decodeBase62(text: string, start = 0, end = text.length): number {
  let value = 0
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i)
    const digit = code < 128 ? LOOKUP[code]! : -1
    if (digit < 0) return -1
    value = value * 62 + digit
  }
  return value
}

export function isBase62(text: string, start = 0, end = text.length): boolean {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i)
    if (code >= 128 || LOOKUP[code]! < 0) return false
  }
  return true
}
