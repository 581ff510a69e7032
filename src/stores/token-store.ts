import type { KeyRecord } from '../types.js'

/**
 * What another instance (or this one) announces about stored keys.
 *
 * @example
 * ```ts
 * store.subscribe?.((event) => {
 *   if (event.type === 'key') console.log('changed:', event.id)
 * })
 * ```
 */
export type InvalidationEvent =
  /** The key with this id changed (updated, revoked, rotated): drop it from caches. */
  | { type: 'key'; id: string }
  /** The announcements may have been missed (e.g. a lost subscription): drop every cached key. */
  | { type: 'flush' }

/**
 * Options of {@link TokenStore.listByOrg}.
 *
 * @example
 * ```ts
 * await store.listByOrg('org_1', { includeRevoked: true, limit: 50, after: lastId })
 * ```
 */
export interface ListOptions {
  includeRevoked?: boolean
  /** At most this many records, oldest first. */
  limit?: number
  /** Only records whose id sorts after this one (keyset pagination). */
  after?: string
}

/**
 * Fields {@link TokenStore.update} may change.
 *
 * @example
 * ```ts
 * await store.update(id, { revokedAt: Date.now(), updatedAt: Date.now() })
 * ```
 */
export type KeyRecordPatch = Partial<Omit<KeyRecord, 'id' | 'prefix' | 'environment' | 'orgId' | 'createdAt'>>

/**
 * Where keys live. Every method rejects when the backend fails; keyward turns that into a 503
 * and never into a pass. Records handed in and out are copies: mutating one changes nothing stored.
 *
 * @example
 * ```ts
 * class MyStore implements TokenStore {
 *   async findById(id) { return db.keys.find(id) ?? null }
 *   // ...
 * }
 * ```
 */
export interface TokenStore {
  /** The record with this key id, revoked or not, or null. The hot path's only read. */
  findById(id: string): Promise<KeyRecord | null>
  /** Stores a new record; resolves false (storing nothing) when the id is taken. */
  insert(record: KeyRecord): Promise<boolean>
  /** Applies `patch` and resolves with the new record, or null when there is no such id. */
  update(id: string, patch: KeyRecordPatch): Promise<KeyRecord | null>
  /** The org's records, ordered by id. */
  listByOrg(orgId: string, options?: ListOptions): Promise<KeyRecord[]>
  /** Records last-used times in one batch, off the request path. Unknown ids are ignored. */
  touch(entries: ReadonlyArray<{ id: string; lastUsedAt: number }>): Promise<void>
  /**
   * Calls `listener` whenever a key changes through any instance sharing this store.
   * Returns the function that unsubscribes.
   */
  subscribe?(listener: (event: InvalidationEvent) => void): () => void
}
