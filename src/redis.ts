/**
 * `keyward/redis`: the Redis rate limiter (quotas and lockout shared by every instance, one
 * EVALSHA per check) and the Redis token store (keys shared by every instance, changes announced
 * through pub/sub). Imports no driver: pass your own ioredis or node-redis client.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * import { createKeyward, withFailurePolicy } from 'keyward'
 * import { RedisRateLimiter, RedisTokenStore } from 'keyward/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false })
 * const limiter = withFailurePolicy(new RedisRateLimiter({ client: redis }), { quota: 'closed' })
 * const kw = createKeyward({ prefix: 'bsk', store: new RedisTokenStore(redis), limiter })
 * ```
 */
export {
  RedisRateLimiter,
  type NodeRedisScriptClient,
  type RedisRateLimiterOptions,
  type RedisScriptClient,
} from './limiters/redis-rate-limiter.js'
export {
  RedisTokenStore,
  type NodeRedisStoreClient,
  type NodeRedisSubscriberClient,
  type RedisStoreClient,
  type RedisSubscriberConnection,
  type RedisTokenStoreOptions,
} from './stores/redis-token-store.js'
