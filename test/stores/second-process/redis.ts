// The other server process of the Redis conformance run (startSecondProcess in
// test/stores/redis.test.ts): its own connections and store on the harness's prefix.
import Redis, { type RedisOptions } from 'ioredis'
import { RedisTokenStore } from '../../../src/stores/redis-token-store.js'
import { serveSecondProcess } from '../../../testing/index.js'

const redis = new Redis(JSON.parse(process.env.KW_SERVER!) as RedisOptions)
const store = new RedisTokenStore(redis, { prefix: process.env.KW_PREFIX!, timeoutMs: 10_000 })
await serveSecondProcess(store, {
  subscribed: () => store.listening(),
  close: async () => {
    await store.close()
    await redis.quit()
  },
})
