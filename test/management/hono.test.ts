import { serve } from '@hono/node-server'
import type { ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { authenticate, managementRouter } from '../../adapters/hono.js'
import { setup } from '../support/setup.js'
import { managementContract, type StartManagementApp } from './contract.js'

async function listenHono(app: Hono): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const start: StartManagementApp = (kw, options) => {
  const app = new Hono()
  app.route('/admin', managementRouter(kw, options))
  app.get('/admin/health', (c) => c.json({ ok: true }))
  app.get('/api/ping', authenticate(kw), (c) => c.json({ keyId: c.get('auth').keyId }))
  return listenHono(app)
}

managementContract('Hono', start)

describe('Hono managementRouter specifics', () => {
  it('works through app.request() (no server) and under a mount point with a param', async () => {
    const { kw, mint } = setup()
    const admin = (await mint({ scopes: ['admin'] })).key
    const app = new Hono()
    app.route('/orgs/:org/admin', managementRouter(kw))
    const res = await app.request('/orgs/acme/admin/keys?limit=1', { headers: { authorization: `Bearer ${admin}` } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1)
  })

  it('takes a body a middleware before it already read', async () => {
    const { kw, mint } = setup()
    const admin = (await mint({ scopes: ['admin'] })).key
    const app = new Hono()
    app.use('/admin/*', async (c, next) => {
      if (c.req.method === 'POST') await c.req.json()
      await next()
    })
    app.route('/admin', managementRouter(kw))
    const post = (body: unknown) => app.request('/admin/keys', { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect((await post({ name: 'read before', projects: ['p'] })).status).toBe(201)
    expect((await post({ name: 'big', projects: ['p'], metadata: { pad: 'x'.repeat(20_000) } })).status).toBe(413)
  })
})
