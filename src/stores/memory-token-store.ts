import {
  checkFamilyId,
  checkFamilyTime,
  checkRefreshFamilyRecord,
  checkRotation,
  rotationOutcome,
  type RefreshFamilyRecord,
  type RefreshRotation,
} from '../jwt/refresh-family.js'
import { checkOptions } from '../internal/options.js'
import { applyKeyRecordPatch, copyKeyRecord } from '../keys/record-codec.js'
import type { KeyRecord } from '../types.js'
import type { InvalidationEvent, KeyRecordPatch, ListOptions, TokenStore, UpdateCondition } from './token-store.js'

// Expired families are dropped when touched; a sweep every this many inserts bounds the rest.
const SWEEP_EVERY = 1024

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
  readonly #families = new Map<string, RefreshFamilyRecord>()
  #insertsSinceSweep = 0

  /** Takes no options today; any given is refused, so that a setting meant for another store is not silently ignored. */
  constructor(options: Readonly<Record<string, never>> = {}) {
    checkOptions(options, {}, { notObject: 'MemoryTokenStore options must be an object' })
  }

  findById(id: string): Promise<KeyRecord | null> {
    const record = this.#records.get(id)
    return Promise.resolve(record === undefined ? null : copyKeyRecord(record))
  }

  insert(record: KeyRecord): Promise<boolean> {
    if (this.#records.has(record.id)) return Promise.resolve(false)
    this.#records.set(record.id, copyKeyRecord(record))
    return Promise.resolve(true)
  }

  update(id: string, patch: KeyRecordPatch, condition?: UpdateCondition): Promise<KeyRecord | null> {
    const current = this.#records.get(id)
    if (current === undefined) return Promise.resolve(null)
    // No await between the check and the write: they are one step.
    if (condition !== undefined && current.version !== condition.ifVersion) return Promise.resolve(null)
    const next = applyKeyRecordPatch(current, patch)
    next.version = current.version + 1
    this.#records.set(id, next)
    this.#announce({ type: 'key', id })
    return Promise.resolve(copyKeyRecord(next))
  }

  listByOrg(orgId: string, options: ListOptions = {}): Promise<KeyRecord[]> {
    const out: KeyRecord[] = []
    const ids = [...this.#records.keys()].sort()
    for (const id of ids) {
      if (options.after !== undefined && id <= options.after) continue
      const record = this.#records.get(id)!
      if (record.orgId !== orgId) continue
      if (!options.includeRevoked && record.revokedAt !== null) continue
      out.push(copyKeyRecord(record))
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

  async insertRefreshFamily(record: RefreshFamilyRecord): Promise<boolean> {
    const clean = checkRefreshFamilyRecord(record)
    if (++this.#insertsSinceSweep >= SWEEP_EVERY) {
      this.#insertsSinceSweep = 0
      await this.purgeExpiredRefreshFamilies(clean.createdAt)
    }
    if (this.#families.has(clean.id)) return false
    this.#families.set(clean.id, clean)
    return true
  }

  async rotateRefreshFamily(id: string, presented: string, next: string, expiresAt: number, now: number): Promise<RefreshRotation> {
    checkRotation(id, presented, next, expiresAt, now)
    // No await between the read and the write: the check and the change are one step.
    const family = this.#live(id, now)
    const outcome = rotationOutcome(family, presented, now)
    if (outcome === 'rotated') this.#families.set(id, { ...family!, current: next, expiresAt })
    else if (outcome === 'reused') this.#families.set(id, { ...family!, revokedAt: now })
    return outcome
  }

  async revokeRefreshFamily(id: string, now: number): Promise<boolean> {
    checkFamilyId(id, 'id')
    checkFamilyTime(now, 'now')
    const family = this.#live(id, now)
    if (family === null || family.revokedAt !== null) return false
    this.#families.set(id, { ...family, revokedAt: now })
    return true
  }

  async findRefreshFamily(id: string, now: number = Date.now()): Promise<RefreshFamilyRecord | null> {
    checkFamilyId(id, 'id')
    checkFamilyTime(now, 'now')
    const family = this.#live(id, now)
    return family === null ? null : { ...family }
  }

  async purgeExpiredRefreshFamilies(now: number): Promise<number> {
    checkFamilyTime(now, 'now')
    let purged = 0
    for (const [id, family] of this.#families) {
      if (family.expiresAt <= now) {
        this.#families.delete(id)
        purged += 1
      }
    }
    return purged
  }

  /** The family unless absent or expired at `now` (an expired one is dropped on the way). */
  #live(id: string, now: number): RefreshFamilyRecord | null {
    const family = this.#families.get(id)
    if (family === undefined) return null
    if (family.expiresAt <= now) {
      this.#families.delete(id)
      return null
    }
    return family
  }

  #announce(event: InvalidationEvent): void {
    for (const listener of this.#listeners) listener(event)
  }
}
