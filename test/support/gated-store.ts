import type { InvalidationEvent, KeyRecord, KeyRecordPatch, ListOptions, TokenStore } from '../../src/index.js'

interface Hold {
  arrive: () => void
  released: Promise<void>
}

/**
 * A store that can hold a write back: `holdNextUpdate()` makes the next `update` call wait until
 * released, so a test can run a whole second operation between another one's read and its write
 * and so force each interleaving, deterministically (no timers, no sleeps).
 */
export class GatedStore implements TokenStore {
  readonly #holds: Hold[] = []

  constructor(readonly inner: TokenStore) {}

  /** The next `update` waits for `release()`; `reached` resolves once it is waiting. */
  holdNextUpdate(): { reached: Promise<void>; release: () => void } {
    let arrive!: () => void
    let release!: () => void
    const reached = new Promise<void>((resolve) => (arrive = resolve))
    const released = new Promise<void>((resolve) => (release = resolve))
    this.#holds.push({ arrive, released })
    return { reached, release }
  }

  findById(id: string): Promise<KeyRecord | null> {
    return this.inner.findById(id)
  }

  insert(record: KeyRecord): Promise<boolean> {
    return this.inner.insert(record)
  }

  async update(...args: Parameters<TokenStore['update']>): Promise<KeyRecord | null> {
    const hold = this.#holds.shift()
    if (hold !== undefined) {
      hold.arrive()
      await hold.released
    }
    return this.inner.update(...args)
  }

  listByOrg(orgId: string, options?: ListOptions): Promise<KeyRecord[]> {
    return this.inner.listByOrg(orgId, options)
  }

  touch(entries: ReadonlyArray<{ id: string; lastUsedAt: number }>): Promise<void> {
    return this.inner.touch(entries)
  }

  subscribe(listener: (event: InvalidationEvent) => void): () => void {
    return this.inner.subscribe!(listener)
  }
}

export type { KeyRecordPatch }
