import { createServer } from 'node:http'
import express, { type ErrorRequestHandler } from 'express'
import { describe, expect, it } from 'vitest'
import {
  authenticate,
  requireMfa,
  requireProject,
  requireScopes,
  type AuthenticatedRequest,
  type KeywardRequest,
} from '../../adapters/express.js'
import { adapterContract, BAD_HEADER_HOOK, type StartApp } from './contract.js'
import { listen, setup } from './support.js'

const start: StartApp = (kw, { trustProxy }) => {
  const app = express()
  const keyId = (req: express.Request) => ({ keyId: (req as KeywardRequest).auth?.keyId ?? null })
  const track = authenticate(kw, { scopes: 'write', project: (req) => req.body?.projectId, trustProxy })
  app.post('/api/track', express.json(), track, (req, res) => {
    res.json(keyId(req))
  })
  app.options('/api/track', track, (_req, res) => {
    res.status(204).set('x-handler', 'reached').end()
  })
  app.get(
    '/api/projects/:projectId/stats',
    authenticate(kw, { scopes: 'read', project: (req) => req.params.projectId, trustProxy }),
    (req, res) => {
      res.json(keyId(req))
    },
  )
  app.get('/optional', authenticate(kw, { optional: true, trustProxy }), (req, res) => {
    res.json(keyId(req))
  })
  app.get('/optional/guarded', authenticate(kw, { optional: true }), requireScopes('read'), (req, res) => {
    res.json(keyId(req))
  })
  app.get(
    '/admin/:projectId',
    authenticate(kw),
    requireScopes('admin'),
    requireProject((req) => req.params.projectId),
    (req, res) => {
      res.json({ keyId: (req as AuthenticatedRequest).auth.keyId })
    },
  )
  app.get('/custom', authenticate(kw, { onError: (error) => ({ body: { error: error.message } }) }), requireScopes('admin'), (req, res) => {
    res.json(keyId(req))
  })
  app.options(
    '/admin/:projectId',
    authenticate(kw),
    requireScopes('admin'),
    requireProject((req) => req.params.projectId),
    (_req, res) => {
      res.status(204).set('x-handler', 'reached').end()
    },
  )
  app.get(
    '/hooked/:projectId',
    authenticate(kw, { onError: BAD_HEADER_HOOK }),
    requireScopes('write'),
    requireProject((req) => req.params.projectId),
    (req, res) => {
      res.json(keyId(req))
    },
  )
  app.get('/hidden', authenticate(kw, { onError: () => ({ status: 404 }) }), (req, res) => {
    res.json(keyId(req))
  })
  app.get('/mfa/:projectId', authenticate(kw, { scopes: 'read', project: (req) => req.params.projectId }), requireMfa(), (req, res) => {
    res.json({ subject: (req as AuthenticatedRequest).auth.subject ?? null })
  })
  app.get(
    '/both/:projectId',
    authenticate(kw, { credentials: { header: 'x-app-key', type: 'api_key' } }),
    requireScopes('write'),
    authenticate(kw, { as: 'session', credentials: { header: 'authorization', type: 'jwt' } }),
    requireScopes('admin', { from: 'session' }),
    requireProject((req) => req.params.projectId, { from: 'session' }),
    requireMfa({ from: 'session' }),
    (req, res) => {
      const both = req as AuthenticatedRequest<'auth' | 'session'>
      res.json({ keyId: both.auth.keyId ?? null, subject: both.session.subject ?? null })
    },
  )
  const handled: ErrorRequestHandler = (_error, _req, res, _next) => {
    res.status(500).json({ error: 'handled' })
  }
  app.use(handled)
  return listen(createServer(app))
}

adapterContract('Express', start)

describe('Express specifics', () => {
  it('sees the whole URL when mounted under a router, so a credential in the query is refused', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const router = express.Router()
    router.get('/stats', authenticate(kw), (_req, res) => {
      res.json({ ok: true })
    })
    const app = express()
    app.use('/api', router)
    const server = await listen(createServer(app))
    try {
      expect((await fetch(`${server.url}/api/stats`, { headers: { 'x-api-key': key } })).status).toBe(200)
      expect((await fetch(`${server.url}/api/stats?api_key=${key}`, { headers: { 'x-api-key': key } })).status).toBe(400)
    } finally {
      await server.close()
    }
  })

  it('hands an error thrown by the project function to next(err)', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const app = express()
    app.get(
      '/boom',
      authenticate(kw, {
        project: () => {
          throw new Error('no body parser')
        },
      }),
      (_req, res) => {
        res.json({ reached: true })
      },
    )
    const handler: ErrorRequestHandler = (error: Error, _req, res, _next) => {
      res.status(500).json({ handled: error.message })
    }
    app.use(handler)
    const server = await listen(createServer(app))
    try {
      const res = await fetch(`${server.url}/boom`, { headers: { 'x-api-key': key } })
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({ handled: 'no body parser' })
    } finally {
      await server.close()
    }
  })

  it('a falsy throw or rejection (project, onError, a project getter) is an error (500), never next() into the handler', async () => {
    const { kw, mint } = setup()
    const readOnly = await mint({ scopes: ['read'] })
    const app = express()
    const handled: string[] = []
    const handler = (req: express.Request, res: express.Response) => {
      handled.push(req.path)
      res.json({ reached: true })
    }
    const throwsUndefined = (): string => {
      throw undefined // the case under test
    }
    app.get('/sync', authenticate(kw, { project: throwsUndefined }), handler)
    app.get('/rejects', authenticate(kw, { project: () => Promise.reject(undefined) }), handler)
    app.get(
      '/hook',
      authenticate(kw, {
        onError: () => {
          throw null // the case under test
        },
      }),
      requireScopes('admin'),
      handler,
    )
    app.get(
      '/getter',
      authenticate(kw),
      requireProject(() => Promise.reject(null)),
      handler,
    )
    const errorHandler: ErrorRequestHandler = (error: Error, _req, res, _next) => {
      res.status(500).json({ handled: error.message })
    }
    app.use(errorHandler)
    const server = await listen(createServer(app))
    try {
      for (const path of ['/sync', '/rejects', '/hook', '/getter']) {
        const res = await fetch(`${server.url}${path}`, { headers: { 'x-api-key': readOnly } })
        expect(res.status, path).toBe(500)
        expect(await res.json(), path).toEqual({ handled: expect.stringContaining('falsy value') })
      }
      expect(handled).toEqual([])
    } finally {
      await server.close()
    }
  })

  it('a cached key: next() runs in the same turn, no promise first; a replaced verify() (telemetry) is still the one called', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 100, windowMs: 60_000 } })
    const [info] = await kw.keys.list({ orgId: 'org_1' })
    const request = () =>
      ({
        method: 'GET',
        headers: { authorization: `Bearer ${key}` },
        rawHeaders: ['Authorization', `Bearer ${key}`],
        originalUrl: '/',
        url: '/',
        socket: { remoteAddress: '203.0.113.1' },
      }) as unknown as express.Request
    const written: Record<string, string> = {}
    const res = {
      headersSent: false,
      setHeader: (name: string, value: string) => void (written[name] = value),
      status: (code: number) => {
        throw new Error(`refused with ${code}`)
      },
    } as unknown as express.Response
    const middleware = authenticate(kw)
    // The first request reads the store: next() comes later.
    await new Promise<void>((resolve, reject) => middleware(request(), res, (error?: unknown) => (error ? reject(error) : resolve())))
    const req = request()
    let nextCalls = 0
    middleware(req, res, () => void nextCalls++)
    expect(nextCalls).toBe(1)
    expect((req as KeywardRequest).auth?.keyId).toBe(info!.id)
    expect(written.ratelimit).toMatch(/r=98/)
    // A verify() replaced by a wrapper (instrumentKeyward, an audit spy) is called: no shortcut around it.
    let wrapped = 0
    const spied = { ...kw, verify: (input: Parameters<typeof kw.verify>[0]) => (wrapped++, kw.verify(input)) }
    await new Promise<void>((resolve) => authenticate(spied)(request(), res, () => resolve()))
    expect(wrapped).toBe(1)
    // Wrappers that carry the original's properties (a test spy, a Proxy) too: their refusal stands.
    const refusal = await kw.verify({ headers: {} })
    for (const deny of [
      new Proxy(kw.verify, { apply: () => Promise.resolve(refusal) }),
      Object.assign(() => Promise.resolve(refusal), kw.verify),
    ]) {
      const outcome = await new Promise<string>((resolve) => {
        const refusing = {
          ...res,
          headersSent: false,
          status: (code: number) => (resolve(`refused ${code}`), { set: () => ({ send: () => {} }) }),
        } as unknown as express.Response
        authenticate({ ...kw, verify: deny } as typeof kw)(request(), refusing, () => resolve('passed'))
      })
      expect(outcome).toBe('refused 401')
    }
  })

  it('does not write after another middleware already answered (a timeout): no crash, the refusal is dropped', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 10, windowMs: 60_000 } })
    // What ends the request: the handler, the error handler, or a promise nobody caught.
    let settle: (outcome: string) => void = () => {}
    const onUnhandled = (reason: unknown) => settle(`unhandled: ${String(reason)}`)
    process.on('unhandledRejection', onUnhandled)
    const app = express()
    // A timeout middleware whose timer fired first: it answered, and the chain goes on.
    app.use((_req, res, next) => {
      res.status(503).json({ error: 'timeout' })
      next()
    })
    app.get(
      '/x',
      authenticate(kw, {
        // The refusal would be sent right after this hook: let the microtasks that send it run first.
        onError: async () => void setImmediate(() => settle('refused')),
      }),
      requireScopes('write'),
      (req, res) => {
        settle(res.headersSent ? `handler reached by ${(req as AuthenticatedRequest).auth.keyId}` : 'handler could write')
      },
    )
    const handler: ErrorRequestHandler = (error: Error, _req, _res, _next) => {
      settle(`error handler: ${error.message}`)
    }
    app.use(handler)
    const server = await listen(createServer(app))
    const outcome = () => new Promise<string>((resolve) => (settle = resolve))
    try {
      for (const [headers, expected] of [
        [{ 'x-api-key': key }, `handler reached by ${key.slice(9, 17)}`],
        [{}, 'refused'],
      ] as const) {
        const settled = outcome()
        const res = await fetch(`${server.url}/x`, { headers })
        expect(res.status).toBe(503)
        expect(res.headers.get('ratelimit')).toBeNull()
        expect(await settled).toBe(expected)
      }
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await server.close()
    }
  })

  it('refuses bad options when the middleware is built, not at the first request', () => {
    const { kw } = setup()
    expect(() => authenticate(kw, { scope: 'write' } as never)).toThrow(/unknown option "scope"/)
    expect(() => authenticate(kw, { scopes: ['has space'] })).toThrow(TypeError)
    expect(() => authenticate(kw, { trustProxy: ['not-an-ip'] })).toThrow(/trustProxy/)
    expect(() => authenticate(kw, { trustProxy: true as never })).toThrow(/trustProxy/)
    expect(() => authenticate({} as never)).toThrow(/createKeyward/)
    expect(() => requireScopes()).toThrow(/at least one scope/)
    expect(() => requireProject('prod-site' as never)).toThrow(TypeError)
  })
})
