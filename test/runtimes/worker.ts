/**
 * The Worker run on workerd (bundled by scripts/runtimes-bundle.ts, driven by workerd-driver.ts).
 * Built at module scope the way users do: createKeyward() and the app. Routes under `/__` serve
 * the in-process core checks and the Workers-specific checks; under `/fetch` the fetch adapter's
 * app answers as a bare Worker would (`fetch(request, env, ctx)`); the rest is the Hono app under test.
 */
import { Hono, type ExecutionContext } from 'hono'
import { createKeyward, MemoryTokenStore } from 'keyward'
import type { DurableObjectNamespaceLike } from 'keyward/cloudflare'
import { authenticate } from '../../adapters/hono.js'
import { coreChecks, runChecks } from './checks.js'
import { FETCH_BASE, buildFetchApp } from './fetch-checks.js'
import { limiterObjectChecks } from './limiter-object-checks.js'
import { buildApp } from './http-checks.js'

const kw = createKeyward({ prefix: 'bsk', usageFlushMs: false })
const app = buildApp(kw)
const fetchApp = buildFetchApp(kw)

// Key creation while the Worker loads: workerd forbids random values here. What did it say?
let moduleScope: { name: string; message: string } | undefined
const moduleScopeAttempt = kw.keys.create({ name: 'module scope', orgId: 'org_1', projects: ['p1'] }).then(
  () => void (moduleScope = { name: 'none', message: 'a key was created at module scope' }),
  (error: unknown) =>
    void (moduleScope =
      error instanceof Error ? { name: error.name, message: error.message } : { name: 'unknown', message: String(error) }),
)

// Last-used times: a clock the driver moves, and an interval no real timer reaches during the run,
// so a write can only come from the next request handing it to waitUntil.
let offset = 0
const usage = createKeyward({
  prefix: 'bsk',
  store: new MemoryTokenStore(),
  usageFlushMs: 600_000,
  cache: false,
  now: () => Date.now() + offset,
})
const usageApp = new Hono().get('/__usage/me', authenticate(usage), (c) => c.text('ok'))
let waitUntilCalls = 0

function counting(ctx: ExecutionContext): ExecutionContext {
  return {
    waitUntil: (promise) => {
      waitUntilCalls++
      ctx.waitUntil(promise)
    },
    passThroughOnException: () => ctx.passThroughOnException(),
    props: ctx.props,
  }
}

// The Durable Object class of keyward/cloudflare, bound as LIMITER by workerd-driver.ts.
export { KeywardRateLimiterObject } from 'keyward/cloudflare'

export default {
  async fetch(request: Request, env: { LIMITER: DurableObjectNamespaceLike }, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url)
    switch (url.pathname) {
      case '/__core':
        return Response.json(await runChecks(coreChecks()))
      case '/__limiter':
        return Response.json(await runChecks(limiterObjectChecks(env.LIMITER)))
      case '/__module-scope':
        await moduleScopeAttempt
        return Response.json(moduleScope)
      case '/__usage/key': {
        const { key, info } = await usage.keys.create({ name: 'usage', orgId: 'org_1', projects: ['p1'] })
        return Response.json({ key, id: info.id })
      }
      case '/__usage/advance':
        offset += Number(url.searchParams.get('ms'))
        return new Response(null, { status: 204 })
      case '/__usage/last-used': {
        const info = await usage.keys.get(url.searchParams.get('id') ?? '')
        return Response.json({ lastUsedAt: info?.lastUsedAt ?? null, waitUntilCalls })
      }
      case '/__usage/me':
        return usageApp.fetch(request, env, counting(ctx))
      default:
        return url.pathname.startsWith(`${FETCH_BASE}/`) ? fetchApp(request, env, ctx) : app.fetch(request, env, ctx)
    }
  },
}
