// The other server process of the PostgreSQL conformance run (startSecondProcess in
// test/stores/postgres.test.ts): its own pool and store on the harness's schema.
import pg from 'pg'
import { PostgresTokenStore } from '../../../src/stores/postgres-token-store.js'
import { serveSecondProcess } from '../../../testing/index.js'

const pool = new pg.Pool({ ...(JSON.parse(process.env.KW_SERVER!) as pg.PoolConfig), max: 4 })
pool.on('error', () => {})
const store = new PostgresTokenStore(pool, { schema: process.env.KW_SCHEMA!, queryTimeoutMs: 10_000 })
await serveSecondProcess(store, {
  subscribed: () => store.listening(),
  close: async () => {
    await store.close()
    await pool.end()
  },
})
