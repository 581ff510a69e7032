/**
 * SHA-256 (FIPS 180-4) of an ASCII string, and HMAC-SHA256 over it, for the one hash on every
 * request: the presented key. @noble/hashes does the same work but allocates a hasher, a block
 * buffer and two DataViews per call; here the message words are read straight from the string's
 * code units into one preallocated schedule, so a call allocates its 32-byte digest only. Callers
 * pass ASCII only (code units < 128) and use @noble/hashes for anything else. Tested against
 * @noble/hashes and node:crypto (test/internal/sha256.test.ts).
 */

// prettier-ignore
const K = /* @__PURE__ */ new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])

/**
 * The initial hash value H(0) of SHA-256.
 *
 * @example
 * ```ts
 * const state = SHA256_IV.slice() // a fresh chaining state
 * ```
 */
export const SHA256_IV: Readonly<Int32Array> = /* @__PURE__ */ new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
])

// Shared scratch: JavaScript runs one call at a time, and no call here awaits.
const W = /* @__PURE__ */ new Int32Array(64)
const STATE = /* @__PURE__ */ new Int32Array(8)

/** One compression of the block in W[0..15] into `state`. */
function compress(state: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!
    const w2 = W[t - 2]!
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3)
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10)
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0
  }
  let a = state[0]!
  let b = state[1]!
  let c = state[2]!
  let d = state[3]!
  let e = state[4]!
  let f = state[5]!
  let g = state[6]!
  let h = state[7]!
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  state[0] = (state[0]! + a) | 0
  state[1] = (state[1]! + b) | 0
  state[2] = (state[2]! + c) | 0
  state[3] = (state[3]! + d) | 0
  state[4] = (state[4]! + e) | 0
  state[5] = (state[5]! + f) | 0
  state[6] = (state[6]! + g) | 0
  state[7] = (state[7]! + h) | 0
}

/**
 * Hashes `text` (ASCII) into `state`, which holds the chaining value to start from, counting
 * `before` bytes already hashed (64 for HMAC's inner and outer pads, else 0).
 */
function absorbAscii(state: Int32Array, text: string, before: number): void {
  const length = text.length
  const total = length + before
  // Message, the 0x80 byte, zeros, then the 64-bit big-endian bit length: whole blocks.
  const blocks = Math.floor((length + 8) / 64) + 1
  for (let block = 0, at = 0; block < blocks; block++) {
    for (let i = 0; i < 16; i++, at += 4) {
      if (at + 3 < length) {
        W[i] = (text.charCodeAt(at) << 24) | (text.charCodeAt(at + 1) << 16) | (text.charCodeAt(at + 2) << 8) | text.charCodeAt(at + 3)
        continue
      }
      let word = 0
      for (let j = 0; j < 4; j++) {
        const p = at + j
        word = (word << 8) | (p < length ? text.charCodeAt(p) : p === length ? 0x80 : 0)
      }
      W[i] = word
    }
    if (block === blocks - 1) {
      W[14] = Math.floor(total / 0x20000000)
      W[15] = (total * 8) | 0
    }
    compress(state)
  }
}

function digestOf(state: Int32Array): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 8; i++) {
    const v = state[i]!
    out[4 * i] = v >>> 24
    out[4 * i + 1] = v >>> 16
    out[4 * i + 2] = v >>> 8
    out[4 * i + 3] = v
  }
  return out
}

/**
 * True when every code unit of `text` is ASCII, the only input the functions here take.
 *
 * @example
 * ```ts
 * const digest = isAscii(key) ? sha256Ascii(key) : sha256(utf8ToBytes(key))
 * ```
 */
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return false
  return true
}

/**
 * SHA-256 of an ASCII string (its bytes are its code units). Check {@link isAscii} first.
 *
 * @example
 * ```ts
 * sha256Ascii('abc') // ba7816bf... as 32 bytes
 * ```
 */
export function sha256Ascii(text: string): Uint8Array {
  STATE.set(SHA256_IV)
  absorbAscii(STATE, text, 0)
  return digestOf(STATE)
}

/**
 * The chaining values after HMAC-SHA256's padded key blocks (RFC 2104), computed once per key.
 *
 * @example
 * ```ts
 * const keyed = hmacSha256Key(pepperBytes)
 * hmacSha256Ascii(keyed, key)
 * ```
 */
export interface HmacSha256Key {
  inner: Int32Array
  outer: Int32Array
}

/**
 * Prepares an HMAC-SHA256 key of at most 64 bytes (longer keys are hashed first by the caller,
 * as RFC 2104 says; keyward's peppers are hashed by @noble/hashes when longer).
 *
 * @example
 * ```ts
 * const keyed = hmacSha256Key(new TextEncoder().encode(process.env.KEYWARD_PEPPER))
 * ```
 */
export function hmacSha256Key(key: Uint8Array): HmacSha256Key {
  if (key.length > 64) throw new RangeError('hmacSha256Key: hash a key longer than 64 bytes first')
  const pad = (fill: number): Int32Array => {
    const state = SHA256_IV.slice()
    for (let i = 0; i < 16; i++) {
      let word = 0
      for (let j = 0; j < 4; j++) word = (word << 8) | ((key[4 * i + j] ?? 0) ^ fill)
      W[i] = word
    }
    compress(state)
    return state
  }
  return { inner: pad(0x36), outer: pad(0x5c) }
}

/**
 * HMAC-SHA256 of an ASCII string under a key prepared by {@link hmacSha256Key}.
 *
 * @example
 * ```ts
 * hmacSha256Ascii(hmacSha256Key(pepper), 'bsk_live_...') // 32 bytes
 * ```
 */
export function hmacSha256Ascii(key: HmacSha256Key, text: string): Uint8Array {
  STATE.set(key.inner)
  absorbAscii(STATE, text, 64)
  // The outer hash's message is the inner digest: one block, its words straight from the state.
  for (let i = 0; i < 8; i++) W[i] = STATE[i]!
  W[8] = 0x80000000 | 0
  for (let i = 9; i < 15; i++) W[i] = 0
  W[15] = (64 + 32) * 8
  STATE.set(key.outer)
  compress(STATE)
  return digestOf(STATE)
}
