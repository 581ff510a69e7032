import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { ownsPath } from 'keyward'
import { describe, expect, it } from 'vitest'
import { managementHandler, withAuth } from '../../adapters/fetch.js'
import { listen } from '../adapters/support.js'
import { setup } from '../support/setup.js'
import { managementContract, type StartManagementApp } from './contract.js'

type Env = { incoming: { socket: { remoteAddress?: string } } }
const ip = (_request: Request, env: Env) => env.incoming.socket.remoteAddress

/** The contract's application: the app routes /admin/keys... to managementHandler itself, as a Bun.serve or Worker app does. */
const start: StartManagementApp = (kw, options) => {
  const manage = managementHandler(kw, { ...options, basePath: '/admin', ip })
  const ping = withAuth<[Env]>(kw, (_request, auth) => Response.json({ keyId: auth.keyId }), { ip })
  const fetch = (request: Request, env: Env) => {
    const { pathname } = new URL(request.url)
    if (pathname.startsWith('/admin') && ownsPath(pathname.slice('/admin'.length))) return manage(request, env)
    if (pathname === '/admin/health') return Response.json({ ok: true })
    if (pathname === '/api/ping') return ping(request, env)
    return new Response(null, { status: 404 })
  }
  return listen(createAdaptorServer({ fetch: fetch as never }) as Server)
}

managementContract('fetch', start)

describe('fetch managementHandler specifics', () => {
  it('answers a path outside its routes with a 404 problem, and checks basePath at start-up', async () => {
    const { kw, mint } = setup()
    const admin = (await mint({ scopes: ['admin'] })).key
    const handle = managementHandler(kw, { basePath: '/api/admin' })
    const get = (path: string) => handle(new Request(`https://api.example${path}`, { headers: { authorization: `Bearer ${admin}` } }))
    expect((await get('/api/admin/keys?limit=1')).status).toBe(200)
    for (const path of ['/api/admin/health', '/api/administrator/keys', '/keys']) {
      const res = await get(path)
      expect(res.status, path).toBe(404)
      expect(((await res.json()) as { code: string }).code).toBe('route_not_found')
    }
    expect(() => managementHandler(kw, { basePath: 'admin/' })).toThrow(/basePath/)
    expect(() => managementHandler(kw, { basepath: '/admin' } as never)).toThrow(/unknown management option "basepath"/)
  })

  it('a 204 answer has no body (OPTIONS on a route)', async () => {
    const { kw } = setup()
    const res = await managementHandler(kw)(new Request('https://api.example/keys', { method: 'OPTIONS' }))
    expect([res.status, res.headers.get('allow'), await res.text()]).toEqual([204, 'POST, GET', ''])
  })
})
