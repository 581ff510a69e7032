/**
 * The regular expression a code host's secret scanner needs to find this server's keys. Derived
 * from the key format (src/keys/format.ts) so the two cannot drift apart.
 */
import { assertValidPrefix, CHECKSUM_LENGTH, KEY_ID_LENGTH, SECRET_LENGTH } from '../keys/format.js'

/**
 * The pattern of keys with these prefixes (both environments): `<prefix>_(live|test)_` then 44
 * base62 characters, not glued to a longer word on either side. The CRC-32 checksum cannot be a
 * regular expression; the handler checks it, so a match that is not a key costs no store call.
 *
 * @example
 * ```ts
 * leakedKeyPattern(['bsk']).source
 * // '(?<![0-9A-Za-z_])bsk_(?:live|test)_[0-9A-Za-z]{44}(?![0-9A-Za-z_])'
 * ```
 */
export function leakedKeyPattern(prefixes: string | readonly string[]): RegExp {
  const list = typeof prefixes === 'string' ? [prefixes] : [...prefixes]
  if (list.length === 0) throw new TypeError('keyward: leakedKeyPattern needs at least one prefix')
  list.forEach(assertValidPrefix)
  const head = list.length === 1 ? list[0]! : `(?:${list.join('|')})`
  const body = KEY_ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH
  return new RegExp(`(?<![0-9A-Za-z_])${head}_(?:live|test)_[0-9A-Za-z]{${body}}(?![0-9A-Za-z_])`)
}
