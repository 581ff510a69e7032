import { createServer } from 'node:http'
import Koa from 'koa'
import { describe, expect, it } from 'vitest'
import { authenticate, managementRouter } from '../../adapters/koa.js'
import { listen } from '../adapters/support.js'
import { setup } from '../support/setup.js'
import { managementContract, type StartManagementApp } from './contract.js'

const start: StartManagementApp = (kw, options) => {
  const app = new Koa()
  const ping = authenticate(kw)
  app.use(managementRouter(kw, { ...options, basePath: '/admin' }))
  app.use(async (ctx, next) => {
    if (ctx.path === '/admin/health') ctx.body = { ok: true }
    else if (ctx.path === '/api/ping') await ping(ctx, async () => void (ctx.body = { keyId: ctx.state.auth.keyId }))
    else await next()
  })
  return listen(createServer(app.callback()))
}

managementContract('Koa', start)

describe('Koa managementRouter specifics', () => {
  it('checks basePath at start-up', () => {
    const { kw } = setup()
    expect(() => managementRouter(kw, { basePath: 'admin/' })).toThrow(/basePath/)
  })

  it('mounted at the root, serves /keys and leaves the rest to the app', async () => {
    const { kw } = setup()
    const app = new Koa()
    app.use(managementRouter(kw))
    app.use((ctx) => void (ctx.body = 'app'))
    const server = await listen(createServer(app.callback()))
    try {
      expect((await fetch(`${server.url}/keys`)).status).toBe(401)
      expect(await (await fetch(`${server.url}/keysmith`)).text()).toBe('app')
    } finally {
      await server.close()
    }
  })
})
