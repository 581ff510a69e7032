import { decodeBase62, encodeBase62, isBase62, randomBase62 } from '../internal/base62.js'
import { crc32Ascii } from '../internal/crc32.js'

/**
 * The two environments a key can belong to; a key of the other one is invalid on this server.
 *
 * @example
 * ```ts
 * createKeyward({ prefix: 'bsk', environment: 'test' }) // accepts only bsk_test_ keys
 * ```
 */
export type Environment = 'live' | 'test'

/**
 * Length of the key id: the non-secret lookup key, also shown as the key's display prefix.
 *
 * @example
 * ```ts
 * parseKey(key, ['bsk'])?.keyId.length === KEY_ID_LENGTH
 * ```
 */
export const KEY_ID_LENGTH = 8
/**
 * Length of the secret part: 30 base62 characters, about 178 bits of entropy.
 *
 * @example
 * ```ts
 * // 62 ** SECRET_LENGTH possible secrets: about 2 ** 178
 * ```
 */
export const SECRET_LENGTH = 30
/**
 * Length of the CRC-32 checksum, base62-encoded.
 *
 * @example
 * ```ts
 * key.slice(-CHECKSUM_LENGTH) // the base62 CRC-32 of the rest
 * ```
 */
export const CHECKSUM_LENGTH = 6
/**
 * No credential longer than this is even looked at.
 *
 * @example
 * ```ts
 * parseKey('x'.repeat(MAX_KEY_LENGTH + 1), ['bsk']) // null, without further work
 * ```
 */
export const MAX_KEY_LENGTH = 128

const BODY_LENGTH = KEY_ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH
const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}$/

/**
 * What {@link parseKey} reads from a well-formed key. Nothing here is secret.
 *
 * @example
 * ```ts
 * const parsed: ParsedKey | null = parseKey(key, ['bsk'])
 * ```
 */
export interface ParsedKey {
  prefix: string
  environment: Environment
  keyId: string
}

/**
 * Throws a TypeError unless `prefix` is 1-16 lowercase letters or digits starting with a letter.
 * The underscore is the field separator, so it cannot appear inside a prefix.
 *
 * @example
 * ```ts
 * assertValidPrefix('bsk') // ok
 * assertValidPrefix('my_app') // TypeError
 * ```
 */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new TypeError(`keyward: prefix must be 1-16 lowercase letters or digits starting with a letter, got ${JSON.stringify(prefix)}`)
  }
}

/**
 * Mints a new key: `<prefix>_<env>_<keyId><secret><checksum>`, all random parts from the Web
 * Crypto CSPRNG.
 *
 * @example
 * ```ts
 * const { key, keyId } = generateKey('bsk', 'live')
 * // key: 'bsk_live_4fTq9ZkA...'; keyId: '4fTq9ZkA'
 * ```
 */
export function generateKey(prefix: string, environment: Environment, keyId = randomBase62(KEY_ID_LENGTH)): { key: string; keyId: string } {
  const head = `${prefix}_${environment}_${keyId}${randomBase62(SECRET_LENGTH)}`
  return { key: head + encodeBase62(crc32Ascii(head), CHECKSUM_LENGTH), keyId }
}

/**
 * A fresh random key id.
 *
 * @example
 * ```ts
 * generateKeyId() // e.g. 'IsGxuoZT'
 * ```
 */
export function generateKeyId(): string {
  return randomBase62(KEY_ID_LENGTH)
}

/**
 * Parses a presented key strictly. Returns null for anything malformed, over-long, of a prefix
 * not in `prefixes`, of an unknown environment, or with a bad checksum; the store is never
 * needed to reject those.
 *
 * @example
 * ```ts
 * parseKey('bsk_live_...', ['bsk']) // { prefix: 'bsk', environment: 'live', keyId: '...' }
 * parseKey('bsk_live_typo', ['bsk']) // null
 * ```
 */
export function parseKey(key: string, prefixes: readonly string[]): ParsedKey | null {
  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH) return null
  const firstSep = key.indexOf('_')
  if (firstSep <= 0) return null
  const prefix = key.slice(0, firstSep)
  if (!prefixes.includes(prefix)) return null
  const envStart = firstSep + 1
  let environment: Environment
  if (key.startsWith('live_', envStart)) environment = 'live'
  else if (key.startsWith('test_', envStart)) environment = 'test'
  else return null
  const bodyStart = envStart + 5
  if (key.length !== bodyStart + BODY_LENGTH || !isBase62(key, bodyStart)) return null
  const checksumStart = key.length - CHECKSUM_LENGTH
  // Six base62 digits hold any CRC-32 one way only, so comparing numbers is comparing encodings,
  // without building a string per request.
  if (decodeBase62(key, checksumStart) !== crc32Ascii(key, checksumStart)) return null
  return { prefix, environment, keyId: key.slice(bodyStart, bodyStart + KEY_ID_LENGTH) }
}

/**
 * True when `credential` starts like one of our keys (`<prefix>_`), as opposed to a JWT.
 *
 * @example
 * ```ts
 * hasKeyPrefix('bsk_live_...', ['bsk']) // true
 * hasKeyPrefix('eyJhbGciOi...', ['bsk']) // false: a JWT
 * ```
 */
export function hasKeyPrefix(credential: string, prefixes: readonly string[]): boolean {
  const sep = credential.indexOf('_')
  return sep > 0 && prefixes.includes(credential.slice(0, sep))
}

/**
 * The part of a key that may be shown in a dashboard: `bsk_live_4fTq9ZkA`.
 *
 * @example
 * ```ts
 * displayPrefix('bsk', 'live', 'IsGxuoZT') // 'bsk_live_IsGxuoZT'
 * ```
 */
export function displayPrefix(prefix: string, environment: Environment, keyId: string): string {
  return `${prefix}_${environment}_${keyId}`
}
