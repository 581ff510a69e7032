/**
 * Latency past the timeout and hangs, where the timeouts live: under the PostgreSQL store's
 * `queryTimeoutMs` and the Redis limiter's `timeoutMs`, with the real servers behind the fault
 * wrappers. Every faulted request is a 503 (or the failure policy's answer), the same instance
 * answers normally once the fault is gone, and answers that arrive after their timeout leave
 * no unhandled rejection behind.
 *
 * Timeouts are generous (1.5 s) so that a loaded CI machine cannot turn a healthy query into a
 * failure; a hang or a 4 s delay is past them whatever the load.
 */
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, MemoryTokenStore, withFailurePolicy, type Keyward } from 'keyward'
import { PostgresTokenStore } from '../../src/stores/postgres-token-store.js'
import { RedisRateLimiter } from '../../src/limiters/redis-rate-limiter.js'
import { CI, POSTGRES, REDIS, postgresAnswers, redisAnswers, warnSkipped } from '../support/servers.js'
import { FaultPlan, faultyQueryable, faultyScriptClient, watchUnhandledRejections } from './support/faults.js'

const TIMEOUT_MS = 1500
const LATE_MS = 4000

const pgUp = await postgresAnswers()
const redisUp = await redisAnswers()
if (!pgUp) warnSkipped(`PostgreSQL on ${POSTGRES.host}:${POSTGRES.port}`, 'the PostgreSQL fault tests')
if (!redisUp) warnSkipped(`Redis on ${REDIS.host}:${REDIS.port}`, 'the Redis fault tests')

const unhandled = watchUnhandledRejections()
afterAll(() => {
  expect(unhandled.stop()).toEqual([])
})

const status = (r: Awaited<ReturnType<Keyward['verify']>>) => (r.ok ? 200 : `${r.error.status} ${r.error.code}`)

describe.skipIf(!pgUp && !CI)('faults under the PostgreSQL store', () => {
  const schema = `kw_hostile_${process.pid}_${Date.now().toString(36)}`
  const plan = new FaultPlan()
  let pool: pg.Pool
  let kw: Keyward
  let key: string

  beforeAll(async () => {
    pool = new pg.Pool({ ...POSTGRES, max: 4 })
    await pool.query(`CREATE SCHEMA ${schema}`)
    const store = new PostgresTokenStore(faultyQueryable(pool, plan), { schema, queryTimeoutMs: TIMEOUT_MS, listen: false })
    await store.migrate()
    kw = createKeyward({ prefix: 'bsk', store, cache: false, usageFlushMs: false, lockout: false })
    key = (await kw.keys.create({ name: 'faults', orgId: 'org_1', projects: ['p'] })).key
  })
  afterAll(async () => {
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await pool?.end()
  })

  it.each([
    ['the query hangs', 'hang'],
    ['the answer comes after the timeout', 'late'],
    ['the query is refused', 'reject'],
  ] as const)('%s: 503, then the same instance answers once it is over', async (_, fault) => {
    plan.lateMs = LATE_MS
    plan.set('query', fault)
    const verify = () => kw.verify({ headers: { 'x-api-key': key } })
    expect(status(await verify())).toBe('503 store_unavailable')
    plan.clear()
    expect(status(await verify())).toBe(200)
  })

  it('a revocation whose query hangs is reported failed (503), and a retry once the store is back revokes', async () => {
    const own = (await kw.keys.create({ name: 'faults', orgId: 'org_1', projects: ['p'] })).key
    plan.set('query', 'hang')
    await expect(kw.keys.revoke(own.slice(9, 17))).rejects.toMatchObject({ code: 'store_unavailable' })
    plan.clear()
    // The hung query never ran, so nothing was revoked: the key works, and a retry revokes it.
    expect(status(await kw.verify({ headers: { 'x-api-key': own } }))).toBe(200)
    await kw.keys.revoke(own.slice(9, 17))
    expect(status(await kw.verify({ headers: { 'x-api-key': own } }))).toBe('401 invalid_token')
  })
})

describe.skipIf(!redisUp && !CI)('faults under the Redis rate limiter', () => {
  const plan = new FaultPlan()
  const prefix = `kwhostile:${randomUUID()}:`
  let redis: Redis
  const build = (policy?: 'open') => {
    const limiter = new RedisRateLimiter({ client: faultyScriptClient(redis, plan), prefix, timeoutMs: TIMEOUT_MS })
    return createKeyward({
      prefix: 'bsk',
      store: new MemoryTokenStore(),
      limiter: policy === undefined ? limiter : withFailurePolicy(limiter, { quota: policy }),
      usageFlushMs: false,
      lockout: policy === undefined ? undefined : false,
      defaultRateLimit: { limit: 100, windowMs: 60_000 },
    })
  }

  beforeAll(() => {
    redis = new Redis({ ...REDIS, maxRetriesPerRequest: 1 })
  })
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  it.each([
    ['the script hangs', 'hang'],
    ['the answer comes after the timeout', 'late'],
    ['the script is refused', 'reject'],
  ] as const)('%s: 503, then the same instance answers once it is over', async (_, fault) => {
    const kw = build()
    const key = (await kw.keys.create({ name: 'faults', orgId: 'org_1', projects: ['p'] })).key
    plan.lateMs = LATE_MS
    plan.set('script', fault)
    const verify = () => kw.verify({ headers: { 'x-api-key': key }, ip: '198.51.100.7' })
    expect(status(await verify())).toBe('503 store_unavailable')
    plan.clear()
    const after = await verify()
    expect(status(after)).toBe(200)
    if (after.ok) expect(after.headers.ratelimit).toMatch(/^"default";r=\d+;t=\d+$/)
  })

  it("a hang under quota: 'open' (lockout off) lets the call through after the timeout, without RateLimit headers", async () => {
    const kw = build('open')
    const key = (await kw.keys.create({ name: 'faults', orgId: 'org_1', projects: ['p'] })).key
    plan.set('script', 'hang')
    const result = await kw.verify({ headers: { 'x-api-key': key }, ip: '198.51.100.7' })
    plan.clear()
    expect(status(result)).toBe(200)
    if (result.ok) expect(result.headers).toEqual({})
  })

  // It waits LATE_MS (4 s): the 5 s default left a loaded machine one second for late timers.
  it('late answers land after their timeouts without an unhandled rejection', { timeout: LATE_MS + 60_000 }, async () => {
    await new Promise((resolve) => setTimeout(resolve, LATE_MS))
    expect(unhandled.stop()).toEqual([])
  })
})
