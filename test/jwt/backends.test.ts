/**
 * Refresh rotation across instances: two keyward instances on their own connections to one real
 * PostgreSQL schema or Redis prefix. A refresh through one retires the token for the other, reuse
 * through either revokes the session, and concurrent refreshes through both: exactly one wins.
 */
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createKeyward, isKeywardError, type Keyward, type TokenStore } from '../../src/index.js'
import { PostgresTokenStore } from '../../src/stores/postgres-token-store.js'
import { RedisTokenStore } from '../../src/stores/redis-token-store.js'
import { CI, POSTGRES, postgresAnswers, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'

const RUN = `kwjwt${process.pid}${Date.now().toString(36)}`
const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
})

function instance(store: TokenStore): Keyward {
  return createKeyward({
    prefix: 'bsk',
    store,
    usageFlushMs: false,
    jwt: { issuer: 'https://api.example', audience: 'api', signingKey: { alg: 'HS256', secret: 'a-shared-secret-of-at-least-32-bytes!' } },
  })
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'ok'
  } catch (error) {
    if (isKeywardError(error)) return error.code
    throw error
  }
}

const backends: Array<[string, () => Promise<boolean>, () => Promise<[TokenStore, TokenStore]>]> = [
  [
    'PostgreSQL',
    postgresAnswers,
    async () => {
      const schema = `${RUN}_pg`
      const admin = new pg.Pool({ ...POSTGRES, max: 1 })
      await admin.query(`CREATE SCHEMA ${schema}`)
      const pools = [new pg.Pool({ ...POSTGRES, max: 4 }), new pg.Pool({ ...POSTGRES, max: 4 })]
      const stores = pools.map((pool) => new PostgresTokenStore(pool, { schema })) as [PostgresTokenStore, PostgresTokenStore]
      await stores[0].migrate()
      cleanups.push(async () => {
        for (const store of stores) await store.close?.()
        for (const pool of pools) await pool.end()
        await admin.query(`DROP SCHEMA ${schema} CASCADE`)
        await admin.end()
      })
      return stores
    },
  ],
  [
    'Redis',
    redisAnswers,
    async () => {
      const prefix = `kwtest:jwt:${randomUUID()}:`
      const clients = [new Redis({ ...REDIS }), new Redis({ ...REDIS })]
      const stores = clients.map((client) => new RedisTokenStore(client, { prefix })) as [RedisTokenStore, RedisTokenStore]
      cleanups.push(async () => {
        for (const store of stores) await store.close?.()
        const keys = await clients[0]!.keys(`${prefix}*`)
        if (keys.length > 0) await clients[0]!.del(...keys)
        for (const client of clients) client.disconnect()
      })
      return stores
    },
  ],
]

for (const [name, answers, open] of backends) {
  const available = await answers()
  if (!available) warnSkipped(name, `the ${name} refresh-rotation tests`)

  describe(`refresh tokens on ${name}, two instances`, () => {
    it('rotation, reuse detection and logout hold across instances', async ({ skip }) => {
      if (!available && !CI) return skip(`no ${name} server; skipped outside CI`)
      expect(available, `${name} must answer in CI`).toBe(true)
      const [storeA, storeB] = await open()
      const a = instance(storeA)
      const b = instance(storeB)

      const first = await a.tokens.issue({ subject: 'user_42', org: 'org_1' })
      const second = await b.tokens.refresh(first.refreshToken)
      expect(second.sessionId).toBe(first.sessionId)
      expect(await code(a.tokens.refresh(first.refreshToken))).toBe('invalid_token')
      // The reuse revoked the session everywhere, the newest token included.
      expect(await code(b.tokens.refresh(second.refreshToken))).toBe('invalid_token')

      const other = await a.tokens.issue({ subject: 'user_43', org: 'org_1' })
      await b.tokens.revoke(other.refreshToken)
      expect(await code(a.tokens.refresh(other.refreshToken))).toBe('invalid_token')

      const raced = await a.tokens.issue({ subject: 'user_44', org: 'org_1' })
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => code((i % 2 === 0 ? a : b).tokens.refresh(raced.refreshToken))),
      )
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1)
      expect(outcomes.filter((o) => o === 'invalid_token')).toHaveLength(19)
    })
  })
}
