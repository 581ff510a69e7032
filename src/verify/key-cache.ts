import { LRUCache } from 'lru-cache'
import type { KeyRecord } from '../types.js'

/**
 * Options of the verified-key cache (`createKeyward({ cache })`).
 *
 * @example
 * ```ts
 * createKeyward({ prefix: 'bsk', cache: { ttlMs: 10_000, max: 50_000 } })
 * ```
 */
export interface CacheOptions {
  /** How long a looked-up key is trusted without asking the store again. Default 30,000 ms. */
  ttlMs?: number
  /** Most keys kept. Default 10,000. */
  max?: number
  /** How long an unknown key id is remembered as unknown. Default: `ttlMs`; 0 disables. */
  negativeTtlMs?: number
  /** Most unknown ids remembered. Default 10,000. */
  negativeMax?: number
  /**
   * While the store reports that other instances' announcements do not reach this one (an
   * InvalidationEvent `degraded`), keys are trusted this long at most, so a revocation elsewhere
   * still lands within it. Default 800 ms, so that with the read and announcement delays a
   * revocation lands within 1 s of its commit.
   */
  degradedTtlMs?: number
}

/**
 * A bounded cache of store answers by key id, positive and negative. Every change made through
 * `kw.keys` or announced by the store invalidates the id at once. A lookup that was in flight
 * while an invalidation happened is not cached, so a revoked record cannot come back from a race.
 *
 * @example
 * ```ts
 * const cache = new KeyCache<Entry>({ ttlMs: 30_000 }, Date.now)
 * const entry = await cache.get(id, (i) => store.findById(i), build)
 * ```
 */
export class KeyCache<T extends { record: KeyRecord }> {
  readonly #entries: LRUCache<string, T> | undefined
  readonly #absent: LRUCache<string, true> | undefined
  readonly #inflight = new Map<string, Promise<T | null>>()
  #epoch = 0
  readonly #ttl: number = 0
  readonly #negativeTtl: number = 0
  /** Set while degraded: the shorter TTLs entries are stored with. */
  #cap: { ttl: number } | undefined
  #absentCap: { ttl: number } | undefined

  constructor(options: CacheOptions | false, now: () => number) {
    if (options === false) return
    const ttl = options.ttlMs ?? 30_000
    // Unknown ids are remembered as long as known ones by default, so that whether an id exists
    // cannot be read off the timing of a repeated attempt (cache hit vs store round trip).
    const negativeTtl = options.negativeTtlMs ?? ttl
    // ttlResolution 0: ask the (injectable) clock on every read instead of a cached time.
    const perf = { now }
    this.#ttl = ttl
    this.#negativeTtl = negativeTtl
    if (ttl > 0) this.#entries = new LRUCache({ max: options.max ?? 10_000, ttl, perf, ttlResolution: 0 })
    if (negativeTtl > 0) this.#absent = new LRUCache({ max: options.negativeMax ?? 10_000, ttl: negativeTtl, perf, ttlResolution: 0 })
  }

  /**
   * The cached entry for `id`, else one built from a store lookup (concurrent misses for one id
   * share a single lookup). Null when the store has no such id.
   */
  get(id: string, load: (id: string) => Promise<KeyRecord | null>, build: (record: KeyRecord) => T): Promise<T | null> | T | null {
    const hit = this.#entries?.get(id)
    if (hit !== undefined) return hit
    if (this.#absent?.get(id) === true) return null
    const pending = this.#inflight.get(id)
    if (pending !== undefined) return pending
    const epoch = this.#epoch
    const settle = () => {
      if (this.#inflight.get(id) === lookup) this.#inflight.delete(id)
    }
    const lookup: Promise<T | null> = load(id).then(
      (record) => {
        settle()
        const entry = record === null ? null : build(record)
        if (epoch === this.#epoch) {
          if (entry === null) this.#absent?.set(id, true, this.#absentCap)
          else this.#entries?.set(id, entry, this.#cap)
        }
        return entry
      },
      (error: unknown) => {
        settle()
        throw error
      },
    )
    this.#inflight.set(id, lookup)
    return lookup
  }

  /** Forgets `id` (and any lookup of it in flight). */
  invalidate(id: string): void {
    this.#epoch++
    this.#entries?.delete(id)
    this.#absent?.delete(id)
    this.#inflight.delete(id)
  }

  /**
   * Forgets everything; entries cached from now on live at most `ttlMs` (undefined: the configured
   * TTLs again). keyward caps it while the store's invalidation channel is degraded.
   */
  capTtl(ttlMs: number | undefined): void {
    this.clear()
    this.#cap = ttlMs === undefined ? undefined : { ttl: Math.min(ttlMs, this.#ttl) }
    this.#absentCap = ttlMs === undefined ? undefined : { ttl: Math.min(ttlMs, this.#negativeTtl) }
  }

  /** Forgets everything. */
  clear(): void {
    this.#epoch++
    this.#entries?.clear()
    this.#absent?.clear()
    this.#inflight.clear()
  }
}
