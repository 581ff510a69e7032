/**
 * ECDSA P-256 / SHA-256 signatures as code hosts send them: a base64 DER signature over the raw
 * body, checked with WebCrypto against a PEM public key. No `node:`: runs wherever fetch does.
 */

/**
 * Imports a PEM `PUBLIC KEY` (SPKI) as a P-256 verification key. Rejects anything else.
 *
 * @example
 * ```ts
 * const key = await importP256PublicKey('-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----')
 * ```
 */
export async function importP256PublicKey(pem: string): Promise<CryptoKey> {
  const match = /^\s*-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----\s*$/.exec(pem)
  if (match === null) throw new TypeError('keyward: a public key must be a PEM "PUBLIC KEY" block')
  const der = decodeBase64(match[1]!.replace(/\s+/g, ''))
  if (der === null) throw new TypeError('keyward: a public key must be a PEM "PUBLIC KEY" block')
  return crypto.subtle.importKey('spki', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
}

/**
 * Strict base64 (standard alphabet, padded) to bytes, or null.
 *
 * @example
 * ```ts
 * decodeBase64('AQI=') // Uint8Array [1, 2]
 * ```
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null
  let binary: string
  try {
    binary = atob(text)
  } catch {
    return null
  }
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** One DER INTEGER at `at`, as 32 big-endian bytes into `out`; the offset after it, or -1. */
function readInteger(der: Uint8Array, at: number, out: Uint8Array, outAt: number): number {
  if (der[at] !== 0x02) return -1
  const length = der[at + 1]
  if (length === undefined || length < 1 || length > 33 || at + 2 + length > der.length) return -1
  let start = at + 2
  let size = length
  // A leading zero only keeps a high bit from reading as a sign; it must be needed.
  if (der[start] === 0) {
    if (size === 1 || (der[start + 1]! & 0x80) === 0) return -1
    start++
    size--
  } else if ((der[start]! & 0x80) !== 0) return -1
  if (size > 32) return -1
  out.set(der.subarray(start, start + size), outAt + 32 - size)
  return at + 2 + length
}

/**
 * A DER `SEQUENCE { r INTEGER, s INTEGER }` as the 64-byte `r || s` WebCrypto verifies, or null
 * when it is not exactly that (trailing bytes, non-minimal integers, long lengths).
 *
 * @example
 * ```ts
 * derToRawSignature(decodeBase64(header)!) // Uint8Array(64) | null
 * ```
 */
export function derToRawSignature(der: Uint8Array): Uint8Array<ArrayBuffer> | null {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return null
  const raw = new Uint8Array(64)
  const afterR = readInteger(der, 2, raw, 0)
  if (afterR < 0) return null
  const afterS = readInteger(der, afterR, raw, 32)
  return afterS === der.length ? raw : null
}

/**
 * True when `signatureBase64` (DER, base64) is `key`'s ECDSA P-256 / SHA-256 signature of `body`.
 * A signature that does not even decode is false, never an exception.
 *
 * @example
 * ```ts
 * if (!(await verifyEcdsaSignature(key, request.headers.get('github-public-key-signature') ?? '', body))) return refuse()
 * ```
 */
export async function verifyEcdsaSignature(key: CryptoKey, signatureBase64: string, body: Uint8Array<ArrayBuffer>): Promise<boolean> {
  const der = decodeBase64(signatureBase64.trim())
  const raw = der === null ? null : derToRawSignature(der)
  if (raw === null) return false
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, body)
}
