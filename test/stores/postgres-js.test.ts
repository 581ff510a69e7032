/**
 * PostgresTokenStore on a postgres.js client (`postgres(url)`), natively: queries through
 * `unsafe()`, announcements through `listen()`, against the real server. The store and
 * refresh-family conformance suites, and the self-test over postgres.js's listener.
 */
import pg from 'pg'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import type { InvalidationEvent } from '../../src/index.js'
import { PostgresTokenStore } from '../../src/stores/postgres-token-store.js'
import { bareRecord, describeTokenStoreConformance, type StoreHarness } from '../../testing/index.js'
import { CI, POSTGRES, postgresAnswers, warnSkipped } from '../support/servers.js'

const RUN = `kw_pgjs_${process.pid}_${Date.now().toString(36)}`
let schemas = 0
const available = await postgresAnswers()
if (!available) warnSkipped(`PostgreSQL on ${POSTGRES.host}:${POSTGRES.port}`, 'the postgres.js store tests')

describe('PostgreSQL server for the postgres.js tests', () => {
  it('answers', ({ skip }) => {
    if (!available && !CI) return skip('no PostgreSQL server; skipped outside CI')
    expect(available).toBe(true)
  })
})

function connect(clients: postgres.Sql[]): postgres.Sql {
  const sql = postgres({ ...POSTGRES, max: 4, onnotice: () => {} })
  clients.push(sql)
  return sql
}

async function postgresJsHarness(onError?: (error: unknown) => void): Promise<StoreHarness & { store: PostgresTokenStore }> {
  const schema = `${RUN}_${(schemas += 1)}`
  const admin = new pg.Pool({ ...POSTGRES, max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const stores: PostgresTokenStore[] = []
  const clients: postgres.Sql[] = []
  const open = () => {
    const store = new PostgresTokenStore(connect(clients), { schema, queryTimeoutMs: 5000, ...(onError === undefined ? {} : { onError }) })
    stores.push(store)
    return store
  }
  const store = open()
  await store.migrate()
  return {
    store,
    peer: async () => open(),
    subscribed: (s) => (s as PostgresTokenStore).listening(),
    async close() {
      for (const s of stores) await s.close()
      for (const sql of clients) await sql.end({ timeout: 5 })
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      await admin.end()
    },
  }
}

if (available) {
  describeTokenStoreConformance('PostgresTokenStore on postgres.js', () => postgresJsHarness())

  describe('PostgresTokenStore on postgres.js: listening', () => {
    it('listens through sql.listen(): the self-test passes, a change through another client is heard, nothing reported', async () => {
      const errors: unknown[] = []
      const harness = await postgresJsHarness((e) => errors.push(e))
      try {
        const events: InvalidationEvent[] = []
        const unsubscribe = harness.store.subscribe((e) => events.push(e))
        await harness.store.listening()
        const other = await harness.peer!()
        const record = bareRecord()
        await other.insert(record)
        await other.update(record.id, { revokedAt: 1 })
        await expect.poll(() => events.length).toBe(2)
        expect(events).toStrictEqual([{ type: 'flush' }, { type: 'key', id: record.id }])
        expect(errors).toStrictEqual([])
        unsubscribe()
      } finally {
        await harness.close()
      }
    })
  })
}
