/**
 * A StoreHarness over any Redis client kind and topology (one server or a cluster's masters),
 * for the suites that run the store conformance on node-redis and on Redis Cluster.
 */
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import Redis from 'ioredis'
import { RedisTokenStore } from '../../src/stores/redis-token-store.js'
import { startSecondProcess, type StoreHarness } from '../../testing/index.js'
import { deleteClusterKeys } from '../support/redis-cluster.js'
import { openRedisClient, type OpenedRedisClient, type RedisClientKind } from '../support/redis-clients.js'

export type RedisKindHarness = StoreHarness & {
  store: RedisTokenStore
  prefix: string
  /** The connection name every client of the harness carries (its subscribers too). */
  name: string
  open(): Promise<RedisTokenStore>
}

let harnesses = 0

/** A fresh prefix, a store on its own client, peers on clients of their own; close() drops every key under the prefix. */
export async function redisKindHarness(
  kind: RedisClientKind,
  nodes: ReadonlyArray<{ host: string; port: number }>,
  run: string,
): Promise<RedisKindHarness> {
  const prefix = `${run}:${(harnesses += 1)}:`
  const name = `kwtest-${randomUUID()}`
  const clients: OpenedRedisClient[] = []
  const opened: RedisTokenStore[] = []
  const open = async () => {
    const client = await openRedisClient(kind, nodes, name)
    clients.push(client)
    // Generous: a loaded CI machine must not turn slowness into failure.
    const store = new RedisTokenStore(client.client, { prefix, timeoutMs: 10_000, reconnectDelayMs: 20 })
    opened.push(store)
    return store
  }
  const store = await open()
  return {
    store,
    prefix,
    name,
    open,
    peer: open,
    subscribed: (s) => (s as RedisTokenStore).listening(),
    secondProcess: () =>
      startSecondProcess({
        command: process.execPath,
        args: ['--import', 'tsx', fileURLToPath(new URL('./second-process/redis.ts', import.meta.url))],
        env: { KW_SERVER: JSON.stringify(nodes), KW_CLIENT: kind, KW_PREFIX: prefix },
        cwd: new URL('../..', import.meta.url),
      }),
    async close() {
      for (const s of opened) await s.close()
      for (const client of clients) await client.quit()
      await deleteKeys(nodes, kind.endsWith('cluster'), `${prefix}*`)
    },
  }
}

/** Deletes every key matching `pattern` (on every master of a cluster). */
export async function deleteKeys(nodes: ReadonlyArray<{ host: string; port: number }>, cluster: boolean, pattern: string): Promise<void> {
  if (cluster) {
    const admin = new Redis.Cluster([...nodes])
    try {
      await deleteClusterKeys(admin, pattern)
    } finally {
      await admin.quit()
    }
    return
  }
  const admin = new Redis(nodes[0]!)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await admin.del(...keys)
    } while (cursor !== '0')
  } finally {
    await admin.quit()
  }
}
