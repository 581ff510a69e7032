/**
 * PostgresTokenStore behind a real transaction-mode PgBouncer (what Supabase, Neon and most
 * managed poolers hand out), where LISTEN "succeeds" and no notification ever arrives:
 * - with a direct `listener` connection, announcements arrive as on a direct connection;
 * - without one, the store must say so (self-test, degraded event, listening() rejects) and
 *   keyward's cache falls back to the degraded TTL, so a revocation still lands within it.
 * The latency itself is measured in bench/revocation.bench.ts, never asserted here.
 */
import { afterAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import type { InvalidationEvent } from '../../src/index.js'
import { PostgresTokenStore } from '../../src/stores/postgres-token-store.js'
import { describeTokenStoreConformance, type StoreHarness } from '../../testing/index.js'
import { startPgBouncer } from '../support/pgbouncer.js'
import { CI, POSTGRES, POSTGRES_URL, postgresAnswers, warnSkipped } from '../support/servers.js'

const RUN = `kw_bouncer_${process.pid}_${Date.now().toString(36)}`
let schemas = 0

const available = await postgresAnswers()
const { bouncer, reason } = available ? await startPgBouncer() : { reason: 'PostgreSQL does not answer' }
if (bouncer === undefined) warnSkipped(`PgBouncer in front of PostgreSQL (${reason?.trim()})`, 'the pooled PostgreSQL tests')
afterAll(async () => {
  await bouncer?.stop()
})

describe('PgBouncer for the pooled PostgreSQL tests', () => {
  it('starts in front of the test PostgreSQL', ({ skip }) => {
    if (bouncer === undefined && !CI) return skip('no pgbouncer; skipped outside CI')
    expect(bouncer, `PgBouncer must start in CI: ${reason}`).toBeDefined()
  })
})

/** A fresh schema; stores whose queries go through PgBouncer, LISTENing directly or through it. */
async function bouncedHarness(listener: 'direct' | 'none', onError?: (error: unknown) => void): Promise<StoreHarness> {
  const schema = `${RUN}_${(schemas += 1)}`
  const admin = new pg.Pool({ ...POSTGRES, max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const pools: pg.Pool[] = [admin]
  const stores: PostgresTokenStore[] = []
  const open = () => {
    const pool = new pg.Pool({ ...POSTGRES, port: bouncer!.port, max: 4 })
    pools.push(pool)
    const store = new PostgresTokenStore(pool, {
      schema,
      queryTimeoutMs: 5000,
      ...(listener === 'direct' ? { listener: POSTGRES_URL } : {}),
      ...(onError === undefined ? {} : { onError }),
    })
    stores.push(store)
    return store
  }
  const store = open()
  await store.migrate()
  return {
    store,
    peer: async () => open(),
    subscribed: (s) => (s as PostgresTokenStore).listening(),
    deaf: listener === 'none',
    async close() {
      for (const s of stores) await s.close()
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      for (const pool of pools) await pool.end()
    },
  }
}

if (bouncer !== undefined) {
  describeTokenStoreConformance('PostgresTokenStore through PgBouncer (transaction mode), LISTEN on a direct listener', () =>
    bouncedHarness('direct'),
  )
  describeTokenStoreConformance('PostgresTokenStore through PgBouncer (transaction mode), no direct listener', () => bouncedHarness('none'))

  describe('PostgresTokenStore through PgBouncer: the self-test', () => {
    it('without a direct listener: listening() rejects with the reason, onError reports it, listeners get degraded', async () => {
      const errors: unknown[] = []
      const harness = await bouncedHarness('none', (e) => errors.push(e))
      try {
        const events: InvalidationEvent[] = []
        const unsubscribe = harness.store.subscribe!((e) => events.push(e))
        const failure = (harness.store as PostgresTokenStore).listening()
        await expect(failure).rejects.toThrow(/did not hear its own test message within 1000 ms.*listener/)
        expect(events.map((e) => e.type)).toStrictEqual(['degraded'])
        expect(errors.map(String)).toStrictEqual([String(await failure.catch((e: unknown) => e))])
        unsubscribe()
      } finally {
        await harness.close()
      }
    })

    it('with a direct listener: listening() resolves and only a flush is emitted', async () => {
      const errors: unknown[] = []
      const harness = await bouncedHarness('direct', (e) => errors.push(e))
      try {
        const events: InvalidationEvent[] = []
        const unsubscribe = harness.store.subscribe!((e) => events.push(e))
        await (harness.store as PostgresTokenStore).listening()
        expect(events).toStrictEqual([{ type: 'flush' }])
        expect(errors).toStrictEqual([])
        unsubscribe()
      } finally {
        await harness.close()
      }
    })
  })
}
