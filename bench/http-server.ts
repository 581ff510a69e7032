/**
 * The hello-world servers of one framework for bench/http.bench.ts, in a process of their own so
 * the load generator does not share their event loop:
 * `node --import tsx bench/http-server.ts <framework> <guard>[,<guard>...]`. One server per guard,
 * each on a free port of 127.0.0.1; only one is under load at a time, the others sit idle. Prints
 * one JSON line: { [guard]: { port, authorization } }, with the header value a client must send
 * (a keyward key, a JWT, or nothing for the bare route).
 *
 * Frameworks: `express`, `koa`, `hono` (node-server), `fastify`. Guards: `bare`; `keyward`
 * (authenticate(), in-memory store and limiter, lockout on, a key with a rate limit no run
 * reaches); `keyward-unlimited` (the same with a key without a rate limit); the floors, written by
 * hand: `floor` (what a cached verify() must do for a rate-limited key: read the header, SHA-256
 * the key, look it up in a Map, check expiry and scope, count the call and set the two RateLimit
 * headers) and `floor-unlimited` (header, SHA-256, Map lookup); the nearest peer: `express-jwt`,
 * `koa-jwt`, `hono-bearer` (bearerAuth with verifyToken doing a SHA-256 + Map lookup) and
 * `hono-jwt`. Fastify has no JWT peer: @fastify/jwt is not a dev dependency.
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import express from 'express'
import { expressjwt } from 'express-jwt'
import Fastify from 'fastify'
import { Hono, type Context, type Next } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import { jwt as honoJwt } from 'hono/jwt'
import { SignJWT } from 'jose'
import Koa from 'koa'
import koaJwt from 'koa-jwt'
import { authenticate as expressAuthenticate } from '../adapters/express.js'
import fastifyKeyward, { authenticate as fastifyAuthenticate } from '../adapters/fastify.js'
import { authenticate as honoAuthenticate } from '../adapters/hono.js'
import { authenticate as koaAuthenticate } from '../adapters/koa.js'
import { benchKeyward, createFloor, fastifyFloorHook, FLOOR_POLICY, type Owner } from './floor.js'
import { createGuardTimer } from './guard-timer.js'

const [framework, guardList] = process.argv.slice(2)
const guards = (guardList ?? '').split(',')
const secretText = 'a-bench-secret-of-at-least-32-bytes!'
const secret = utf8ToBytes(secretText)

const { kw, key } = await benchKeyward()
// A key without a rate limit of its own: no RateLimit headers to add to the response.
const { key: unlimitedKey } = await kw.keys.create({ name: 'bench, no limit', orgId: 'org_1', projects: ['bench'] })
const token = await new SignJWT({ org: 'org_1' })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject('user_1')
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(secret)
const hashes = new Set([bytesToHex(sha256(utf8ToBytes(key)))])

// The floor: SHA-256 of the key to its owner, with what the floor checks and counts (bench/floor.ts).
const floor = createFloor([key, unlimitedKey])
const { owner: floorOwner, rateLimit: floorRateLimit } = floor

const credential: Record<string, string | undefined> = {
  bare: undefined,
  keyward: key,
  'keyward-unlimited': unlimitedKey,
  floor: key,
  'floor-unlimited': unlimitedKey,
  'express-jwt': token,
  'koa-jwt': token,
  'hono-bearer': key,
  'hono-jwt': token,
}
const ports: Record<string, { port: number; authorization: string | undefined }> = {}
function listening(guard: string, port: number): void {
  const value = credential[guard]
  ports[guard] = { port, authorization: value === undefined ? undefined : `Bearer ${value}` }
  if (Object.keys(ports).length === guards.length) console.log(JSON.stringify(ports))
}

// BENCH_TIME_GUARDS=1: every guard timed from its call to its hand-on (bench/guard-timer.ts); the
// parent asks for the figures with the IPC message 'guard-times'.
const timer = process.env.BENCH_TIME_GUARDS === '1' ? createGuardTimer() : undefined
if (timer !== undefined) process.on('message', (message) => message === 'guard-times' && process.send!(timer.take()))
type HandOn = (...rest: never[]) => unknown
/** A Koa or Hono guard `(ctx, next)`, as is or timed until it calls next(). */
function timed2<C, N extends HandOn, R>(guard: string, handler: (ctx: C, next: N) => R): (ctx: C, next: N) => R {
  if (timer === undefined) return handler
  return (ctx, next) => {
    const t0 = performance.now()
    return handler(ctx, ((...rest: never[]) => {
      timer.record(guard, t0)
      return next(...rest)
    }) as N)
  }
}
/** An Express or Fastify guard `(request, response, next)`, as is or timed until it calls next(). */
function timed3<Q, S, N extends HandOn, R>(
  guard: string,
  handler: (request: Q, response: S, next: N) => R,
): (request: Q, response: S, next: N) => R {
  if (timer === undefined) return handler
  return (request, response, next) => {
    const t0 = performance.now()
    return handler(request, response, ((...rest: never[]) => {
      timer.record(guard, t0)
      return next(...rest)
    }) as N)
  }
}

function startServer(guard: string): void {
  if (framework === 'express') {
    const app = express()
    app.disable('x-powered-by')
    const middleware =
      guard === 'keyward' || guard === 'keyward-unlimited'
        ? [timed3(guard, expressAuthenticate(kw))]
        : guard === 'floor' || guard === 'floor-unlimited'
          ? [
              timed3(guard, (req: express.Request, res: express.Response, next: express.NextFunction) => {
                const owner = floorOwner(req.headers.authorization)
                if (owner === undefined) {
                  res.status(401).end()
                  return
                }
                if (guard === 'floor') {
                  res.setHeader('ratelimit-policy', FLOOR_POLICY)
                  res.setHeader('ratelimit', floorRateLimit(owner))
                }
                ;(req as { owner?: Owner }).owner = owner
                next()
              }),
            ]
          : guard === 'express-jwt'
            ? [timed3(guard, expressjwt({ secret: secretText, algorithms: ['HS256'] }))]
            : guard === 'bare'
              ? []
              : undefined
    if (middleware === undefined) throw new Error(`${guard} is not an Express guard`)
    app.get('/', ...middleware, (_req, res) => {
      res.send('hello')
    })
    const server = app.listen(0, '127.0.0.1', () => listening(guard, (server.address() as AddressInfo).port))
  } else if (framework === 'koa') {
    const app = new Koa()
    if (guard === 'keyward' || guard === 'keyward-unlimited') app.use(timed2(guard, koaAuthenticate(kw)))
    else if (guard === 'floor' || guard === 'floor-unlimited')
      app.use(
        timed2(guard, async (ctx: Koa.Context, next: Koa.Next) => {
          const owner = floorOwner(ctx.get('authorization'))
          if (owner === undefined) {
            ctx.status = 401
            return
          }
          if (guard === 'floor') {
            ctx.set('ratelimit-policy', FLOOR_POLICY)
            ctx.set('ratelimit', floorRateLimit(owner))
          }
          ctx.state.owner = owner
          await next()
        }),
      )
    else if (guard === 'koa-jwt') app.use(timed2(guard, koaJwt({ secret: secretText, algorithms: ['HS256'] })))
    else if (guard !== 'bare') throw new Error(`${guard} is not a Koa guard`)
    app.use((ctx) => {
      ctx.body = 'hello'
    })
    const server = app.listen(0, '127.0.0.1', () => listening(guard, (server.address() as AddressInfo).port))
  } else if (framework === 'hono') {
    const app = new Hono()
    if (guard === 'keyward' || guard === 'keyward-unlimited') app.use('/', timed2(guard, honoAuthenticate(kw)))
    else if (guard === 'floor' || guard === 'floor-unlimited')
      app.use(
        '/',
        timed2(guard, async (c: Context, next: Next) => {
          const owner = floorOwner(c.req.header('authorization'))
          if (owner === undefined) return c.body(null, 401)
          if (guard === 'floor') {
            c.header('ratelimit-policy', FLOOR_POLICY)
            c.header('ratelimit', floorRateLimit(owner))
          }
          c.set('owner' as never, owner as never)
          await next()
        }),
      )
    else if (guard === 'hono-bearer')
      app.use('/', timed2(guard, bearerAuth({ verifyToken: (presented) => hashes.has(bytesToHex(sha256(utf8ToBytes(presented)))) })))
    else if (guard === 'hono-jwt') app.use('/', timed2(guard, honoJwt({ secret: secretText, alg: 'HS256' })))
    else if (guard !== 'bare') throw new Error(`${guard} is not a Hono guard`)
    app.get('/', (c) => c.text('hello'))
    serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => listening(guard, info.port))
  } else if (framework === 'fastify') {
    void startFastify(guard)
  } else {
    throw new Error(`unknown framework ${framework}`)
  }
}

/** Fastify: every guard in the route's `onRequest`, as the adapter's docs put `authenticate()`. */
async function startFastify(guard: string): Promise<void> {
  const app = Fastify()
  // Both decorate the request up front, as Fastify advises (one object shape for every request).
  await app.register(fastifyKeyward)
  app.decorateRequest('owner', undefined)
  const onRequest =
    guard === 'keyward' || guard === 'keyward-unlimited'
      ? [timed3(guard, fastifyAuthenticate(kw))]
      : guard === 'floor' || guard === 'floor-unlimited'
        ? [timed3(guard, fastifyFloorHook(floor, guard === 'floor'))]
        : guard === 'bare'
          ? []
          : undefined
  if (onRequest === undefined) throw new Error(`${guard} is not a Fastify guard`)
  app.get('/', { onRequest }, (_request, reply) => {
    void reply.send('hello')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  listening(guard, (app.server.address() as AddressInfo).port)
}

for (const guard of guards) {
  if (!(guard in credential)) throw new Error(`unknown guard ${guard}`)
  startServer(guard)
}
