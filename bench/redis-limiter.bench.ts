/**
 * RedisRateLimiter against a real Redis (127.0.0.1:6379, or REDIS_URL): checks per second, and
 * round trips per check counted by Redis itself (INFO commandstats: calls of EVALSHA and EVAL).
 * Run: `npx tsx bench/redis-limiter.bench.ts` (BENCH_SMOKE=1 for a quick run).
 *
 * The comparison with rate-limiter-flexible's RateLimiterRedis (issue 4) needs that package as
 * a devDependency; it is not installed yet, so this run measures keyward's limiter alone.
 */
import { randomUUID } from 'node:crypto'
import { cpus } from 'node:os'
import Redis from 'ioredis'
import { RedisRateLimiter } from '../src/limiters/redis-rate-limiter.js'
import type { LockoutPolicy } from '../src/limiters/rate-limiter.js'
import { measure, smoke, table, type Result } from './harness.js'

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, retryStrategy: () => null })
redis.on('error', () => {})
const admin = redis.duplicate()
admin.on('error', () => {})
try {
  await Promise.all([redis.ping(), admin.ping()])
} catch (error) {
  console.error(`Redis does not answer (${String(error)}): start one on 127.0.0.1:6379 or set REDIS_URL.`)
  process.exit(1)
}

const prefix = `kwbench:${randomUUID()}:`
const limiter = new RedisRateLimiter({ client: redis, prefix, timeoutMs: 5000 })
// Limits no run can exhaust, so every check is the allowed path (it writes: the costlier one).
const oneRule = [{ limit: 1_000_000_000, windowMs: 3_600_000 }]
const twoRules = [...oneRule, { limit: 1_000_000, windowMs: 1000 }]
const lockout: LockoutPolicy = { maxFailures: 1_000_000_000, windowMs: 60_000 }

async function scriptCalls(): Promise<number> {
  const info = await admin.info('commandstats')
  let calls = 0
  for (const match of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) calls += Number(match[2])
  return calls
}

interface Row extends Result {
  roundTrips: number
}

/** Measures `fn`, which makes `perCall` checks, and counts Redis script calls over the whole run. */
async function bench(name: string, perCall: number, fn: () => Promise<unknown>): Promise<Row> {
  let checks = 0
  const before = await scriptCalls()
  const result = await measure(name, async () => {
    await fn()
    checks += perCall
  })
  const roundTrips = ((await scriptCalls()) - before) / checks
  return { ...result, opsPerSec: result.opsPerSec * perCall, nsPerOp: result.nsPerOp / perCall, roundTrips }
}

const inFlight = 100
const rows: Row[] = []
rows.push(await bench('limit(): 1 rule, 1 in flight', 1, () => limiter.limit({ key: 'AbCd1234', rules: oneRule, now: 0 })))
rows.push(await bench('limit(): 2 rules + lockout check, 1 in flight', 1, () => limiter.limit({ key: 'AbCd1234', rules: twoRules, blockKey: '203.0.113.7', now: 0 })))
rows.push(
  await bench(`limit(): 1 rule, ${inFlight} in flight`, inFlight, () =>
    Promise.all(Array.from({ length: inFlight }, (_, i) => limiter.limit({ key: `key${i}`, rules: oneRule, now: 0 }))),
  ),
)
rows.push(
  await bench(`limit(): 2 rules + lockout check, ${inFlight} in flight`, inFlight, () =>
    Promise.all(Array.from({ length: inFlight }, (_, i) => limiter.limit({ key: `key${i}`, rules: twoRules, blockKey: `198.51.100.${i}`, now: 0 }))),
  ),
)
rows.push(await bench('recordFailure(), 1 in flight', 1, () => limiter.recordFailure('192.0.2.1', lockout, 0)))

const info = await admin.info('server')
const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
console.log(`keyward Redis limiter benchmark — ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, Redis ${version}${smoke ? ' (smoke run)' : ''}\n`)
console.log('ops are checks: ops/s is checks per second, ns/op the time per check.\n')
console.log(table(rows))
console.log('\n| case | round trips per check (INFO commandstats: evalsha + eval) |\n|---|---:|')
for (const row of rows) console.log(`| ${row.name} | ${row.roundTrips.toFixed(3)} |`)
console.log('\nrate-limiter-flexible RateLimiterRedis: not measured (add rate-limiter-flexible as a devDependency for the comparison).')

// Leave nothing behind.
let cursor = '0'
do {
  const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
  cursor = next
  if (keys.length > 0) await admin.del(...keys)
} while (cursor !== '0')
await Promise.all([redis.quit(), admin.quit()])
