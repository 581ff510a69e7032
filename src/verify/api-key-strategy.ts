/**
 * The API-key strategy: a parsed key and the cache entry found for its id become a principal, or
 * nothing. The lookup itself (`rt.cache.get`) is left to the pipeline, which holds a lockout slot
 * around it when it has to wait.
 */
import { digestEqualsHex, DUMMY_HEX } from '../keys/hashing.js'
import type { ParsedKey } from '../keys/format.js'
import type { Runtime } from '../runtime.js'
import type { CachedKey } from './cached-key.js'

/**
 * The entry when `credential` is its key and the key is usable now, else null. Every refusal here
 * is the same `invalid_token` outside, and an unknown id costs the same hash and comparison as a
 * wrong secret, so neither the answer nor its timing tells ids apart.
 *
 * @example
 * ```ts
 * const principal = acceptKey(rt, parsed, credential, await rt.cache.get(parsed.keyId, rt.loadKey, rt.buildKey), now)
 * ```
 */
export function acceptKey(rt: Runtime, parsed: ParsedKey, credential: string, entry: CachedKey | null, now: number): CachedKey | null {
  const digest = rt.hash(credential)
  if (entry === null) {
    digestEqualsHex(digest, DUMMY_HEX)
    return null
  }
  const record = entry.record
  if (
    // A stored hash that is not 64 hex digits never matches.
    !digestEqualsHex(digest, record.hash) ||
    // Any revocation counts, whatever its time: `revokedAt` is stamped with the revoking
    // instance's clock, and an instance whose clock lags must not read it as still to come.
    record.revokedAt !== null ||
    (record.expiresAt !== null && record.expiresAt <= now) ||
    record.environment !== rt.environment ||
    record.prefix !== parsed.prefix
  ) {
    return null
  }
  return entry
}
