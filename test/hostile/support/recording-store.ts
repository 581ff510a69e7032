import { MemoryTokenStore, type KeyRecord, type KeyRecordPatch, type TokenStore, type UpdateCondition } from 'keyward'

/**
 * A MemoryTokenStore that counts every write (insert, update, touch, refresh sessions) and can snapshot all it
 * holds, so that a hostile case can assert "nothing was written" two ways: no write call was
 * made, and the records are deep-equal before and after.
 */
export class RecordingStore extends MemoryTokenStore implements TokenStore {
  writes = 0
  readonly #orgs = new Set<string>()

  override insert(record: KeyRecord): Promise<boolean> {
    this.writes++
    this.#orgs.add(record.orgId)
    return super.insert(record)
  }

  override update(id: string, patch: KeyRecordPatch, condition?: UpdateCondition): Promise<KeyRecord | null> {
    this.writes++
    return super.update(id, patch, condition)
  }

  override touch(entries: ReadonlyArray<{ id: string; lastUsedAt: number }>): Promise<void> {
    this.writes++
    return super.touch(entries)
  }

  override insertRefreshFamily(...args: Parameters<MemoryTokenStore['insertRefreshFamily']>) {
    this.writes++
    return super.insertRefreshFamily(...args)
  }

  override rotateRefreshFamily(...args: Parameters<MemoryTokenStore['rotateRefreshFamily']>) {
    this.writes++
    return super.rotateRefreshFamily(...args)
  }

  override revokeRefreshFamily(...args: Parameters<MemoryTokenStore['revokeRefreshFamily']>) {
    this.writes++
    return super.revokeRefreshFamily(...args)
  }

  /** Every record of every org seen, revoked included, as plain data. */
  async snapshot(): Promise<{ writes: number; records: KeyRecord[] }> {
    const records: KeyRecord[] = []
    for (const org of [...this.#orgs].sort()) records.push(...(await super.listByOrg(org, { includeRevoked: true })))
    return { writes: this.writes, records }
  }
}
