import type { RefreshFamilyRecord, RefreshRotation } from '../jwt/refresh-family.js'
import type { PatchableField } from '../keys/record-fields.js'
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
   * Other instances' announcements do not arrive (the subscription cannot be opened, or its
   * self-test is not heard, e.g. LISTEN through a transaction-mode pooler): drop every cached
   * key and keep keys only for a short TTL (`cache.degradedTtlMs`) until `healthy`.
   */
  | { type: 'degraded'; error: Error }
  /** Announcements arrive again after `degraded` (a `flush` follows): the normal cache TTL is back. */
  | { type: 'healthy' }

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
 * Fields {@link TokenStore.update} may change: those marked `patch` in `KEY_RECORD_FIELDS`
 * (`src/keys/record-fields.ts`).
 *
 * @example
 * ```ts
 * await store.update(id, { revokedAt: Date.now(), updatedAt: Date.now() })
 * ```
 */
export type KeyRecordPatch = Partial<Pick<KeyRecord, PatchableField>>

/**
 * The condition of a conditional {@link TokenStore.update}: the write happens only if the stored
 * record is still the one the caller read. keyward passes it on every lifecycle change (update,
 * revoke, rotate), so that of two concurrent changes read from the same version only one lands.
 *
 * @example
 * ```ts
 * const current = await store.findById(id)
 * const changed = await store.update(id, { name: 'Renamed' }, { ifVersion: current!.version })
 * if (changed === null) console.log('someone else changed it first: read again')
 * ```
 */
export interface UpdateCondition {
  /** Apply the patch only when the stored record's `version` equals this. */
  ifVersion: number
}

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
  /**
   * Applies `patch`, sets `version` to the stored version plus one, and resolves with the new
   * record; resolves null, changing and announcing nothing, when there is no such id or when
   * `condition.ifVersion` differs from the stored `version`.
   *
   * A custom store MUST make the version check, the patch and the version bump one atomic step:
   * no other write to the record may land between them (one SQL statement with the check in its
   * WHERE clause, a Lua script, a compare-and-set, a lock). keyward's guarantees rest on it:
   * exactly one of two concurrent rotations wins, and no interleaving of rotate, update and
   * revoke revives or un-expires a key. A store that ignores the condition silently loses them.
   * `insert` stores `version` as given; `touch` leaves it alone.
   */
  update(id: string, patch: KeyRecordPatch, condition?: UpdateCondition): Promise<KeyRecord | null>
  /** The org's records, ordered by id. */
  listByOrg(orgId: string, options?: ListOptions): Promise<KeyRecord[]>
  /** Records last-used times in one batch, off the request path. Unknown ids are ignored. */
  touch(entries: ReadonlyArray<{ id: string; lastUsedAt: number }>): Promise<void>
  /**
   * Calls `listener` whenever a key changes through any instance sharing this store.
   * Returns the function that unsubscribes. A store that can lose announcements (a dropped
   * connection, a pooler that swallows them) emits `flush` when it may have missed some, and
   * `degraded` while it cannot hear them at all, then `healthy` once it can; a listener that does
   * not know an event type must treat it as `flush`.
   */
  subscribe?(listener: (event: InvalidationEvent) => void): () => void

  // Refresh-token families (JWT refresh rotation). Optional: a store without them cannot back
  // refresh tokens. Every method rejects with a TypeError on a bad argument, storing nothing.

  /** Stores a new family; resolves false (storing nothing) when the id is taken. */
  insertRefreshFamily?(record: RefreshFamilyRecord): Promise<boolean>
  /**
   * Atomically, at `now`: an absent or expired family → `unknown`; a revoked one → `revoked`;
   * `presented` is its current jti → `next` becomes current, `expiresAt` its new expiry →
   * `rotated`; otherwise (a retired jti presented again) the family is revoked → `reused`. Of
   * concurrent calls presenting the same jti, exactly one resolves `rotated`.
   */
  rotateRefreshFamily?(id: string, presented: string, next: string, expiresAt: number, now: number): Promise<RefreshRotation>
  /**
   * Sets `revokedAt` to `now` unless already set. Resolves true only when this call revoked it;
   * false when absent, expired or already revoked, so that of concurrent calls exactly one is true.
   */
  revokeRefreshFamily?(id: string, now: number): Promise<boolean>
  /** The family, or null when absent or expired at `now` (default: the local clock). For tests and admin use. */
  findRefreshFamily?(id: string, now?: number): Promise<RefreshFamilyRecord | null>
  /** Deletes families expired at `now`; resolves how many. Stores that expire them on their own may omit it. */
  purgeExpiredRefreshFamilies?(now: number): Promise<number>
}
