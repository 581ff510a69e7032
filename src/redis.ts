/**
 * `keyward/redis`: the Redis rate limiter (quotas and lockout shared by every instance, one
 * EVALSHA per check). Imports no driver: pass your own ioredis client.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * import { createKeyward, withFailurePolicy } from 'keyward'
 * import { RedisRateLimiter } from 'keyward/redis'
 *
 * const limiter = withFailurePolicy(new RedisRateLimiter({ client: new Redis(process.env.REDIS_URL!) }), { quota: 'closed' })
 * const kw = createKeyward({ prefix: 'bsk', limiter })
 * ```
 */
export { RedisRateLimiter, type RedisRateLimiterOptions, type RedisScriptClient } from './limiters/redis-rate-limiter.js'
// The Redis token store: keys shared by every instance, revocations announced through pub/sub.
export { RedisTokenStore, type RedisStoreClient, type RedisSubscriberConnection, type RedisTokenStoreOptions } from './stores/redis-token-store.js'
