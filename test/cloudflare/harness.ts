/**
 * Starts the test Worker (worker.ts, bundled with esbuild) twice on workerd through miniflare:
 * Workers `a` and `b`, two isolates on one D1 database and one Durable Object namespace, as two
 * Cloudflare locations would share them. Proxies implement TokenStore and RateLimiter in Node by
 * calling the Worker over fetch, so the keyward/testing suites run against the real D1 and
 * Durable Object implementations.
 */
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import type { CreditAdjustment, LimitRequest, LockoutPolicy, RateLimiter } from '../../src/limiters/rate-limiter.js'
import type { TokenStore } from '../../src/stores/token-store.js'
import { decode, encode, rethrow, type WireError } from './wire.js'

export type WorkerName = 'a' | 'b'

export interface Workers {
  /** POSTs `{ options, args }` to `/<area>/<method>` on a Worker; resolves the decoded answer or rethrows its error. */
  call(worker: WorkerName, path: string, body?: { options?: unknown; args?: unknown[] }): Promise<unknown>
  /** A raw request to a Worker. */
  fetch(worker: WorkerName, path: string, init?: RequestInit): Promise<Response>
  dispose(): Promise<void>
}

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./worker.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}

export async function startWorkers(): Promise<Workers> {
  const script = await bundle()
  const shared = { modules: true, script, compatibilityDate: '2025-09-01', d1Databases: { DB: 'keyward-test-db' } }
  const mf = new Miniflare({
    workers: [
      { ...shared, name: 'a', durableObjects: { LIMITER: { className: 'KeywardRateLimiterObject', useSQLite: true } } },
      { ...shared, name: 'b', durableObjects: { LIMITER: { className: 'KeywardRateLimiterObject', scriptName: 'a', useSQLite: true } } },
    ],
  })
  await mf.ready
  // miniflare's fetchers speak undici's Request and Response, which the test reads like the global ones.
  type Fetcher = { fetch(url: string, init?: RequestInit): Promise<Response> }
  const workers = { a: (await mf.getWorker('a')) as unknown as Fetcher, b: (await mf.getWorker('b')) as unknown as Fetcher }
  const fetchOn = (worker: WorkerName, path: string, init?: RequestInit) => workers[worker].fetch(`http://worker${path}`, init)
  return {
    fetch: fetchOn,
    async call(worker, path, body = {}) {
      const response = await fetchOn(worker, path, { method: 'POST', body: encode(body) })
      const decoded = decode(await response.text())
      if (response.status !== 200) rethrow(decoded as WireError)
      return decoded
    },
    dispose: () => mf.dispose(),
  }
}

const STORE_METHODS = [
  'findById',
  'insert',
  'update',
  'listByOrg',
  'touch',
  'insertRefreshFamily',
  'rotateRefreshFamily',
  'revokeRefreshFamily',
  'findRefreshFamily',
  'purgeExpiredRefreshFamilies',
  'migrate',
] as const

/** A TokenStore in Node whose every call runs D1TokenStore on `worker`, on the given tables. */
export function storeProxy(
  workers: Workers,
  worker: WorkerName,
  options: { table: string; refreshFamilyTable: string },
): TokenStore & {
  migrate(): Promise<void>
} {
  const proxy: Record<string, unknown> = {}
  for (const method of STORE_METHODS) {
    proxy[method] = async (...args: unknown[]) => {
      const value = await workers.call(worker, `/store/${method}`, { options, args })
      // Records cross as JSON: `null` is what D1TokenStore answered for "none".
      return method === 'findById' || method === 'update' || method === 'findRefreshFamily' ? value : (value ?? undefined)
    }
  }
  return proxy as unknown as TokenStore & { migrate(): Promise<void> }
}

/** A RateLimiter in Node whose every call runs DurableObjectRateLimiter on `worker`. */
export function limiterProxy(workers: Workers, worker: WorkerName, options: { name: string; shards?: number }): RateLimiter {
  return {
    // As the limiter in the Worker says: credits spent in the key's object, with any number of shards.
    credits: true,
    adjustCredits: (adjustment: CreditAdjustment) =>
      workers.call(worker, '/limiter/adjustCredits', { options, args: [adjustment] }) as never,
    limit: (request: LimitRequest) => workers.call(worker, '/limiter/limit', { options, args: [request] }) as never,
    recordFailure: (blockKey: string, policy: LockoutPolicy, now: number) =>
      workers.call(worker, '/limiter/recordFailure', { options, args: [blockKey, policy, now] }) as never,
  }
}
