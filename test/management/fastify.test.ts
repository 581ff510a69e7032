import type { Server } from 'node:http'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import keyward, { authenticate, managementRouter } from '../../adapters/fastify.js'
import { listen } from '../adapters/support.js'
import { setup } from '../support/setup.js'
import { managementContract, type StartManagementApp } from './contract.js'

const start: StartManagementApp = async (kw, options) => {
  const app = Fastify()
  await app.register(keyward)
  await app.register(managementRouter(kw, options), { prefix: '/admin' })
  app.get('/admin/health', async () => ({ ok: true }))
  app.get('/api/ping', { onRequest: authenticate(kw) }, async (request) => ({ keyId: request.auth?.keyId }))
  await app.ready()
  return listen(app.server as Server)
}

managementContract('Fastify', start)

describe('Fastify managementRouter specifics', () => {
  it("keeps Fastify's own JSON parser for the rest of the app", async () => {
    const { kw } = setup()
    const app = Fastify()
    await app.register(managementRouter(kw), { prefix: '/admin' })
    app.post('/echo', async (request) => request.body)
    const echoed = await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } })
    expect([echoed.statusCode, echoed.json()]).toEqual([200, { a: 1 }])
  })

  it('a body without a content type is refused as the others are (415), not parsed', async () => {
    const { kw, mint } = setup()
    const admin = (await mint({ scopes: ['admin'] })).key
    const app = Fastify()
    await app.register(managementRouter(kw), { prefix: '/admin' })
    const res = await app.inject({
      method: 'POST',
      url: '/admin/keys',
      headers: { authorization: `Bearer ${admin}` },
      payload: '{"name":"n","projects":["p"]}',
    })
    expect(res.statusCode).toBe(415)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(await kw.keys.list({ orgId: 'org_1' })).toHaveLength(1)
  })
})
