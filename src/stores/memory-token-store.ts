import type { KeyRecord } from '../types.js'
import type { InvalidationEvent, KeyRecordPatch, ListOptions, TokenStore } from './token-store.js'

function copy(record: KeyRecord): KeyRecord {
  return structuredClone(record)
}

/**
 * Keys in a Map in this process: the default store, and the one for unit tests. Keys vanish
 * when the process exits; use the Postgres or Redis store for anything that must last.
 *
 * @example
 * ```ts
 * const store = new MemoryTokenStore()
 * const kw = createKeyward({ prefix: 'bsk', store })
 * ```
 */
export class MemoryTokenStore implements TokenStore {
  readonly #records = new Map<string, KeyRecord>()
  readonly #listeners = new Set<(event: InvalidationEvent) => void>()

  findById(id: string): Promise<KeyRecord | null> {
    const record = this.#records.get(id)
    return Promise.resolve(record === undefined ? null : copy(record))
  }

  insert(record: KeyRecord): Promise<boolean> {
    if (this.#records.has(record.id)) return Promise.resolve(false)
    this.#records.set(record.id, copy(record))
    return Promise.resolve(true)
  }

  update(id: string, patch: KeyRecordPatch): Promise<KeyRecord | null> {
    const current = this.#records.get(id)
    if (current === undefined) return Promise.resolve(null)
    const next: KeyRecord = { ...current, ...structuredClone(patch), id: current.id }
    this.#records.set(id, next)
    this.#announce({ type: 'key', id })
    return Promise.resolve(copy(next))
  }

  listByOrg(orgId: string, options: ListOptions = {}): Promise<KeyRecord[]> {
    const out: KeyRecord[] = []
    const ids = [...this.#records.keys()].sort()
    for (const id of ids) {
      if (options.after !== undefined && id <= options.after) continue
      const record = this.#records.get(id)!
      if (record.orgId !== orgId) continue
      if (!options.includeRevoked && record.revokedAt !== null) continue
      out.push(copy(record))
      if (options.limit !== undefined && out.length >= options.limit) break
    }
    return Promise.resolve(out)
  }

  touch(entries: ReadonlyArray<{ id: string; lastUsedAt: number }>): Promise<void> {
    for (const { id, lastUsedAt } of entries) {
      const record = this.#records.get(id)
      if (record !== undefined && (record.lastUsedAt ?? 0) < lastUsedAt) record.lastUsedAt = lastUsedAt
    }
    return Promise.resolve()
  }

  subscribe(listener: (event: InvalidationEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #announce(event: InvalidationEvent): void {
    for (const listener of this.#listeners) listener(event)
  }
}
