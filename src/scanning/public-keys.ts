/**
 * The code host's published signing keys: fetched, cached for a while, fetched again when a
 * payload names a key not seen yet (the host rotated), but never more often than a floor allows,
 * so a flood of made-up key ids cannot make this server hammer the host.
 */
import { importP256PublicKey } from './signature.js'

/**
 * Where and how the key list is fetched. Internal to the scanning handler.
 *
 * @example
 * ```ts
 * const keys = new PublicKeySet({ url, ttlMs: 3_600_000, minRefetchMs: 60_000, fetch, headers: {}, now: Date.now, onError })
 * ```
 */
export interface PublicKeySetOptions {
  url: string
  ttlMs: number
  minRefetchMs: number
  fetch: typeof fetch
  headers: Record<string, string>
  now: () => number
  /** Told why a fetch failed (the request is answered 503 meanwhile unless a cached key serves). */
  onError: (error: unknown) => void
}

/**
 * Why no key could be found: the list could not be had (`unavailable`, a 503), or it was had
 * and does not hold this id (`unknown`, a 401).
 *
 * @example
 * ```ts
 * const found = await keys.get(id) // CryptoKey | 'unknown' | 'unavailable'
 * ```
 */
export type KeyLookupFailure = 'unknown' | 'unavailable'

const MAX_KEYS_BYTES = 262_144

/**
 * The cached key list, by `key_identifier`.
 *
 * @example
 * ```ts
 * const key = await keys.get(request.headers.get('github-public-key-identifier') ?? '')
 * ```
 */
export class PublicKeySet {
  private keys: Map<string, CryptoKey> | undefined
  private fetchedAt = -Infinity
  private pending: Promise<Map<string, CryptoKey>> | undefined

  constructor(private readonly options: PublicKeySetOptions) {}

  /** The key named `id`, fetching the list when it is stale or (at most once per floor) when it lacks the id. */
  async get(id: string): Promise<CryptoKey | KeyLookupFailure> {
    const now = this.options.now()
    const age = now - this.fetchedAt
    let keys = this.keys
    try {
      if (keys === undefined || age >= this.options.ttlMs || (!keys.has(id) && age >= this.options.minRefetchMs))
        keys = await this.refresh()
    } catch (error) {
      this.options.onError(error)
      // A stale list still serves the ids it holds: the host's keys outlive a fetch failure.
      if (keys === undefined || !keys.has(id)) return 'unavailable'
    }
    return keys.get(id) ?? 'unknown'
  }

  private refresh(): Promise<Map<string, CryptoKey>> {
    // Concurrent requests share one fetch.
    this.pending ??= this.load()
      .catch((error: unknown) => {
        // A failed fetch is retried after the floor, not after a whole TTL.
        this.fetchedAt = this.options.now() - this.options.ttlMs + this.options.minRefetchMs
        throw error
      })
      .finally(() => {
        this.pending = undefined
      })
    return this.pending
  }

  private async load(): Promise<Map<string, CryptoKey>> {
    // Counted from the attempt: a failing host is not retried by every request either.
    this.fetchedAt = this.options.now()
    const response = await this.options.fetch(this.options.url, { headers: { accept: 'application/json', ...this.options.headers } })
    if (!response.ok) throw new Error(`keyward: the public key list answered ${response.status}`)
    const text = await response.text()
    if (text.length > MAX_KEYS_BYTES) throw new Error('keyward: the public key list is too large')
    const list = (JSON.parse(text) as { public_keys?: unknown }).public_keys
    if (!Array.isArray(list)) throw new Error('keyward: the public key list has no public_keys array')
    const keys = new Map<string, CryptoKey>()
    for (const entry of list as { key_identifier?: unknown; key?: unknown }[]) {
      if (entry === null || typeof entry !== 'object') continue
      if (typeof entry.key_identifier !== 'string' || typeof entry.key !== 'string') continue
      try {
        keys.set(entry.key_identifier, await importP256PublicKey(entry.key))
      } catch {
        // A key that is not P-256 cannot verify anything this handler accepts: skip it, keep the rest.
      }
    }
    if (keys.size === 0) throw new Error('keyward: the public key list holds no usable P-256 key')
    this.keys = keys
    return keys
  }
}
