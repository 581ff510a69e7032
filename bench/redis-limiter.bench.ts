/**
 * RedisRateLimiter against rate-limiter-flexible's RateLimiterRedis, on the same Redis (a
 * redis-server the bench starts on a free port, or BENCH_REDIS_URL), in the same run: checks per
 * second, and round trips per check counted by Redis itself (INFO commandstats: calls of EVALSHA,
 * EVAL and EXEC; a MULTI block is one round trip, and commands a script runs inside Redis are none).
 * Run alone: `npx tsx bench/redis-limiter.bench.ts` (BENCH_SMOKE=1 for a quick run).
 *
 * The algorithms differ: keyward is GCRA by default (a bucket refilling continuously),
 * RateLimiterRedis a fixed-window counter; the "1 fixed-window rule" rows compare like with like.
 * The "2 rules + lockout" case is what each offers for it: one atomic script in keyward; with
 * rate-limiter-flexible, two limiters and a lockout `get` sent in parallel (three round trips,
 * and a call one rule refuses still counts on the other).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import Redis from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { RedisRateLimiter } from '../src/limiters/redis-rate-limiter.js'
import type { LockoutPolicy } from '../src/limiters/rate-limiter.js'
import { emit, measureInterleaved, pairedRatio, smoke, type Case, type Result, type Table, type Target } from './harness.js'

/**
 * A redis-server of this run's own on a free port, when the binary is there and BENCH_REDIS_URL is
 * not set: INFO commandstats then counts this run's calls only (the shared server on 6379 also
 * serves other processes' tests), and their load does not land on one library's turn.
 */
async function privateRedis(): Promise<{ url: string; child?: ChildProcess }> {
  const fallback = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  if (process.env.BENCH_REDIS_URL !== undefined || spawnSync('redis-server', ['--version']).status !== 0) return { url: fallback }
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return new Promise((resolve) => {
    let log = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      if (log.includes('Ready to accept connections')) resolve({ url: `redis://127.0.0.1:${port}`, child })
    })
    child.on('exit', () => resolve({ url: fallback }))
  })
}
const server = await privateRedis()
const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => null })
redis.on('error', () => {})
const admin = redis.duplicate()
admin.on('error', () => {})
// rate-limiter-flexible gets a connection of its own, as keyward does.
const flexibleRedis = redis.duplicate()
flexibleRedis.on('error', () => {})
try {
  await Promise.all([redis.ping(), admin.ping(), flexibleRedis.ping()])
} catch (error) {
  console.error(
    `Redis does not answer at ${server.url} (${String(error)}): install redis-server, or start one ` +
      'on 127.0.0.1:6379, or set BENCH_REDIS_URL.',
  )
  server.child?.kill()
  process.exit(1)
}

const prefix = `kwbench:${randomUUID()}:`
const limiter = new RedisRateLimiter({ client: redis, prefix, timeoutMs: 5000 })
// Limits no run can exhaust, so every check is the allowed path (it writes: the costlier one).
const oneRule = [{ limit: 1_000_000_000, windowMs: 3_600_000 }]
const twoRules = [...oneRule, { limit: 1_000_000, windowMs: 1000 }]
const lockout: LockoutPolicy = { maxFailures: 1_000_000_000, windowMs: 60_000 }
const flexiblePrefix = `kwbench-rlf-${randomUUID()}`
const flexible = (name: string, points: number, duration: number) =>
  new RateLimiterRedis({ storeClient: flexibleRedis, keyPrefix: `${flexiblePrefix}-${name}`, points, duration })
const perHour = flexible('hour', 1_000_000_000, 3600)
const perSecond = flexible('second', 1_000_000, 1)
const failures = flexible('failures', 1_000_000_000, 60)

interface RedisCounters {
  /** Calls of EVALSHA, EVAL and EXEC: round trips that run more than one command. */
  scriptCalls: number
  /** Microseconds Redis spent in those calls, the commands they ran included (INFO commandstats). */
  scriptUsec: number
  /** CPU time of the redis-server main thread, µs, when the bench started it (Linux /proc), else NaN. */
  serverCpuUsec: number
}

async function counters(): Promise<RedisCounters> {
  const info = await admin.info('commandstats')
  let scriptCalls = 0
  let scriptUsec = 0
  for (const match of info.matchAll(/^cmdstat_(evalsha|eval|exec):calls=(\d+),usec=(\d+)/gm)) {
    scriptCalls += Number(match[2])
    scriptUsec += Number(match[3])
  }
  return { scriptCalls, scriptUsec, serverCpuUsec: serverCpu() }
}

/** The first field of /proc/<pid>/schedstat is the time the thread ran, in ns: load on other cores does not inflate it. */
function serverCpu(): number {
  const pid = server.child?.pid
  if (pid === undefined) return NaN
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000
  } catch {
    return NaN
  }
}

interface Row extends Result {
  roundTrips: number
  /** Redis µs per check spent running scripts (commandstats usec of EVALSHA/EVAL/EXEC ÷ checks). */
  scriptUsec: number
  /** Redis main-thread CPU µs per check, I/O included; NaN when the server is not the bench's own. */
  serverCpuUsec: number
}

/**
 * A case that makes `perCall` checks per call, with Redis's counters read around each of its
 * measured rounds (not its warm-up), so that interleaved cases each count their own calls.
 */
function tracked(name: string, perCall: number, fn: () => Promise<unknown>): { bench: Case; row: (result: Result) => Row } {
  let checks = 0
  let counting = false
  let start: RedisCounters | undefined
  const total = { scriptCalls: 0, scriptUsec: 0, serverCpuUsec: 0 }
  const bench: Case = {
    name,
    fn: async () => {
      await fn()
      if (counting) checks += perCall
    },
    before: async () => {
      start = await counters()
      counting = true
    },
    after: async () => {
      counting = false
      const end = await counters()
      total.scriptCalls += end.scriptCalls - start!.scriptCalls
      total.scriptUsec += end.scriptUsec - start!.scriptUsec
      total.serverCpuUsec += end.serverCpuUsec - start!.serverCpuUsec
    },
  }
  const row = (result: Result): Row => ({
    ...result,
    opsPerSec: result.opsPerSec * perCall,
    nsPerOp: result.nsPerOp / perCall,
    perRound: result.perRound?.map((ops) => ops * perCall),
    roundTrips: total.scriptCalls / checks,
    scriptUsec: total.scriptUsec / checks,
    serverCpuUsec: total.serverCpuUsec / checks,
  })
  return { bench, row }
}

// Smoke runs repeat each call 300 times: 10 in flight keeps that short.
const inFlight = smoke ? 10 : 100
const many = <T>(make: (i: number) => Promise<T>) => Promise.all(Array.from({ length: inFlight }, (_, i) => make(i)))
type Scenario = [name: string, perCall: number, fn: () => Promise<unknown>]
const cases: Scenario[] = []
cases.push(['keyward limit(): 1 rule, 1 in flight', 1, () => limiter.limit({ key: 'AbCd1234', rules: oneRule, now: 0 })])
cases.push(['rate-limiter-flexible consume(): 1 rule, 1 in flight', 1, () => perHour.consume('AbCd1234')])
cases.push([
  `keyward limit(): 1 rule, ${inFlight} in flight`,
  inFlight,
  () => many((i) => limiter.limit({ key: `key${i}`, rules: oneRule, now: 0 })),
])
cases.push([`rate-limiter-flexible consume(): 1 rule, ${inFlight} in flight`, inFlight, () => many((i) => perHour.consume(`key${i}`))])
// The peer's own algorithm: a counter per fixed window (keyward's windows are aligned to the clock).
const oneFixed = [{ ...oneRule[0]!, algorithm: 'fixed-window' as const }]
cases.push(['keyward limit(): 1 fixed-window rule, 1 in flight', 1, () => limiter.limit({ key: 'AbCd1234', rules: oneFixed, now: 0 })])
cases.push(['rate-limiter-flexible consume(): 1 fixed-window rule, 1 in flight', 1, () => perHour.consume('AbCd1234')])
cases.push([
  `keyward limit(): 1 fixed-window rule, ${inFlight} in flight`,
  inFlight,
  () => many((i) => limiter.limit({ key: `key${i}`, rules: oneFixed, now: 0 })),
])
cases.push([
  `rate-limiter-flexible consume(): 1 fixed-window rule, ${inFlight} in flight`,
  inFlight,
  () => many((i) => perHour.consume(`key${i}`)),
])
// What verify() sends by default (lockout on, the client's address known): one rule and the address.
cases.push([
  `keyward limit(): 1 rule + lockout check, ${inFlight} in flight`,
  inFlight,
  () => many((i) => limiter.limit({ key: `key${i}`, rules: oneRule, blockKey: `198.51.100.${i}`, now: 0 })),
])
cases.push([
  `rate-limiter-flexible: consume() + lockout get(), ${inFlight} in flight`,
  inFlight,
  () => many((i) => Promise.all([perHour.consume(`key${i}`), failures.get(`198.51.100.${i}`)])),
])
cases.push([
  'keyward limit(): 2 rules + lockout check, 1 in flight',
  1,
  () => limiter.limit({ key: 'AbCd1234', rules: twoRules, blockKey: '203.0.113.7', now: 0 }),
])
cases.push([
  'rate-limiter-flexible: 2 consume() + lockout get(), 1 in flight',
  1,
  () => Promise.all([perHour.consume('AbCd1234'), perSecond.consume('AbCd1234'), failures.get('203.0.113.7')]),
])
cases.push([
  `keyward limit(): 2 rules + lockout check, ${inFlight} in flight`,
  inFlight,
  () => many((i) => limiter.limit({ key: `key${i}`, rules: twoRules, blockKey: `198.51.100.${i}`, now: 0 })),
])
cases.push([
  `rate-limiter-flexible: 2 consume() + lockout get(), ${inFlight} in flight`,
  inFlight,
  () => many((i) => Promise.all([perHour.consume(`key${i}`), perSecond.consume(`key${i}`), failures.get(`198.51.100.${i}`)])),
])
cases.push(['keyward recordFailure(), 1 in flight', 1, () => limiter.recordFailure('192.0.2.1', lockout, 0)])
cases.push(['rate-limiter-flexible failures.consume(), 1 in flight', 1, () => failures.consume('192.0.2.1')])

// Each scenario's two cases run interleaved (a round of one, then of the other, 9 rounds each):
// a noisy stretch of the machine lands on both, and each round of keyward is set against the peer's
// round beside it. Wall clock: most of a check happens in Redis, outside this process.
const rows: Row[] = []
for (let i = 0; i < cases.length; i += 2) {
  const pair = [cases[i]!, cases[i + 1]!].map(([name, perCall, fn]) => tracked(name, perCall, fn))
  const results = await measureInterleaved(
    pair.map((p) => p.bench),
    { clock: 'wall' },
  )
  rows.push(...results.map((result, k) => pair[k]!.row(result)))
}

const info = await admin.info('server')
const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
// Rows come in pairs, keyward first: one table per scenario.
const tables: Table[] = []
const targets: Target[] = []
for (let i = 0; i < rows.length; i += 2) {
  const [ours, theirs] = [rows[i]!, rows[i + 1]!]
  const scenario = ours.name.includes('recordFailure')
    ? 'a failure recorded for lockout, 1 in flight'
    : ours.name.replace(/^keyward limit\(\): /, '')
  tables.push({
    title: scenario,
    unit: 'checks/s',
    reference: ours.name,
    columns: ['ns/check', 'round trips per check', 'Redis script µs/check', 'Redis CPU µs/check'],
    rows: [ours, theirs].map((r) => ({
      name: r.name,
      value: r.opsPerSec,
      extra: {
        'ns/check': r.nsPerOp,
        'round trips per check': smoke ? 'smoke' : r.roundTrips.toFixed(2),
        'Redis script µs/check': smoke ? 'smoke' : r.scriptUsec.toFixed(2),
        'Redis CPU µs/check': smoke || Number.isNaN(r.serverCpuUsec) ? 'n/a' : r.serverCpuUsec.toFixed(2),
      },
    })),
  })
  targets.push({
    name: `RedisRateLimiter ahead of RateLimiterRedis: ${scenario}`,
    met: smoke ? undefined : pairedRatio(ours, theirs) > 1,
    detail: smoke
      ? 'smoke'
      : `${pairedRatio(ours, theirs).toFixed(2)}× (median of paired rounds; medians ` +
        `${Math.round(ours.opsPerSec).toLocaleString('en-US')} vs ` +
        `${Math.round(theirs.opsPerSec).toLocaleString('en-US')} checks/s); round trips ` +
        `${ours.roundTrips.toFixed(2)} vs ${theirs.roundTrips.toFixed(2)}; Redis script µs per check ` +
        `${ours.scriptUsec.toFixed(2)} vs ${theirs.scriptUsec.toFixed(2)}`,
  })
}

// Leave nothing behind.
for (const pattern of [`${prefix}*`, `${flexiblePrefix}*`]) {
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await admin.del(...keys)
  } while (cursor !== '0')
}
await Promise.all([redis.quit(), admin.quit(), flexibleRedis.quit()])
server.child?.kill()

emit({
  id: 'redis-limiter',
  title: `Rate limiting on Redis (Redis ${version}, loopback${server.child ? ", a server of the run's own" : ''})`,
  order: 50,
  note:
    'keyward RedisRateLimiter against rate-limiter-flexible RateLimiterRedis on the same Redis, each ' +
    'with a connection of its own. Round trips per check are counted by Redis itself (INFO ' +
    'commandstats: EVALSHA + EVAL + EXEC; a MULTI block is one round trip), and so is the time Redis spent ' +
    'in them per check (commandstats usec, the commands a script runs included); Redis CPU per check is the ' +
    "server main thread's CPU time (/proc schedstat, I/O included) when the bench started the server: both " +
    'hold under load better than checks/s do. keyward runs exact GCRA ' +
    'in one script per check, rules and lockout included; RateLimiterRedis is a fixed window, and ' +
    'needs one call per limiter (a second rule, the lockout check) sent in parallel. ops are checks: ' +
    'checks/s and ns per check. The two cases of a table run interleaved (one 300 ms round each in turn, ' +
    "9 rounds, the median round shown); the target is the median of the paired rounds' ratios.",
  tables,
  targets,
})
