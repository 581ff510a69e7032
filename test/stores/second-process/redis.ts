// The other server process of the Redis conformance runs (startSecondProcess in
// test/stores/redis*.test.ts): its own connections and store on the harness's prefix.
// KW_CLIENT: which client (default ioredis); KW_SERVER: one { host, port } or the cluster's masters.
import { openRedisClient, type RedisClientKind } from '../../support/redis-clients.js'
import { RedisTokenStore } from '../../../src/stores/redis-token-store.js'
import { serveSecondProcess } from '../../../testing/index.js'

const server = JSON.parse(process.env.KW_SERVER!) as { host: string; port: number } | Array<{ host: string; port: number }>
const kind = (process.env.KW_CLIENT ?? 'ioredis') as RedisClientKind
const redis = await openRedisClient(kind, Array.isArray(server) ? server : [server])
const store = new RedisTokenStore(redis.client, { prefix: process.env.KW_PREFIX!, timeoutMs: 10_000 })
await serveSecondProcess(store, {
  subscribed: () => store.listening(),
  close: async () => {
    await store.close()
    await redis.quit()
  },
})
