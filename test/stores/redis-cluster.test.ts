/**
 * RedisTokenStore on a real three-master Redis Cluster (scripts/redis-cluster.sh, started here on
 * free ports and stopped after): the conformance suite through ioredis's `Cluster` and
 * node-redis's `createCluster`, and the key layout spreading the store over the masters.
 */
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { bareRecord, describeTokenStoreConformance, familyRecord } from '../../testing/index.js'
import { startRedisCluster } from '../support/redis-cluster.js'
import { CI, warnSkipped } from '../support/servers.js'
import { deleteKeys, redisKindHarness } from './redis-harness.js'

const RUN = `kwtest:cluster:${randomUUID()}`
const cluster = await startRedisCluster()
const available = cluster.failure === undefined
if (!available)
  warnSkipped(`A local Redis Cluster (scripts/redis-cluster.sh: ${cluster.failure})`, 'the RedisTokenStore tests on Redis Cluster')

describe('a local three-master Redis Cluster', () => {
  it('starts (required in CI)', ({ skip }) => {
    if (!available && !CI) return skip('no Redis Cluster; skipped outside CI')
    expect(cluster.failure, 'scripts/redis-cluster.sh must start a cluster in CI').toBeUndefined()
  })
})

afterAll(async () => {
  if (available) await deleteKeys(cluster.nodes, true, `${RUN}:*`).catch(() => {})
  await cluster.stop()
}, 60_000)

if (available) {
  describeTokenStoreConformance('RedisTokenStore on Redis Cluster (ioredis Cluster)', () =>
    redisKindHarness('ioredis-cluster', cluster.nodes, RUN),
  )
  describeTokenStoreConformance('RedisTokenStore on Redis Cluster (node-redis createCluster)', () =>
    redisKindHarness('node-redis-cluster', cluster.nodes, RUN),
  )
}

describe.runIf(available)('RedisTokenStore on Redis Cluster: the key layout', () => {
  it('spreads records, org indexes and refresh families over every master, and lists an org across them', async () => {
    const harness = await redisKindHarness('ioredis-cluster', cluster.nodes, RUN)
    const admin = cluster.connect()
    try {
      const records = Array.from({ length: 30 }, (_, i) => bareRecord({ orgId: i % 2 === 0 ? 'org_even' : `org_${i}` }))
      for (const record of records) expect(await harness.store.insert(record)).toBe(true)
      for (let i = 0; i < 10; i++) expect(await harness.store.insertRefreshFamily(familyRecord())).toBe(true)
      const perMaster = await Promise.all(
        admin.nodes('master').map(async (node: Redis) => (await node.keys(`${harness.prefix}*`)).map((key) => key.split(':').at(-2))),
      )
      // Every master holds records, and orgs and families land on more than one.
      for (const kinds of perMaster) expect(kinds).toContain('key')
      expect(perMaster.filter((kinds) => kinds.includes('org')).length).toBeGreaterThan(1)
      expect(perMaster.filter((kinds) => kinds.includes('family')).length).toBeGreaterThan(1)
      const even = records.filter((r) => r.orgId === 'org_even').map((r) => r.id)
      expect((await harness.store.listByOrg('org_even')).map((r) => r.id)).toStrictEqual([...even].sort())
      expect((await harness.store.listByOrg('org_even', { limit: 4 })).map((r) => r.id)).toStrictEqual([...even].sort().slice(0, 4))
    } finally {
      await admin.quit()
      await harness.close()
    }
  })
})
