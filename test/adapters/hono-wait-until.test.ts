import { Hono, type ExecutionContext } from 'hono'
import { describe, expect, it } from 'vitest'
import { authenticate, managementRouter } from '../../adapters/hono.js'
import { managementHandler } from '../../adapters/fetch.js'
import { createKeyward, MemoryTokenStore } from '../../src/index.js'
import { manualClock } from '../support/clock.js'

/** What a Worker's fetch handler receives as its third argument, recording what it is given. */
function executionContext() {
  const kept: Array<Promise<unknown>> = []
  const ctx = {
    // Workers check `this`: a waitUntil called unbound throws "Illegal invocation".
    waitUntil(this: unknown, promise: Promise<unknown>) {
      if (this !== ctx) throw new TypeError('Illegal invocation')
      kept.push(promise)
    },
    passThroughOnException() {},
    props: {},
  } satisfies ExecutionContext
  return { ctx, kept }
}

describe('Hono authenticate() on Workers', () => {
  it('hands the batched last-used write to c.executionCtx.waitUntil', async () => {
    const clock = manualClock()
    const kw = createKeyward({ prefix: 'bsk', store: new MemoryTokenStore(), now: clock.now, usageFlushMs: 1000, cache: false })
    const { key, info } = await kw.keys.create({ name: 'w', orgId: 'o', projects: ['p'] })
    const app = new Hono().get('/me', authenticate(kw), (c) => c.text('ok'))
    const { ctx, kept } = executionContext()
    const get = () => app.request('/me', { headers: { authorization: `Bearer ${key}` } }, {}, ctx)
    expect((await get()).status).toBe(200)
    clock.advance(1000)
    expect((await get()).status).toBe(200)
    expect(kept).toHaveLength(1)
    await Promise.all(kept)
    expect((await kw.keys.get(info.id))?.lastUsedAt?.getTime()).toBe(clock.now())
  })

  it("the management routes (Hono and fetch) hand an async onEvent hook's key.* work to the execution context", async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const seen: string[] = []
    const kw = createKeyward({
      prefix: 'bsk',
      store: new MemoryTokenStore(),
      usageFlushMs: false,
      onEvent: async (event) => {
        await gate
        seen.push(event.type)
      },
    })
    const { key } = await kw.keys.create({ name: 'admin', orgId: 'o', projects: ['p'], scopes: ['admin'] })
    const hono = new Hono().route('/admin', managementRouter(kw))
    const fetchHandler = managementHandler<[unknown, ExecutionContext]>(kw, { basePath: '/admin' })
    const body = JSON.stringify({ name: 'made', projects: ['p'] })
    const init = { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body }
    const viaHono = executionContext()
    expect((await hono.request('/admin/keys', init, {}, viaHono.ctx)).status).toBe(201)
    const viaFetch = executionContext()
    expect((await fetchHandler(new Request('http://x/admin/keys', init), {}, viaFetch.ctx)).status).toBe(201)
    for (const { kept } of [viaHono, viaFetch]) expect(kept).toHaveLength(1)
    release()
    await Promise.all([...viaHono.kept, ...viaFetch.kept])
    expect(seen.filter((type) => type === 'key.created')).toHaveLength(3)
  })

  it('works unchanged where there is no execution context (Node, Bun, Deno)', async () => {
    const kw = createKeyward({ prefix: 'bsk' })
    const { key } = await kw.keys.create({ name: 'w', orgId: 'o', projects: ['p'] })
    const app = new Hono().get('/me', authenticate(kw), (c) => c.text('ok'))
    expect((await app.request('/me', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    expect((await app.request('/me')).status).toBe(401)
    await kw.close()
  })
})
