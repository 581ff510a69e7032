/**
 * Heap per key at 100k keys: per cached key (verify() filling its cache), per stored record in
 * the MemoryTokenStore, per limiter key (keyward's MemoryRateLimiter beside rate-limiter-flexible's
 * RateLimiterMemory and an lru-cache fixed window) and per locked-out address. Each figure is the
 * heap growth after a full GC divided by the number of keys. Needs --expose-gc (the runner passes
 * it): `node --expose-gc --import tsx bench/memory.bench.ts`.
 */
import { LRUCache } from 'lru-cache'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore } from '../src/index.js'
import { fillStore, heapUsed } from './fixtures.js'
import { emit, smoke, type Row } from './harness.js'

const N = smoke ? 2_000 : 100_000
const HOUR = 3_600_000
const rule = [{ limit: 1000, windowMs: HOUR }]

// What each fill built stays reachable from here to the end, so no reading can see it collected
// (V8 may free a local that is never read again).
const retained: unknown[] = []

/** Heap growth per key while `fill` runs; `fill` returns what it built, and that is retained. */
async function perKey(fill: () => Promise<unknown> | unknown): Promise<number> {
  const before = heapUsed()
  retained.push(await fill())
  return (heapUsed() - before) / N
}

// Store records, then the cache filled by verifying each key once.
const store = new MemoryTokenStore()
let keys: string[] = []
const perRecord = await perKey(async () => {
  keys = await fillStore(store, N)
  return store
})
const kw = createKeyward({ prefix: 'bsk', store, cache: { max: N }, usageFlushMs: false })
const headers = { authorization: '' }
const perCached = await perKey(async () => {
  for (const key of keys) {
    headers.authorization = `Bearer ${key}`
    const r = await kw.verify({ headers, ip: '203.0.113.10' })
    if (!r.ok) throw new Error(`bench setup: ${r.error.code}`)
  }
  return kw
})

const ids = Array.from({ length: N }, (_, i) => `k${i.toString(36).padStart(7, '0')}`)
const keyward = new MemoryRateLimiter({ maxKeys: N, maxAddresses: N })
const perKeywardKey = await perKey(() => {
  const now = Date.now()
  for (const key of ids) keyward.limitSync({ key, rules: rule, now })
  return keyward
})
const flexible = new RateLimiterMemory({ points: 1000, duration: 3600 })
const perFlexibleKey = await perKey(async () => {
  for (const key of ids) await flexible.consume(key)
  return flexible
})
const windows = new LRUCache<string, { start: number; count: number }>({ max: N })
const perWindowKey = await perKey(() => {
  const now = Date.now()
  for (const key of ids) windows.set(key, { start: now, count: 1 })
  return windows
})
const addresses = Array.from({ length: N }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
const perAddress = await perKey(async () => {
  const now = Date.now()
  for (const address of addresses) await keyward.recordFailure(address, { maxFailures: 10, windowMs: 300_000 }, now)
  return keyward
})

const kib = (bytes: number) => (smoke ? 'smoke' : `${(bytes / 1024).toFixed(2)} KiB`)
const row = (name: string, bytes: number): Row => ({ name, value: smoke ? NaN : bytes, extra: { KiB: kib(bytes) } })
if (retained.length !== 6) throw new Error('bench: a fill was not retained')
emit({
  id: 'memory',
  title: `Memory per key (${N.toLocaleString('en-US')} keys)`,
  order: 60,
  note:
    'Heap growth (process.memoryUsage().heapUsed after two full GCs) divided by the number of keys. ' +
    'Records carry one project, one scope, no origin or IP rules and empty metadata; bigger records ' +
    'cost more in the store and in the cache.',
  tables: [
    {
      title: 'Keys',
      unit: 'bytes/key',
      higherIsBetter: false,
      columns: ['KiB'],
      note:
        'A cached key is the verified entry verify() keeps: the record as read from the store (a copy) ' +
        'plus the derived lookup data. The store row is the MemoryTokenStore alone (a database holds ' +
        'these in the other stores).',
      rows: [row('keyward verify() cache, per cached key', perCached), row('MemoryTokenStore, per stored record', perRecord)],
    },
    {
      title: 'Rate limiter state',
      unit: 'bytes/key',
      higherIsBetter: false,
      reference: 'keyward MemoryRateLimiter, per key (one rule)',
      columns: ['KiB'],
      rows: [
        row('keyward MemoryRateLimiter, per key (one rule)', perKeywardKey),
        row('rate-limiter-flexible RateLimiterMemory, per key', perFlexibleKey),
        row('lru-cache fixed window (hand-rolled), per key', perWindowKey),
        row('keyward lockout, per failing client address', perAddress),
      ],
    },
  ],
  targets: [
    {
      name: 'Heap per cached key ≤ 1 KiB',
      met: smoke ? undefined : perCached <= 1024,
      detail: smoke ? 'smoke' : `${Math.round(perCached)} bytes (${kib(perCached)}) at ${N.toLocaleString('en-US')} keys`,
    },
  ],
})
