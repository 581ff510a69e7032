import express, { type Request, type RequestHandler } from 'express'
import type { AuthContext } from 'keyward'
import { createKeyward } from 'keyward'
import { describe, expectTypeOf, it } from 'vitest'
import type {} from '../../adapters/express-augment.js'
import {
  authenticate,
  requireMfa,
  requireProject,
  requireScopes,
  type AuthenticatedRequest,
  type ExpressAuthenticateOptions,
  type KeywardRequest,
} from '../../adapters/express.js'

const kw = createKeyward({ prefix: 'bsk' })

describe('keyward/express types', () => {
  it('returns plain Express request handlers, usable inline and with app.use', () => {
    expectTypeOf(authenticate(kw)).toExtend<RequestHandler>()
    expectTypeOf(authenticate(kw, { optional: true })).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireScopes('write')).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireProject((req) => req.params.projectId)).toEqualTypeOf<RequestHandler>()
    const app = express()
    app.use('/api', authenticate(kw, { scopes: 'read' }))
    app.get(
      '/api/projects/:projectId/stats',
      authenticate(kw, { project: (req) => req.params.projectId }),
      requireScopes('read'),
      (_req, res) => {
        res.end()
      },
    )
  })

  it('types req.auth through the exported request types', () => {
    expectTypeOf<AuthenticatedRequest['auth']>().toEqualTypeOf<AuthContext>()
    expectTypeOf<AuthenticatedRequest>().toMatchTypeOf<Request>()
    expectTypeOf<NonNullable<KeywardRequest['auth']>>().toEqualTypeOf<AuthContext>()
  })

  it('types req.auth as present, without a cast, in the handlers after authenticate()', () => {
    const app = express()
    app.get('/me', authenticate(kw), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthContext>()
      res.json({ org: req.auth.org })
    })
    app.post(
      '/api/track',
      express.json(),
      authenticate(kw, { scopes: 'write', project: (req) => req.body?.projectId }),
      requireScopes('write'),
      (req, res) => {
        expectTypeOf(req.auth).toEqualTypeOf<AuthContext>()
        res.json({ keyId: req.auth.keyId })
      },
    )
    express.Router().delete('/keys/:id', authenticate(kw, { optional: false }), requireScopes('admin'), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthContext>()
      res.end()
    })
  })

  it('keeps req.auth possibly undefined where authenticate() may not have set it', () => {
    expectTypeOf<Request['auth']>().toEqualTypeOf<AuthContext | undefined>()
    const app = express()
    app.get('/plain', (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthContext | undefined>()
      res.end()
    })
    app.get('/feed', authenticate(kw, { optional: true }), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthContext | undefined>()
      res.json({ org: req.auth?.org ?? null })
    })
    const optional: boolean = Math.random() < 2
    app.get('/maybe', authenticate(kw, { optional }), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthContext | undefined>()
      res.end()
    })
    // A middleware mounted with app.use is not part of the route's handler list: no promise.
    app.use(authenticate(kw))
    app.get('/after-use', (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthContext | undefined>()
      res.end()
    })
  })

  it('leaves res.locals usable as before', () => {
    express().get('/locals', authenticate(kw), (_req, res) => {
      res.locals.requestId = 'r1'
      expectTypeOf(res.locals.requestId).toBeAny()
      res.end()
    })
  })

  it('gives the callbacks the Express request', () => {
    expectTypeOf<Parameters<NonNullable<ExpressAuthenticateOptions['project']>>[0]>().toEqualTypeOf<Request>()
    expectTypeOf<Parameters<NonNullable<ExpressAuthenticateOptions['onError']>>[1]>().toEqualTypeOf<Request>()
    // @ts-expect-error trustProxy takes a hop count or a list, not true
    authenticate(kw, { trustProxy: true })
  })

  it('types a second landing place: AuthenticatedRequest<As>, guards with { from }', () => {
    expectTypeOf(authenticate(kw, { as: 'session', credentials: { header: 'authorization', type: 'jwt' } })).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireScopes('admin', { from: 'session' })).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireProject((req) => req.params.id, { from: 'session' })).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireMfa({ from: 'session' })).toEqualTypeOf<RequestHandler>()
    expectTypeOf<AuthenticatedRequest<'auth' | 'session'>['session']>().toEqualTypeOf<AuthContext>()
    expectTypeOf<AuthenticatedRequest<'auth' | 'session'>['auth']>().toEqualTypeOf<AuthContext>()
    expectTypeOf<KeywardRequest<'session'>['session']>().toEqualTypeOf<AuthContext | undefined>()
    // @ts-expect-error -- the options come last.
    requireScopes({ from: 'session' }, 'admin')
    // @ts-expect-error -- one header name or a list of them.
    authenticate(kw, { credentials: { header: 42 } })
  })
})
