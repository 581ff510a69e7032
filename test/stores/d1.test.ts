/**
 * D1TokenStore on workerd (miniflare's D1 is the real workerd implementation): the store and
 * refresh-family conformance suites of keyward/testing, through two Workers (two isolates) on one
 * database. Runs in `npm test`; workerd comes from the npm package, so nothing here is skipped.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { describeTokenStoreConformance } from '../../testing/index.js'
import { d1CreditsSql, d1SchemaSql } from '../../src/cloudflare.js'
import { startWorkers, storeProxy, type Workers } from '../cloudflare/harness.js'

// Every store call is an HTTP round trip into workerd and a D1 query: the racing tests make
// hundreds of them, slow on a loaded machine. A limit on time, not an assertion about speed.
vi.setConfig({ testTimeout: 120_000 })

let workers: Workers
beforeAll(async () => {
  workers = await startWorkers()
}, 120_000)
afterAll(async () => {
  await workers?.dispose()
})

let tables = 0
describeTokenStoreConformance('D1 on workerd', async () => {
  tables += 1
  const options = { table: `k${tables}`, refreshFamilyTable: `f${tables}` }
  const store = storeProxy(workers, 'a', options)
  await store.migrate()
  return {
    store,
    close: async () => {},
    peer: async () => storeProxy(workers, 'b', options),
  }
})

describe('D1 schema', () => {
  it('ships sql/d1/0001_keyward.sql identical to d1SchemaSql()', () => {
    expect(readFileSync(new URL('../../sql/d1/0001_keyward.sql', import.meta.url), 'utf8')).toBe(d1SchemaSql())
    expect(readFileSync(new URL('../../sql/d1/0002_keyward_credits.sql', import.meta.url), 'utf8')).toBe(d1CreditsSql())
  })

  it('refuses a table name that is not an identifier, naming the option', () => {
    expect(() => d1SchemaSql({ table: 'keys; DROP TABLE x' })).toThrow(/table must be a lowercase SQL identifier/)
  })
})
