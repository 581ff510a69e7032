/**
 * Soak: the Express example (examples/express-server.ts) with the PostgreSQL store and the Redis
 * limiter, on loopback, under concurrent valid, invalid and rate-limited requests for a bounded
 * time. Stops by itself. Fails (exit 1) unless
 * - every answer is the one expected for its kind: valid 200, invalid 401, rate-limited 200 up to
 *   its quota then 429; no network error, no other status;
 * - the rate-limited key got exactly its quota of 200s (its window is 30 days: nothing refills);
 * - the heap after a full GC grew by less than HEAP_BOUND_MB between warm-up and the end.
 *
 * Usage: `npm run soak` (150 s) or `npm run soak -- --short` (15 s, what CI runs).
 * Needs PostgreSQL on 127.0.0.1:5432 (db test, user postgres) and Redis on 127.0.0.1:6379;
 * uses a fresh schema and key prefix and removes them at the end. Lockout is off: every invalid
 * request comes from 127.0.0.1, and a blocked address would turn the valid ones into 429s too
 * (lockout has its own tests).
 */
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import Redis from 'ioredis'
import pg from 'pg'
import { createKeyward } from 'keyward'
import { generateKey } from '../src/keys/format.js'
import { RedisRateLimiter } from '../src/limiters/redis-rate-limiter.js'
import { PostgresTokenStore } from '../src/stores/postgres-token-store.js'
import { start } from '../examples/express-server.js'

const SHORT = process.argv.includes('--short')
const SECONDS = Number(process.env.SOAK_SECONDS ?? (SHORT ? 15 : 150))
const CONCURRENCY = 32
// Small enough to be reached on a loaded machine (the short run has seen ~200 req/s on 2 busy cores).
const QUOTA = SHORT ? 200 : 2000
const HEAP_BOUND_MB = 16

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const heapMb = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed / 2 ** 20
}

type Kind = 'valid' | 'invalid' | 'limited'
const KINDS: readonly Kind[] = ['valid', 'invalid', 'limited']

async function main(): Promise<number> {
  const schema = `kw_soak_${process.pid}_${Date.now().toString(36)}`
  const prefix = `kwsoak:${randomUUID()}:`
  const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 8 })
  const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
  await pool.query(`CREATE SCHEMA ${schema}`)
  const store = new PostgresTokenStore(pool, { schema, queryTimeoutMs: 2000 })
  await store.migrate()
  const kw = createKeyward({
    prefix: 'bsk',
    store,
    limiter: new RedisRateLimiter({ client: redis, prefix, timeoutMs: 2000 }),
    lockout: false,
  })
  const server = await start(0, kw)
  const mint = async (input: Record<string, unknown> = {}) =>
    (await kw.keys.create({ name: 'soak', orgId: 'org_soak', projects: ['prod-site'], scopes: ['read'], ...input })).key
  const keys: Record<Kind, () => string> = {
    valid: (
      (k) => () =>
        k
    )(await mint()),
    limited: (
      (k) => () =>
        k
    )(await mint({ rateLimit: { limit: QUOTA, windowMs: 30 * 24 * 3_600_000 } })),
    // A fresh well-formed unknown key each time: every one costs a lookup (until the negative cache has it).
    invalid: () => generateKey('bsk', 'live').key,
  }
  const url = `${server.url}/api/projects/prod-site/stats`
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const get = (key: string) =>
    new Promise<number>((resolve, reject) => {
      http
        .get(url, { agent, headers: { 'x-api-key': key } }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode!))
        })
        .on('error', reject)
    })
  const counts: Record<Kind, Map<string, number>> = { valid: new Map(), invalid: new Map(), limited: new Map() }
  const latencies: number[] = []
  const record = (kind: Kind, outcome: string) => counts[kind].set(outcome, (counts[kind].get(outcome) ?? 0) + 1)

  async function worker(id: number, until: number) {
    for (let n = id; Date.now() < until; n += CONCURRENCY) {
      const kind = KINDS[n % KINDS.length]!
      const started = performance.now()
      try {
        const status = await get(keys[kind]())
        record(kind, String(status))
        latencies.push(performance.now() - started)
      } catch (error) {
        record(kind, `error: ${(error as Error).message}`)
      }
    }
  }

  // Warm-up (JIT, pools, caches), not counted for the quota check: the limited key is not used.
  const warmKinds = { ...keys, limited: keys.valid }
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, id) => {
      for (let n = id; n < 600; n += CONCURRENCY) await get(warmKinds[KINDS[n % 3]!]())
    }),
  )
  const before = heapMb()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, id) => worker(id, Date.now() + SECONDS * 1000)))
  const elapsed = (performance.now() - t0) / 1000
  const after = heapMb()

  agent.destroy()
  await server.close()
  await kw.close()
  await store.close()
  await pool.query(`DROP SCHEMA ${schema} CASCADE`)
  await pool.end()
  const leftovers = await redis.keys(`${prefix}*`)
  if (leftovers.length > 0) await redis.del(...leftovers)
  redis.disconnect()

  const total = latencies.length
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => latencies[Math.min(total - 1, Math.floor(total * p))]!.toFixed(1)
  const table = Object.fromEntries(KINDS.map((k) => [k, Object.fromEntries(counts[k])]))
  console.log(
    `soak: ${SECONDS} s, ${CONCURRENCY} concurrent, ${total} requests, ` +
      `${(total / elapsed).toFixed(0)} req/s, latency p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms`,
  )
  console.log(`soak: answers ${JSON.stringify(table)}`)
  console.log(`soak: heap after GC ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB after (${(after - before).toFixed(2)} MB)`)

  const failures: string[] = []
  const only = (kind: Kind, allowed: string[]) => {
    for (const outcome of counts[kind].keys())
      if (!allowed.includes(outcome)) failures.push(`${kind}: unexpected ${outcome} x${counts[kind].get(outcome)}`)
  }
  only('valid', ['200'])
  only('invalid', ['401'])
  only('limited', ['200', '429'])
  const limitedOk = counts.limited.get('200') ?? 0
  const limitedTotal = (counts.limited.get('200') ?? 0) + (counts.limited.get('429') ?? 0)
  if (limitedOk !== Math.min(QUOTA, limitedTotal))
    failures.push(`limited: ${limitedOk} allowed, expected exactly ${Math.min(QUOTA, limitedTotal)}`)
  if (limitedTotal <= QUOTA) failures.push(`limited: only ${limitedTotal} requests, the quota (${QUOTA}) was never reached; run longer`)
  if (after - before > HEAP_BOUND_MB) failures.push(`heap grew ${(after - before).toFixed(1)} MB (bound ${HEAP_BOUND_MB} MB)`)
  for (const failure of failures) console.error(`soak: FAIL ${failure}`)
  if (failures.length === 0) console.log('soak: OK')
  return failures.length === 0 ? 0 : 1
}

process.exitCode = await main()
