/**
 * What one cached key is made of: the verify() cache at 100k keys, taken apart. Each row is the
 * heap growth per key of building one piece for every key (after two full GCs). Run with
 * `node --expose-gc --import tsx bench/memory-breakdown.ts [row]`; it prints a table and is not part of
 * `npm run bench` (bench/memory.bench.ts has the headline figure).
 */
import { LRUCache } from 'lru-cache'
import { createKeyward, MemoryTokenStore } from '../src/index.js'
import { buildCachedKey } from '../src/verify/cached-key.js'
import { parseKey } from '../src/keys/format.js'
import type { KeyRecord } from '../src/types.js'
import { fillStore, heapUsed } from './fixtures.js'

const N = 100_000
const store = new MemoryTokenStore()
const keys = await fillStore(store, N)
const records: KeyRecord[] = []
for (const key of keys) records.push((await store.findById(parseKey(key, ['bsk'])!.keyId))!)
const settings = { expandScopes: (s: readonly string[]) => [...s], defaultRateLimit: [] }
const retained: unknown[] = []

// One row by number (`… memory-breakdown.ts 5`) measures it alone, with no other row's leftovers.
const only = process.argv[2] === undefined ? undefined : Number(process.argv[2])
let row = 0
async function perKey(name: string, fill: () => unknown): Promise<void> {
  row++
  if (only !== undefined && only !== row) return
  const before = heapUsed()
  retained.push(await fill())
  console.log(`${name.padEnd(58)} ${((heapUsed() - before) / N).toFixed(0).padStart(6)} B`)
}

await perKey('LRU slot (fresh id string -> one shared object, ttl)', () => {
  const lru = new LRUCache<string, object>({ max: N, ttl: 30_000, ttlResolution: 0 })
  const shared = {}
  for (const key of keys) lru.set(parseKey(key, ['bsk'])!.keyId, shared)
  return lru
})
await perKey('store copies (what findById hands over)', () => keys.map((key) => store.findById(parseKey(key, ['bsk'])!.keyId)))
await perKey('buildCachedKey entries, auth.key never read', () => records.map((r) => buildCachedKey(settings, r)))
await perKey('buildCachedKey entries, auth.key read once', () =>
  records.map((r) => {
    const e = buildCachedKey(settings, r)
    void e.auth.key
    return e
  }),
)
// A database store hands every lookup fresh strings and arrays (a row decoded); the memory store
// shares its strings with the cache, so the headline figure leaves them out. Both are shown.
class FreshStore extends MemoryTokenStore {
  override async findById(id: string): Promise<KeyRecord | null> {
    const record = await super.findById(id)
    return record === null ? null : (JSON.parse(JSON.stringify(record)) as KeyRecord)
  }
}
const fresh = new FreshStore()
for (const r of records) await fresh.insert(r)
for (const [name, source] of [
  ['verify() cache, MemoryTokenStore (as bench/memory.bench.ts)', store],
  ['verify() cache, store handing fresh strings (as a database)', fresh],
] as const) {
  await perKey(name, async () => {
    const kw = createKeyward({ prefix: 'bsk', store: source, cache: { max: N }, usageFlushMs: false })
    const headers = { authorization: '' }
    for (const key of keys) {
      headers.authorization = `Bearer ${key}`
      const r = await kw.verify({ headers, ip: '203.0.113.10' })
      if (!r.ok) throw new Error(r.error.code)
    }
    return kw
  })
}
