/**
 * RedisRateLimiter on a real three-master Redis Cluster (scripts/redis-cluster.sh, started here on
 * free ports and stopped after): the conformance suite through ioredis's `Cluster` and node-redis's
 * `createCluster`, and two server processes sharing quotas and lockout through the cluster.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { RedisRateLimiter } from '../../src/limiters/redis-rate-limiter.js'
import { describeRateLimiterConformance } from '../../testing/index.js'
import { deleteKeys } from '../stores/redis-harness.js'
import { startRedisCluster } from '../support/redis-cluster.js'
import { openRedisClient, type OpenedRedisClient, type RedisClientKind } from '../support/redis-clients.js'
import { CI, postgresAnswers, warnSkipped } from '../support/servers.js'
import { describeTwoProcesses } from './two-processes.js'

const RUN = `kwtest:cluster-limiter:${randomUUID()}`
const [cluster, pgUp] = await Promise.all([startRedisCluster(), postgresAnswers()])
const available = cluster.failure === undefined
if (!available)
  warnSkipped(`A local Redis Cluster (scripts/redis-cluster.sh: ${cluster.failure})`, 'the RedisRateLimiter tests on Redis Cluster')
if (!pgUp) warnSkipped('PostgreSQL', 'the two-process lockout tests on Redis Cluster')

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

let harnesses = 0
/** A limiter on its own client and prefix; peers on clients of their own, same prefix. */
async function clusterLimiterHarness(kind: RedisClientKind) {
  const prefix = `${RUN}:${(harnesses += 1)}:`
  const clients: OpenedRedisClient[] = []
  const open = async () => {
    const client = await openRedisClient(kind, cluster.nodes)
    clients.push(client)
    // Generous: a loaded CI machine must not turn a slow answer into a failed test.
    return new RedisRateLimiter({ client: client.client, prefix, timeoutMs: 10_000 })
  }
  return {
    limiter: await open(),
    peer: open,
    async close() {
      for (const client of clients) await client.quit()
      await deleteKeys(cluster.nodes, true, `${prefix}*`)
    },
  }
}

if (available) {
  describeRateLimiterConformance('RedisRateLimiter on Redis Cluster (ioredis Cluster)', () => clusterLimiterHarness('ioredis-cluster'))
  describeRateLimiterConformance('RedisRateLimiter on Redis Cluster (node-redis createCluster)', () =>
    clusterLimiterHarness('node-redis-cluster'),
  )
}
if ((available && pgUp) || CI) describeTwoProcesses('Redis Cluster', { nodes: cluster.nodes, cluster: true })

describe.runIf(available)('RedisRateLimiter on Redis Cluster: keys and slots', () => {
  it('refuses (never passes) when told the cluster is one server: the key and address slots differ', async () => {
    const { client, quit } = await openRedisClient('ioredis-cluster', cluster.nodes)
    try {
      const limiter = new RedisRateLimiter({ client, prefix: `${RUN}:single:`, timeoutMs: 10_000, cluster: false })
      const request = { key: 'k1', rules: [{ limit: 5, windowMs: 60_000 }], blockKey: '203.0.113.9', now: 0 }
      await expect(limiter.limit(request)).rejects.toThrow(/CROSSSLOT/)
      const detected = new RedisRateLimiter({ client, prefix: `${RUN}:detected:`, timeoutMs: 10_000 })
      expect(await detected.limit(request)).toMatchObject({ allowed: true, blocked: false })
    } finally {
      await quit()
    }
  })
})
