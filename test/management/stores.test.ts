/**
 * The management routes over real HTTP (Express) with the keys in the real PostgreSQL and Redis:
 * the whole contract suite again, each test on a fresh schema / key prefix.
 */
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { PostgresTokenStore } from '../../src/stores/postgres-token-store.js'
import { RedisTokenStore } from '../../src/stores/redis-token-store.js'
import { CI, POSTGRES, postgresAnswers, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'
import { managementContract, type MakeStore } from './contract.js'
import { startExpress } from './express-app.js'
import { deleteRedisKeys } from './redis-cleanup.js'

const RUN = `kw_mgmt_${process.pid}_${Date.now().toString(36)}`
let count = 0

const postgresStore: MakeStore = async () => {
  const schema = `${RUN}_${(count += 1)}`
  const pool = new pg.Pool({ ...POSTGRES, max: 4 })
  await pool.query(`CREATE SCHEMA ${schema}`)
  const store = new PostgresTokenStore(pool, { schema, listen: false, queryTimeoutMs: 10_000 })
  await store.migrate()
  return {
    store,
    async close() {
      await store.close()
      await pool.query(`DROP SCHEMA ${schema} CASCADE`)
      await pool.end()
    },
  }
}

const redisStore: MakeStore = async () => {
  const prefix = `kwtest:mgmt:${randomUUID()}:`
  const client = new Redis({ ...REDIS })
  const store = new RedisTokenStore(client, { prefix, listen: false, timeoutMs: 10_000 })
  return {
    store,
    async close() {
      await deleteRedisKeys(client, `${prefix}*`)
      await client.quit()
    },
  }
}

for (const [name, available, makeStore] of [
  ['PostgreSQL', await postgresAnswers(), postgresStore],
  ['Redis', await redisAnswers(), redisStore],
] as const) {
  if (available) {
    managementContract(`Express, keys in ${name},`, startExpress, makeStore)
  } else {
    warnSkipped(name, `the management route tests against ${name}`)
    describe(`management routes with keys in ${name}`, () => {
      it(`needs ${name}`, ({ skip }) => {
        if (!CI) return skip(`no ${name}; skipped outside CI`)
        expect(available, `${name} must answer in CI`).toBe(true)
      })
    })
  }
}
