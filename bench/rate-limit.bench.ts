/**
 * In-process rate limiting: keyward's MemoryRateLimiter (GCRA) against rate-limiter-flexible's
 * RateLimiterMemory and a hand-rolled fixed window in an lru-cache, with every check allowed, and
 * with half of them denied (calls alternate between a key with quota left and an exhausted one).
 * Run alone: `npx tsx bench/rate-limit.bench.ts` (BENCH_SMOKE=1 for a quick run).
 */
import { LRUCache } from 'lru-cache'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { MemoryRateLimiter } from '../src/index.js'
import { emit, measureInterleaved, opsRow, pairedRatio, smoke, type Result, type Target } from './harness.js'

const HOUR = 3_600_000
const generous = [{ limit: 1_000_000_000, windowMs: HOUR }]
const one = [{ limit: 1, windowMs: HOUR }]

// keyward: an allowed key and an exhausted one.
const keyward = new MemoryRateLimiter()
keyward.limitSync({ key: 'spent', rules: one, now: Date.now() })
if (keyward.limitSync({ key: 'spent', rules: one, now: Date.now() }).allowed) throw new Error('bench setup: keyward did not deny')

// rate-limiter-flexible: one limiter per quota, as it is configured.
const flexibleGenerous = new RateLimiterMemory({ points: 1_000_000_000, duration: 3600 })
const flexibleOne = new RateLimiterMemory({ points: 1, duration: 3600 })
await flexibleOne.consume('spent')
const flexibleDenied = await flexibleOne.consume('spent').then(
  () => false,
  (r: unknown) => r instanceof RateLimiterRes,
)
if (!flexibleDenied) throw new Error('bench setup: rate-limiter-flexible did not deny')

// The hand-rolled alternative: a fixed window counter per key in an LRU.
interface Window {
  start: number
  count: number
}
const windows = new LRUCache<string, Window>({ max: 100_000 })
function fixedWindow(key: string, limit: number, windowMs: number): boolean {
  const now = Date.now()
  let w = windows.get(key)
  if (w === undefined || now - w.start >= windowMs) {
    w = { start: now, count: 0 }
    windows.set(key, w)
  }
  if (w.count >= limit) return false
  w.count++
  return true
}
fixedWindow('spent', 1, HOUR)

let flip = 0
// Interleaved (a round of each case in turn): a slow stretch of the machine lands on every case alike.
const allowedOnly: Result[] = await measureInterleaved([
  { name: 'keyward MemoryRateLimiter.limit() (async)', fn: () => keyward.limit({ key: 'AbCd1234', rules: generous, now: Date.now() }) },
  {
    name: 'keyward MemoryRateLimiter.limitSync() (what verify() calls)',
    fn: () => keyward.limitSync({ key: 'AbCd1234', rules: generous, now: Date.now() }),
  },
  { name: 'rate-limiter-flexible RateLimiterMemory.consume()', fn: () => flexibleGenerous.consume('AbCd1234') },
  { name: 'lru-cache fixed window (hand-rolled, sync)', fn: () => fixedWindow('AbCd1234', 1_000_000_000, HOUR) },
])
const halfDenied: Result[] = await measureInterleaved([
  {
    name: 'keyward MemoryRateLimiter.limit() (async)',
    fn: () =>
      flip++ & 1
        ? keyward.limit({ key: 'spent', rules: one, now: Date.now() })
        : keyward.limit({ key: 'AbCd1234', rules: generous, now: Date.now() }),
  },
  {
    name: 'keyward MemoryRateLimiter.limitSync() (what verify() calls)',
    fn: () =>
      flip++ & 1
        ? keyward.limitSync({ key: 'spent', rules: one, now: Date.now() })
        : keyward.limitSync({ key: 'AbCd1234', rules: generous, now: Date.now() }),
  },
  // A denial is a rejected promise with rate-limiter-flexible: that is its API, so it is caught here.
  {
    name: 'rate-limiter-flexible RateLimiterMemory.consume()',
    fn: () => (flip++ & 1 ? flexibleOne.consume('spent').catch(() => false) : flexibleGenerous.consume('AbCd1234')),
  },
  {
    name: 'lru-cache fixed window (hand-rolled, sync)',
    fn: () => (flip++ & 1 ? fixedWindow('spent', 1, HOUR) : fixedWindow('AbCd1234', 1_000_000_000, HOUR)),
  },
])

const ahead = (rows: Result[], load: string): Target => {
  // Paired rounds: each round of keyward against the round of rate-limiter-flexible run beside it.
  const ratio = pairedRatio(rows[0]!, rows[2]!)
  return {
    name: `Memory limiter ahead of RateLimiterMemory, ${load}`,
    met: smoke ? undefined : ratio > 1,
    detail: smoke
      ? 'smoke'
      : `limit() ${ratio.toFixed(2)}× consume() (async vs async); limitSync() ${pairedRatio(rows[1]!, rows[2]!).toFixed(2)}×`,
  }
}

emit({
  id: 'rate-limit',
  title: 'Rate limiting in memory',
  order: 40,
  note:
    'One rule per check, a one-hour window. keyward is GCRA (exact: a bucket refilling continuously, ' +
    'integer state); the fixed window allows up to twice the limit across a window edge. The async ' +
    'rows compare like with like (both return a promise); limitSync() is the path verify() takes. ' +
    'The cases of a table run interleaved (one 300 ms round each in turn, 9 rounds, the median shown); ' +
    'the targets take the median of paired round ratios.',
  tables: [
    {
      title: 'Every check allowed',
      unit: 'checks/s',
      reference: 'keyward MemoryRateLimiter.limit() (async)',
      columns: ['ns/op'],
      rows: allowedOnly.map((r) => opsRow(r)),
    },
    {
      title: 'Half the checks denied',
      unit: 'checks/s',
      reference: 'keyward MemoryRateLimiter.limit() (async)',
      columns: ['ns/op'],
      rows: halfDenied.map((r) => opsRow(r)),
    },
  ],
  targets: [ahead(allowedOnly, 'every check allowed'), ahead(halfDenied, 'half denied')],
})
