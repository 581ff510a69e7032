import { describe, expect, it } from 'vitest'
import { MemoryTokenStore } from '../../src/stores/memory-token-store.js'
import { bareRecord, describeTokenStoreConformance, familyRecord } from '../../testing/index.js'

describeTokenStoreConformance('MemoryTokenStore', async () => {
  const store = new MemoryTokenStore()
  // Two keyward instances in one process may share one memory store: that is its "other instance".
  return { store, close: async () => {}, peer: async () => store }
})

describe('MemoryTokenStore refresh families', () => {
  it('sweeps expired families every 1,024 inserts, so families nobody touches again do not pile up', async () => {
    const store = new MemoryTokenStore()
    const t = Date.now()
    const stale = []
    for (let i = 0; i < 1023; i++) {
      const family = familyRecord({ createdAt: t, expiresAt: t + 10 })
      stale.push(family)
      expect(await store.insertRefreshFamily(family)).toBe(true)
    }
    // Not expired yet at t: every one is still there.
    expect(await store.findRefreshFamily(stale[0]!.id, t)).not.toBeNull()
    // The 1,024th insert, made after they expired, sweeps them: asked about time t again, they are gone.
    const fresh = familyRecord({ createdAt: t + 10, expiresAt: t + 1000 })
    expect(await store.insertRefreshFamily(fresh)).toBe(true)
    for (const family of stale) expect(await store.findRefreshFamily(family.id, t)).toBeNull()
    expect(await store.findRefreshFamily(fresh.id, t)).toStrictEqual(fresh)
  })
})

describe('MemoryTokenStore conditional update', () => {
  it('announces only the writes it applied', async () => {
    const store = new MemoryTokenStore()
    const record = bareRecord()
    await store.insert(record)
    const heard: unknown[] = []
    store.subscribe((e) => heard.push(e))
    expect(await store.update(record.id, { name: 'lost' }, { ifVersion: 9 })).toBeNull()
    expect(heard).toStrictEqual([])
    await store.update(record.id, { name: 'won' }, { ifVersion: 0 })
    expect(heard).toStrictEqual([{ type: 'key', id: record.id }])
  })
})
