/**
 * The code host's published signing keys: fetched, cached for a while, fetched again when a
 * payload names a key not seen yet (the host rotated), but never more often than a floor allows,
 * so a flood of made-up key ids cannot make this server hammer the host.
 */
import { readBoundedBody } from './responses.js'
import { importP256PublicKey } from './signature.js'

/**
 * Where and how the key list is fetched. Internal to the scanning handler.
 *
 * @example
 * ```ts
 * const keys = new PublicKeySet({
 *   url, ttlMs: 3_600_000, minRefetchMs: 60_000, timeoutMs: 5_000, maxStaleMs: 86_400_000, fetch, headers: {}, now: Date.now, onError,
 * })
 * ```
 */
export interface PublicKeySetOptions {
  url: string
  ttlMs: number
  minRefetchMs: number
  /** How long one fetch (answer and body) may take before it counts as failed. */
  timeoutMs: number
  /** How long past `ttlMs` a list still serves while every refresh fails; after that, 503s. */
  maxStaleMs: number
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
  /** When the last fetch was attempted, whether it worked or not: the floor counts from it. */
  private attemptedAt = -Infinity
  /** When the list in hand was fetched: its TTL and its staleness count from it. */
  private loadedAt = -Infinity
  private pending: Promise<Map<string, CryptoKey>> | undefined

  constructor(private readonly options: PublicKeySetOptions) {}

  /**
   * The key named `id`. An id the list in hand holds is answered at once, a due refresh running
   * meanwhile, so a slow host never holds deliveries up; an id it lacks waits for a fetch. Fetches,
   * failed ones included, start at most once per floor (`minRefetchMs`) whatever ids requests name,
   * so made-up ids cannot make the server hammer the host, and each takes at most `timeoutMs`.
   */
  async get(id: string): Promise<CryptoKey | KeyLookupFailure> {
    const now = this.options.now()
    const { ttlMs, minRefetchMs, maxStaleMs } = this.options
    // A list no refresh could renew for this long is dropped: the host may have withdrawn a key since.
    if (this.keys !== undefined && now - this.loadedAt >= ttlMs + maxStaleMs) this.keys = undefined
    let keys = this.keys
    const mayFetch = now - this.attemptedAt >= minRefetchMs
    const cached = keys?.get(id)
    if (cached !== undefined) {
      if (now - this.loadedAt >= ttlMs && mayFetch) this.refresh().catch(() => {}) // onError is told inside refresh()
      return cached
    }
    // An id the list lacks (or no list): wait for a fetch running already, or start one if the floor allows.
    if (this.pending !== undefined || mayFetch) {
      try {
        keys = await this.refresh()
      } catch {
        return 'unavailable'
      }
    }
    if (keys === undefined) return 'unavailable'
    return keys.get(id) ?? 'unknown'
  }

  private refresh(): Promise<Map<string, CryptoKey>> {
    // Concurrent requests share one fetch.
    this.pending ??= this.load()
      .catch((error: unknown) => {
        this.options.onError(error)
        throw error
      })
      .finally(() => {
        this.pending = undefined
      })
    return this.pending
  }

  private async load(): Promise<Map<string, CryptoKey>> {
    // Counted from the attempt: a failing host is not retried by every request either.
    this.attemptedAt = this.options.now()
    const { timeoutMs } = this.options
    // A timer rather than AbortSignal.timeout(): it also ends a fetch that ignores its signal, and
    // it works the same on Node, Bun, Deno and workerd.
    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`keyward: the public key list did not arrive within ${timeoutMs} ms`)
        controller.abort(error)
        reject(error)
      }, timeoutMs)
    })
    try {
      const keys = await Promise.race([this.fetchList(controller.signal), timeout])
      this.keys = keys
      this.loadedAt = this.options.now()
      return keys
    } finally {
      clearTimeout(timer)
    }
  }

  private async fetchList(signal: AbortSignal): Promise<Map<string, CryptoKey>> {
    const response = await this.options.fetch(this.options.url, {
      headers: { accept: 'application/json', ...this.options.headers },
      signal,
    })
    if (!response.ok) {
      await response.body?.cancel().catch(() => {})
      throw new Error(`keyward: the public key list answered ${response.status}`)
    }
    const bytes = await readBoundedBody(response, MAX_KEYS_BYTES)
    if (bytes === null) throw new Error(`keyward: the public key list is larger than ${MAX_KEYS_BYTES} bytes`)
    const list = (JSON.parse(new TextDecoder().decode(bytes)) as { public_keys?: unknown }).public_keys
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
    return keys
  }
}
