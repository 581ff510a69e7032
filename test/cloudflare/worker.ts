/**
 * The test Worker run on workerd by miniflare (test/cloudflare/harness.ts bundles it): it exposes
 * D1TokenStore and DurableObjectRateLimiter operations over fetch, for the conformance suites
 * running in Node, and a keyward instance on both for the end-to-end checks. Two copies of it
 * run as two Workers (two isolates) on the same D1 database and Durable Object namespace.
 */
import { createKeyward, type Keyward } from '../../src/index.js'
import { D1TokenStore, DurableObjectRateLimiter, type D1DatabaseLike, type DurableObjectNamespaceLike } from '../../src/cloudflare.js'
import { decode, encode } from './wire.js'

export { KeywardRateLimiterObject } from '../../src/cloudflare.js'

interface Env {
  DB: D1DatabaseLike
  LIMITER: DurableObjectNamespaceLike
}

// The end-to-end keyward: a short cache TTL on a clock the test moves (frozen otherwise), so
// that what the revocation test sees depends on the clock it sets, not on how fast the run goes.
const clock = { base: Date.now(), offset: 0, frozen: true }
let kw: Keyward | undefined

function keyward(env: Env): Keyward {
  kw ??= createKeyward({
    prefix: 'bsk',
    store: new D1TokenStore(env.DB, { table: 'e2e_keys', refreshFamilyTable: 'e2e_families' }),
    limiter: new DurableObjectRateLimiter({ namespace: env.LIMITER, name: 'e2e' }),
    cache: { ttlMs: 5_000 },
    usageFlushMs: false,
    now: () => (clock.frozen ? clock.base : Date.now()) + clock.offset,
  })
  return kw
}

function answer(value: unknown): Response {
  return new Response(encode(value === undefined ? null : value), { headers: { 'content-type': 'application/json' } })
}

function failure(error: unknown): Response {
  const e = error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) }
  return new Response(encode({ error: e }), { status: 500, headers: { 'content-type': 'application/json' } })
}

async function call(target: object, method: string, args: unknown[]): Promise<unknown> {
  const fn = (target as Record<string, unknown>)[method]
  if (typeof fn !== 'function') throw new Error(`no method ${method}`)
  return (fn as (...a: unknown[]) => Promise<unknown>).apply(target, args)
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    const [, area, method] = url.pathname.split('/')
    try {
      const body =
        request.method === 'POST' ? (decode(await request.text()) as { options?: Record<string, unknown>; args?: unknown[] }) : {}
      switch (area) {
        case 'store': {
          const store = new D1TokenStore(env.DB, body.options as { table: string; refreshFamilyTable: string })
          return answer(await call(store, method!, body.args ?? []))
        }
        case 'limiter': {
          const limiter = new DurableObjectRateLimiter({ namespace: env.LIMITER, ...(body.options as object) })
          return answer(await call(limiter, method!, body.args ?? []))
        }
        case 'kw': {
          const k = keyward(env)
          if (method === 'migrate')
            return answer(await new D1TokenStore(env.DB, { table: 'e2e_keys', refreshFamilyTable: 'e2e_families' }).migrate())
          if (method === 'create') return answer(await k.keys.create(body.args![0] as Parameters<Keyward['keys']['create']>[0]))
          if (method === 'revoke') return answer(await k.keys.revoke(body.args![0] as string))
          if (method === 'clock') {
            Object.assign(clock, body.args![0])
            return answer(null)
          }
          if (method === 'verify') {
            const result = await k.verify({
              headers: request.headers,
              ip: request.headers.get('x-test-ip') ?? '203.0.113.9',
              project: 'p1',
            })
            return new Response(null, { status: result.ok ? 200 : result.error.status })
          }
          throw new Error(`no kw route ${method}`)
        }
        default:
          return new Response('not found', { status: 404 })
      }
    } catch (error) {
      return failure(error)
    }
  },
}
