/**
 * verify() throughput as the store grows: 1k, 100k and 1M keys in a MemoryTokenStore, a cache
 * hit and a cache miss (cache off: every call reads the store), both cycling the same
 * 1,000 keys spread over the whole store. Flat rows mean the cost per request
 * does not grow with the number of keys. Smoke runs use 100 and 1,000 keys.
 * Run alone: `node --expose-gc --max-old-space-size=8192 --import tsx bench/scaling.bench.ts`.
 */
import { createKeyward, MemoryTokenStore } from '../src/index.js'
import { fillStore, heapUsed } from './fixtures.js'
import { emit, measure, smoke, type Result, type Row, type Target } from './harness.js'

const SIZES = smoke ? [100, 1_000] : [1_000, 100_000, 1_000_000]
// The same working set at every size, so only the store's size changes between rows.
const SAMPLE = 1_000

const fmt = (n: number) => n.toLocaleString('en-US')
interface Setup {
  size: number
  fillSeconds: number
  heapMiB: number
  inputs: { headers: { authorization: string }; ip: string }[]
  cached: ReturnType<typeof createKeyward>
  uncached: ReturnType<typeof createKeyward>
}
// Every store is built first and kept, so the sizes can be measured in interleaved passes: a
// noisy moment on the shared machine then lands on one pass of one size, not on a whole size.
const setups: Setup[] = []
for (const size of SIZES) {
  const store = new MemoryTokenStore()
  const started = performance.now()
  // Keep an evenly spread sample of keys, so lookups land all over the store.
  const keys = await fillStore(store, size, Math.max(1, Math.floor(size / SAMPLE)))
  const fillSeconds = (performance.now() - started) / 1000
  const inputs = keys.slice(0, SAMPLE).map((key) => ({ headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.10' }))
  const cached = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
  const uncached = createKeyward({ prefix: 'bsk', store, cache: false, usageFlushMs: false })
  for (const input of inputs) {
    const r = await cached.verify(input)
    if (!r.ok) throw new Error(`bench setup: ${r.error.code}`)
  }
  setups.push({ size, fillSeconds, heapMiB: smoke ? NaN : heapUsed() / 2 ** 20, inputs, cached, uncached })
}

const best = new Map<string, Result>()
const keep = (tag: string, r: Result) => {
  const prev = best.get(tag)
  if (prev === undefined || !(prev.opsPerSec >= r.opsPerSec)) best.set(tag, r)
}
for (let pass = 0; pass < (smoke ? 1 : 3); pass++) {
  for (const { size, inputs, cached, uncached } of setups) {
    let i = 0
    keep(`hit ${size}`, await measure(`${fmt(size)} keys`, () => cached.verify(inputs[i++ % inputs.length]!), { rounds: 5 }))
    keep(`miss ${size}`, await measure(`${fmt(size)} keys`, () => uncached.verify(inputs[i++ % inputs.length]!), { rounds: 5 }))
  }
}
const rowsOf = (kind: string): Row[] =>
  setups.map(({ size, fillSeconds, heapMiB, inputs }) => {
    const r = best.get(`${kind} ${size}`)!
    return {
      name: r.name,
      value: r.opsPerSec,
      extra: {
        'ns/op': r.nsPerOp,
        'keys cycled': inputs.length,
        'store filled in (s)': smoke ? 'smoke' : fillSeconds.toFixed(1),
        'heap after fill (MiB)': heapMiB,
      },
    }
  })
const hitRows = rowsOf('hit')
const missRows = rowsOf('miss')
await Promise.all(setups.flatMap((s) => [s.cached.close(), s.uncached.close()]))

const flat = (rows: Row[], what: string): Target => {
  const first = rows[0]!.value
  const last = rows[rows.length - 1]!.value
  return {
    name: `verify() ${what} stays flat from ${rows[0]!.name} to ${rows[rows.length - 1]!.name}`,
    // Within 25%: the run-to-run noise on this kind of machine is of that order.
    met: smoke ? undefined : last >= first * 0.75,
    detail: smoke
      ? 'smoke'
      : `${(last / first).toFixed(2)}× (${fmt(Math.round(last))} vs ${fmt(Math.round(first))} ops/s; counted as flat when ≥ 0.75×)`,
  }
}

const columns = ['ns/op', 'keys cycled', 'store filled in (s)', 'heap after fill (MiB)']
emit({
  id: 'scaling',
  title: 'Scaling with the number of keys',
  order: 70,
  note:
    'A MemoryTokenStore filled with valid records (same format and hashing as kw.keys.create(), ' +
    `inserted directly to keep set-up short: bench/fixtures.ts). The same ${fmt(SAMPLE)} keys, ` +
    'spread evenly over the store, are cycled in both cases; best of three interleaved passes per ' +
    'case. Cache hit: all of them cached (default cache). Cache miss: the cache off, each call a ' +
    'store lookup (the MemoryTokenStore returns a copy of the record, which is most of that cost).',
  tables: [
    { title: 'Cache hit', unit: 'ops/s', reference: hitRows[0]!.name, columns, rows: hitRows },
    { title: 'Cache miss (store lookup on every call)', unit: 'ops/s', reference: missRows[0]!.name, columns, rows: missRows },
  ],
  targets: [flat(hitRows, 'cache hit'), flat(missRows, 'cache miss')],
})
