/**
 * The guards read a landing place any middleware can write: passport's `req.user`, express-jwt's
 * `req.auth`, a body parser, a later middleware. Only what `authenticate()` put there counts; anything
 * else is no auth (401), however many scopes it claims. The same routes on Express, Koa, Hono and
 * Fastify. The fetch adapter has no landing place: its guard gets the auth straight from verify().
 */
import { createServer, type Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import express, { type RequestHandler } from 'express'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { Hono, type MiddlewareHandler } from 'hono'
import Koa, { type Middleware } from 'koa'
import { afterEach, describe, expect, it } from 'vitest'
import type { Keyward } from 'keyward'
import * as expressAdapter from '../../adapters/express.js'
import * as fastifyAdapter from '../../adapters/fastify.js'
import * as honoAdapter from '../../adapters/hono.js'
import * as koaAdapter from '../../adapters/koa.js'
import { listen, setup } from './support.js'

/** What another middleware puts at the landing place: it claims everything a guard checks. */
const foreign = () => ({ type: 'api_key', keyId: 'forged00', org: 'org_1', subject: 'u1', mfa: true, scopes: ['admin'], projects: ['p'] })

type Step =
  | { kind: 'plant'; name: string } // sets the name before authenticate() runs
  | { kind: 'overwrite'; name: string } // sets it after authenticate(), when the request says `x-overwrite: yes`
  | { kind: 'authenticate'; as?: string; optional?: boolean }
  | { kind: 'scopes' | 'mfa' | 'project'; from?: string }

const ROUTES: Record<string, Step[]> = {
  '/foreign/mfa': [
    { kind: 'plant', name: 'user' },
    { kind: 'authenticate', as: 'user', optional: true },
    { kind: 'mfa', from: 'user' },
  ],
  '/foreign/scopes': [
    { kind: 'plant', name: 'user' },
    { kind: 'authenticate', as: 'user', optional: true },
    { kind: 'scopes', from: 'user' },
  ],
  '/foreign/project': [
    { kind: 'plant', name: 'user' },
    { kind: 'authenticate', as: 'user', optional: true },
    { kind: 'project', from: 'user' },
  ],
  // express-jwt and friends put their payload on req.auth, keyward's default landing place.
  '/foreign/default': [{ kind: 'plant', name: 'auth' }, { kind: 'authenticate', optional: true }, { kind: 'scopes' }],
  '/later': [
    { kind: 'authenticate', as: 'user' },
    { kind: 'overwrite', name: 'user' },
    { kind: 'scopes', from: 'user' },
  ],
  '/later/default': [{ kind: 'authenticate' }, { kind: 'overwrite', name: 'auth' }, { kind: 'mfa' }, { kind: 'project' }],
}

type Start = (kw: Keyward) => Promise<{ url: string; close: () => Promise<void> }>
const guardOptions = (step: Step) => ('from' in step && step.from !== undefined ? { from: step.from } : undefined)
const wants = (header: string | string[] | undefined) => header === 'yes'

const startExpress: Start = async (kw) => {
  const a = expressAdapter
  const app = express()
  const step = (s: Step): RequestHandler => {
    const options = guardOptions(s)
    switch (s.kind) {
      case 'plant':
      case 'overwrite':
        return (req, _res, next) => {
          if (s.kind === 'plant' || wants(req.headers['x-overwrite'])) (req as unknown as Record<string, unknown>)[s.name] = foreign()
          next()
        }
      case 'authenticate':
        return a.authenticate(kw, { ...(s.as === undefined ? {} : { as: s.as }), optional: s.optional ?? false })
      case 'scopes':
        return options === undefined ? a.requireScopes('admin') : a.requireScopes('admin', options)
      case 'mfa':
        return a.requireMfa(options)
      case 'project':
        return a.requireProject(() => 'p', options)
    }
  }
  for (const [path, steps] of Object.entries(ROUTES)) app.get(path, ...steps.map(step), (_req, res) => void res.json({ reached: true }))
  return listen(createServer(app))
}

const startKoa: Start = async (kw) => {
  const a = koaAdapter
  const app = new Koa()
  const step = (s: Step): Middleware => {
    const options = guardOptions(s)
    switch (s.kind) {
      case 'plant':
      case 'overwrite':
        return async (ctx, next) => {
          if (s.kind === 'plant' || wants(ctx.get('x-overwrite'))) (ctx.state as Record<string, unknown>)[s.name] = foreign()
          await next()
        }
      case 'authenticate':
        return a.authenticate(kw, { ...(s.as === undefined ? {} : { as: s.as }), optional: s.optional ?? false } as never) as Middleware
      case 'scopes':
        return (options === undefined ? a.requireScopes('admin') : a.requireScopes('admin', options)) as Middleware
      case 'mfa':
        return (options === undefined ? a.requireMfa() : a.requireMfa(options)) as Middleware
      case 'project':
        return (options === undefined ? a.requireProject(() => 'p') : a.requireProject(() => 'p', options)) as Middleware
    }
  }
  const chains = new Map(Object.entries(ROUTES).map(([path, steps]) => [path, steps.map(step)]))
  app.use((ctx) => {
    const chain = chains.get(ctx.path) ?? []
    const run = (i: number): Promise<void> =>
      i === chain.length ? Promise.resolve(void (ctx.body = { reached: true })) : Promise.resolve(chain[i]!(ctx, () => run(i + 1)))
    return run(0)
  })
  return listen(createServer(app.callback()))
}

const startHono: Start = async (kw) => {
  const a = honoAdapter
  const app = new Hono()
  const step = (s: Step): MiddlewareHandler => {
    const options = guardOptions(s)
    switch (s.kind) {
      case 'plant':
      case 'overwrite':
        return async (c, next) => {
          if (s.kind === 'plant' || wants(c.req.header('x-overwrite'))) c.set(s.name as never, foreign() as never)
          await next()
        }
      case 'authenticate':
        return a.authenticate(kw, {
          ...(s.as === undefined ? {} : { as: s.as }),
          optional: s.optional ?? false,
        } as never) as MiddlewareHandler
      case 'scopes':
        return (options === undefined ? a.requireScopes('admin') : a.requireScopes('admin', options)) as MiddlewareHandler
      case 'mfa':
        return (options === undefined ? a.requireMfa() : a.requireMfa(options)) as MiddlewareHandler
      case 'project':
        return (options === undefined ? a.requireProject(() => 'p') : a.requireProject(() => 'p', options)) as MiddlewareHandler
    }
  }
  for (const [path, steps] of Object.entries(ROUTES)) {
    // One app.use per step, in order: Hono's typed app.get() takes no spread chain.
    for (const middleware of steps.map(step)) app.use(path, middleware)
    app.get(path, (c) => c.json({ reached: true }))
  }
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server)
}

const startFastify: Start = async (kw) => {
  const a = fastifyAdapter
  const app = Fastify()
  await app.register(a.keyward, { decorate: ['user'] })
  type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  const step = (s: Step): Hook => {
    const options = guardOptions(s)
    switch (s.kind) {
      case 'plant':
      case 'overwrite':
        return async (request) => {
          if (s.kind === 'plant' || wants(request.headers['x-overwrite']))
            (request as unknown as Record<string, unknown>)[s.name] = foreign()
        }
      case 'authenticate':
        return a.authenticate(kw, { ...(s.as === undefined ? {} : { as: s.as }), optional: s.optional ?? false }) as Hook
      case 'scopes':
        return (options === undefined ? a.requireScopes('admin') : a.requireScopes('admin', options)) as Hook
      case 'mfa':
        return a.requireMfa(options) as Hook
      case 'project':
        return a.requireProject(() => 'p', options) as Hook
    }
  }
  for (const [path, steps] of Object.entries(ROUTES)) app.get(path, { onRequest: steps.map(step) }, async () => ({ reached: true }))
  await app.ready()
  return listen(app.server as Server)
}

describe.each([
  ['Express', startExpress],
  ['Koa', startKoa],
  ['Hono', startHono],
  ['Fastify', startFastify],
])('%s: a guard counts only the auth keyward put at its landing place', (_name, start) => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()))
  })

  async function serve() {
    const kwSetup = setup()
    const server = await start(kwSetup.kw)
    closers.push(server.close)
    const call = async (path: string, headers: Record<string, string> = {}) => {
      const reply = await fetch(server.url + path, { headers })
      return { status: reply.status, body: (await reply.json()) as Record<string, unknown> }
    }
    return { ...kwSetup, call }
  }

  it('another middleware’s object at the landing place, and no credential: every guard answers 401', async () => {
    const { call } = await serve()
    for (const path of ['/foreign/mfa', '/foreign/scopes', '/foreign/project', '/foreign/default']) {
      const reply = await call(path)
      expect([path, reply.status, reply.body.code]).toEqual([path, 401, 'missing_credentials'])
    }
  })

  it('a value written over keyward’s auth after authenticate() is refused; keyward’s own still passes', async () => {
    const { call, mint } = await serve()
    const admin = await mint({ scopes: ['admin'], projects: ['p'] })
    expect((await call('/later', { 'x-api-key': admin })).status).toBe(200)
    const overwritten = await call('/later', { 'x-api-key': admin, 'x-overwrite': 'yes' })
    expect([overwritten.status, overwritten.body.code]).toEqual([401, 'missing_credentials'])
    // Default landing: an API key has no MFA, so it is refused either way; overwritten it must not become a pass.
    const own = await call('/later/default', { 'x-api-key': admin })
    expect([own.status, own.body.code]).toEqual([401, 'mfa_required'])
    const forged = await call('/later/default', { 'x-api-key': admin, 'x-overwrite': 'yes' })
    expect([forged.status, forged.body.code]).toEqual([401, 'missing_credentials'])
  })
})
