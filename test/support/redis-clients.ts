/**
 * The Redis clients keyward drives natively, opened the same way for every suite that runs on
 * each: ioredis (`Redis`, `Cluster`) and node-redis (`createClient`, `createCluster`).
 */
import Redis from 'ioredis'
import { createClient, createCluster } from 'redis'
import type { RedisScriptClient } from '../../src/limiters/redis-rate-limiter.js'
import type { RedisStoreClient } from '../../src/stores/redis-token-store.js'

export type RedisClientKind = 'ioredis' | 'ioredis-cluster' | 'node-redis' | 'node-redis-cluster'

export interface OpenedRedisClient {
  client: RedisStoreClient & RedisScriptClient
  quit(): Promise<void>
}

/**
 * Opens (and connects) a client of `kind` on `nodes` (one node, or a cluster's masters).
 * `name` is the connection name (CLIENT SETNAME), inherited by the store's subscriber, so a test
 * can find and kill it.
 */
export async function openRedisClient(
  kind: RedisClientKind,
  nodes: ReadonlyArray<{ host: string; port: number }>,
  name?: string,
): Promise<OpenedRedisClient> {
  switch (kind) {
    case 'ioredis': {
      const client = new Redis({ ...nodes[0]!, maxRetriesPerRequest: 1, ...(name === undefined ? {} : { connectionName: name }) })
      return { client, quit: async () => void (await client.quit().catch(() => client.disconnect())) }
    }
    case 'ioredis-cluster': {
      const client = new Redis.Cluster([...nodes], { redisOptions: name === undefined ? {} : { connectionName: name } })
      // The store subscribes through one of the masters the Cluster knows: wait until it knows them.
      if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
      return {
        client: client as unknown as OpenedRedisClient['client'],
        quit: async () => void (await client.quit().catch(() => client.disconnect())),
      }
    }
    case 'node-redis': {
      const client = createClient({ socket: { ...nodes[0]! }, ...(name === undefined ? {} : { name }) })
      client.on('error', () => {})
      await client.connect()
      return { client: client as unknown as OpenedRedisClient['client'], quit: async () => void client.destroy() }
    }
    case 'node-redis-cluster': {
      const client = createCluster({
        rootNodes: nodes.map((node) => ({ socket: { ...node } })),
        ...(name === undefined ? {} : { defaults: { name } }),
      })
      client.on('error', () => {})
      await client.connect()
      return { client: client as unknown as OpenedRedisClient['client'], quit: async () => void client.destroy() }
    }
  }
}
