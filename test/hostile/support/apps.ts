/**
 * The one application the hostile suite attacks, built with each adapter and served over real
 * HTTP on 127.0.0.1: `GET /api/projects/:projectId/data` behind
 * `authenticate(kw, { scopes: 'read', project: <the decoded route param>, trustProxy })`,
 * answering `{ keyId, project }`: the project the handler actually served, so a case can check
 * that what was authorized is what was served.
 */
import { createServer, type Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'
import type { Keyward, TrustProxy } from 'keyward'
import { authenticate as expressAuthenticate, type AuthenticatedRequest } from '../../../adapters/express.js'
import keyward, { authenticate as fastifyAuthenticate } from '../../../adapters/fastify.js'
import { withAuth } from '../../../adapters/fetch.js'
import { authenticate as honoAuthenticate } from '../../../adapters/hono.js'
import { authenticate as koaAuthenticate, type AnyContext } from '../../../adapters/koa.js'
import { listen } from '../../adapters/support.js'

export interface Served {
  url: string
  close: () => Promise<void>
}

type Build = (kw: Keyward, trustProxy: TrustProxy | undefined) => Server | Promise<Server>

const ROUTE = /^\/api\/projects\/([^/]+)\/data$/

function decodeParam(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw)
  } catch {
    return undefined
  }
}

const buildExpress: Build = (kw, trustProxy) => {
  const app = express()
  app.get(
    '/api/projects/:projectId/data',
    expressAuthenticate(kw, { scopes: 'read', project: (req) => req.params.projectId, trustProxy }),
    (req, res) => {
      res.json({ keyId: (req as AuthenticatedRequest).auth.keyId, project: req.params.projectId })
    },
  )
  return createServer(app)
}

const buildKoa: Build = (kw, trustProxy) => {
  const app = new Koa()
  const guard = koaAuthenticate(kw, { scopes: 'read', project: (ctx: AnyContext) => ctx.state.projectId as unknown, trustProxy })
  app.use(async (ctx, next) => {
    const match = ctx.method === 'GET' ? ROUTE.exec(ctx.path) : null
    if (match === null) return next()
    // What koa-router does: the param is percent-decoded; a bad escape is a 400.
    const projectId = decodeParam(match[1]!)
    if (projectId === undefined) {
      ctx.status = 400
      return
    }
    ctx.state.projectId = projectId
    await guard(ctx, async () => {
      ctx.body = { keyId: ctx.state.auth.keyId, project: projectId }
    })
  })
  return createServer(app.callback())
}

const buildHono: Build = (kw, trustProxy) => {
  const app = new Hono()
  app.get(
    '/api/projects/:projectId/data',
    honoAuthenticate(kw, { scopes: 'read', project: (c) => c.req.param('projectId'), trustProxy }),
    (c) => c.json({ keyId: c.get('auth').keyId, project: c.req.param('projectId') }),
  )
  return createAdaptorServer({ fetch: app.fetch }) as Server
}

const buildFastify: Build = async (kw, trustProxy) => {
  type Route = { Params: { projectId: string } }
  const app = Fastify()
  await app.register(keyward)
  app.get<Route>(
    '/api/projects/:projectId/data',
    { onRequest: fastifyAuthenticate<Route>(kw, { scopes: 'read', project: (request) => request.params.projectId, trustProxy }) },
    async (request) => ({
      keyId: request.auth?.keyId,
      project: request.params.projectId,
    }),
  )
  await app.ready()
  return app.server
}

/** The fetch adapter behind Node's http through @hono/node-server's Request bridge; the socket address comes from `env`. */
const buildFetch: Build = (kw, trustProxy) => {
  type Env = { incoming: { socket: { remoteAddress?: string } } }
  const served = (projectId: string | undefined) =>
    withAuth(kw, (_request: Request, auth, _env: Env) => Response.json({ keyId: auth.keyId, project: projectId }), {
      scopes: 'read',
      project: () => projectId,
      trustProxy,
      ip: (_request, env) => env.incoming.socket.remoteAddress,
    })
  const fetch = (request: Request, env: Env) => {
    const match = request.method === 'GET' ? ROUTE.exec(new URL(request.url).pathname) : null
    if (match === null) return new Response(null, { status: 404 })
    const projectId = decodeParam(match[1]!)
    if (projectId === undefined) return new Response(null, { status: 400 })
    return served(projectId)(request, env)
  }
  return createAdaptorServer({ fetch }) as Server
}

/** The adapters, by name. */
export const ADAPTERS: ReadonlyArray<readonly [string, Build]> = [
  ['express', buildExpress],
  ['koa', buildKoa],
  ['hono', buildHono],
  ['fastify', buildFastify],
  ['fetch', buildFetch],
]

/**
 * Adapters that read headers through a Web `Headers` object, which joins repeated lines into one
 * value (`Bearer a, Bearer a`): see the rows that mark it.
 */
export const WEB_HEADERS: ReadonlySet<string> = new Set(['hono', 'fetch'])

/** Serves the application built by `build` on a free loopback port. */
export async function serve(build: Build, kw: Keyward, trustProxy?: TrustProxy): Promise<Served> {
  return listen(await build(kw, trustProxy))
}
