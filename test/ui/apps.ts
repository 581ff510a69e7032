/**
 * The same small application on each framework, for the browser tests: the management routes
 * (with the component's script) under /admin, and GET /api/ping behind authenticate(kw), which
 * answers { keyId }. The page itself is handed to the browser by the test (page.route), on the
 * server's origin, so every framework is driven by the very same HTML.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer, serve, type ServerType } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'
import { ownsPath, type Keyward, type ManagementOptions } from 'keyward'
import * as expressAdapter from '../../adapters/express.js'
import * as fastifyAdapter from '../../adapters/fastify.js'
import * as fetchAdapter from '../../adapters/fetch.js'
import * as honoAdapter from '../../adapters/hono.js'
import * as koaAdapter from '../../adapters/koa.js'
import { listen } from '../adapters/support.js'

export type StartUiApp = (kw: Keyward, options: ManagementOptions) => Promise<{ url: string; close: () => Promise<void> }>

const express_: StartUiApp = (kw, options) => {
  const app = express()
  app.use('/admin', expressAdapter.managementRouter(kw, options))
  app.get('/api/ping', expressAdapter.authenticate(kw), (req, res) => {
    res.json({ keyId: (req as expressAdapter.KeywardRequest).auth?.keyId })
  })
  return listen(createServer(app))
}

const koa: StartUiApp = (kw, options) => {
  const app = new Koa()
  const ping = koaAdapter.authenticate(kw)
  app.use(koaAdapter.managementRouter(kw, { ...options, basePath: '/admin' }))
  app.use(async (ctx, next) => {
    if (ctx.path === '/api/ping') await ping(ctx, async () => void (ctx.body = { keyId: ctx.state.auth.keyId }))
    else await next()
  })
  return listen(createServer(app.callback()))
}

const hono: StartUiApp = async (kw, options) => {
  const app = new Hono()
  app.route('/admin', honoAdapter.managementRouter(kw, options))
  app.get('/api/ping', honoAdapter.authenticate(kw), (c) => c.json({ keyId: c.get('auth').keyId }))
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

const fastify: StartUiApp = async (kw, options) => {
  const app = Fastify()
  await app.register(fastifyAdapter.default)
  await app.register(fastifyAdapter.managementRouter(kw, options), { prefix: '/admin' })
  app.get('/api/ping', { onRequest: fastifyAdapter.authenticate(kw) }, async (request) => ({ keyId: request.auth?.keyId }))
  await app.ready()
  return listen(app.server as Server)
}

type Env = { incoming: { socket: { remoteAddress?: string } } }
const ip = (_request: Request, env: Env) => env.incoming.socket.remoteAddress

const fetch_: StartUiApp = (kw, options) => {
  const manage = fetchAdapter.managementHandler(kw, { ...options, basePath: '/admin', ip })
  const ping = fetchAdapter.withAuth<[Env]>(kw, (_request, auth) => Response.json({ keyId: auth.keyId }), { ip })
  const handle = (request: Request, env: Env) => {
    const { pathname } = new URL(request.url)
    if (pathname.startsWith('/admin') && ownsPath(pathname.slice('/admin'.length))) return manage(request, env)
    if (pathname === '/api/ping') return ping(request, env)
    return new Response(null, { status: 404 })
  }
  return listen(createAdaptorServer({ fetch: handle as never }) as Server)
}

/** Every adapter's application, by name. */
export const UI_APPS: ReadonlyArray<[string, StartUiApp]> = [
  ['Express', express_],
  ['Koa', koa],
  ['Hono', hono],
  ['Fastify', fastify],
  ['fetch', fetch_],
]
