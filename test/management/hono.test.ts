import { serve } from '@hono/node-server'
import type { ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { authenticate, managementRouter } from '../../adapters/hono.js'
import type { KeywardEvent } from 'keyward'
import { jwtSetup } from '../jwt/support.js'
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
    const admin = (await mint({ scopes: ['admin'], projects: ['p'] })).key
    const app = new Hono()
    app.route('/orgs/:org/admin', managementRouter(kw))
    const res = await app.request('/orgs/acme/admin/keys?limit=1', { headers: { authorization: `Bearer ${admin}` } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1)
  })

  it('takes a body a middleware before it already read', async () => {
    const { kw, mint } = setup()
    const admin = (await mint({ scopes: ['admin'], projects: ['p'] })).key
    const app = new Hono()
    app.use('/admin/*', async (c, next) => {
      if (c.req.method === 'POST') await c.req.json()
      await next()
    })
    app.route('/admin', managementRouter(kw))
    const post = (body: unknown) =>
      app.request('/admin/keys', {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    expect((await post({ name: 'read before', projects: ['p'] })).status).toBe(201)
    expect((await post({ name: 'big', projects: ['p'], metadata: { pad: 'x'.repeat(20_000) } })).status).toBe(413)
  })

  it("a user JWT with the admin scope manages its org's keys; the events name the user", async () => {
    const events: KeywardEvent[] = []
    const { kw, mint } = jwtSetup({}, { onEvent: (e) => void events.push(e) })
    const theirs = (await mint({ orgId: 'org_2' })).info.id
    const app = new Hono()
    app.route('/admin', managementRouter(kw))
    const { accessToken } = await kw.tokens.issue({ subject: 'alice', org: 'org_1', scopes: ['admin'], projects: ['p'] })
    const { accessToken: reader } = await kw.tokens.issue({ subject: 'bob', org: 'org_1', scopes: ['read'] })
    const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' })
    const created = await app.request('/admin/keys', {
      method: 'POST',
      headers: auth(accessToken),
      body: JSON.stringify({ name: 'from a user', projects: ['p'] }),
    })
    expect(created.status).toBe(201)
    expect(events.filter((e) => e.type === 'key.created').at(-1)?.actor).toEqual({ type: 'jwt', subject: 'alice', org: 'org_1' })
    expect((await app.request(`/admin/keys/${theirs}`, { headers: auth(accessToken) })).status).toBe(404)
    expect((await app.request('/admin/keys', { headers: auth(reader) })).status).toBe(403)
  })
})
