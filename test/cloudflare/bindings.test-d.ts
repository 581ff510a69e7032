/**
 * The structural binding types of keyward/cloudflare accept Cloudflare's real ones
 * (@cloudflare/workers-types, the module form), so a Worker passes `env.DB` and
 * `env.KEYWARD_LIMITER` without a cast, and KeywardRateLimiterObject fits as a Durable Object.
 */
import type { D1Database, DurableObjectNamespace, DurableObjectState } from '@cloudflare/workers-types/index.ts'
import { describe, expectTypeOf, it } from 'vitest'
import {
  D1TokenStore,
  DurableObjectRateLimiter,
  KeywardRateLimiterObject,
  type D1DatabaseLike,
  type DurableObjectNamespaceLike,
  type DurableObjectStateLike,
} from '../../src/cloudflare.js'

describe('keyward/cloudflare takes the real Workers bindings', () => {
  it('D1Database, DurableObjectNamespace and DurableObjectState fit the structural types', () => {
    expectTypeOf<D1Database>().toExtend<D1DatabaseLike>()
    expectTypeOf<DurableObjectNamespace>().toExtend<DurableObjectNamespaceLike>()
    expectTypeOf<DurableObjectState>().toExtend<DurableObjectStateLike>()
  })

  it('constructs from them without a cast', () => {
    const env = {} as { DB: D1Database; KEYWARD_LIMITER: DurableObjectNamespace; ctx: DurableObjectState }
    expectTypeOf(new D1TokenStore(env.DB)).toEqualTypeOf<D1TokenStore>()
    expectTypeOf(new DurableObjectRateLimiter({ namespace: env.KEYWARD_LIMITER })).toEqualTypeOf<DurableObjectRateLimiter>()
    expectTypeOf(new KeywardRateLimiterObject(env.ctx, {})).toEqualTypeOf<KeywardRateLimiterObject>()
  })
})
