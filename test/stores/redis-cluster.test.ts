/**
 * RedisTokenStore on a real three-master Redis Cluster (scripts/redis-cluster.sh, started here on
 * free ports and stopped after): the conformance suite through ioredis's `Cluster` and
 * node-redis's `createCluster`, and the key layout spreading the store over the masters.
 */
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import type { InvalidationEvent } from '../../src/index.js'
import { RedisTokenStore } from '../../src/stores/redis-token-store.js'
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

describe.runIf(available)('RedisTokenStore on Redis Cluster: a lost subscriber', () => {
  it(
    'flushes after its subscriber connection is killed (CLIENT KILL) and a change is published in the gap, then hears again',
    { timeout: 30_000 },
    async () => {
      const prefix = `${RUN}:kill:`
      const name = `kwtest-${randomUUID()}`
      const client = cluster.connect({ redisOptions: { connectionName: name } })
      const peerClient = cluster.connect()
      const admin = cluster.connect()
      // The store subscribes through a master the Cluster knows: wait until it knows them.
      await Promise.all([client, peerClient, admin].map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))))
      const store = new RedisTokenStore(client as never, { prefix, timeoutMs: 2000, heartbeatMs: 200, reconnectDelayMs: 20 })
      const peer = new RedisTokenStore(peerClient as never, { prefix, timeoutMs: 10_000, listen: false })
      const events: InvalidationEvent[] = []
      let check = () => {}
      const unsubscribe = store.subscribe((event) => {
        events.push(event)
        check()
      })
      const until = (done: () => boolean) =>
        new Promise<void>((resolve) => {
          check = () => done() && resolve()
          check()
        })
      try {
        await store.listening()
        await until(() => events.length >= 1)
        const record = bareRecord()
        await peer.insert(record)

        // The subscriber is one connection to one master: find it by name and kill it.
        const killed: string[] = []
        for (const node of admin.nodes('master')) {
          const list = (await node.client('LIST', 'TYPE', 'PUBSUB')) as string
          for (const line of list.split('\n').filter((l) => l.includes(` name=${name} `))) {
            await node.client('KILL', 'ID', /^id=(\d+)/.exec(line)![1]!)
            killed.push(line)
          }
        }
        expect(killed).toHaveLength(1)
        // In the gap: ioredis reconnects that node unsubscribed and says nothing; this revocation's
        // announcement reaches nobody.
        const gap = events.length
        await peer.update(record.id, { revokedAt: 1 })
        await until(() => events.slice(gap).some((e) => e.type === 'flush'))
        expect(events.slice(gap)).toContainEqual({ type: 'flush' })

        // Subscribed anew: the next change is heard.
        await store.listening()
        const after = events.length
        await peer.update(record.id, { name: 'renamed' })
        await until(() => events.slice(after).some((e) => e.type === 'key'))
        expect(events.slice(after)).toContainEqual({ type: 'key', id: record.id })
      } finally {
        unsubscribe()
        await store.close()
        for (const c of [client, peerClient, admin]) await c.quit()
      }
    },
  )
})
