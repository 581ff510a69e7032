/**
 * `keyward/cloudflare`: a shared store and limiter that run inside a Cloudflare Worker. Key
 * records and refresh-token families in D1, quotas and lockout in a Durable Object. Imports no
 * Cloudflare package: pass your bindings. See docs/runtimes.md for wrangler.toml.
 *
 * @example
 * ```ts
 * import { createKeyward, type Keyward } from 'keyward'
 * import { D1TokenStore, DurableObjectRateLimiter } from 'keyward/cloudflare'
 * export { KeywardRateLimiterObject } from 'keyward/cloudflare'
 *
 * let kw: Keyward | undefined
 * export default {
 *   async fetch(request: Request, env: Env) {
 *     kw ??= createKeyward({
 *       prefix: 'bsk',
 *       store: new D1TokenStore(env.DB),
 *       limiter: new DurableObjectRateLimiter({ namespace: env.KEYWARD_LIMITER }),
 *     })
 *     // ...
 *   },
 * }
 * ```
 *
 * @packageDocumentation
 */
export { D1TokenStore, type D1TokenStoreOptions } from './stores/d1-token-store.js'
export { d1CreditsSql, d1CreditsStatements, d1SchemaSql, d1SchemaStatements, type D1TableNames } from './stores/d1-schema.js'
export type { D1DatabaseLike, D1PreparedStatementLike } from './stores/d1-types.js'
export {
  DurableObjectRateLimiter,
  type DurableObjectNamespaceLike,
  type DurableObjectRateLimiterOptions,
  type DurableObjectStubLike,
} from './limiters/durable-object-rate-limiter.js'
export { KeywardRateLimiterObject, type DurableObjectStateLike, type DurableObjectStorageLike } from './limiters/rate-limiter-object.js'
