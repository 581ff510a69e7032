import express, { type Request, type RequestHandler } from 'express'
import type { AuthContext } from 'keyward'
import { createKeyward } from 'keyward'
import { describe, expectTypeOf, it } from 'vitest'
import type {} from '../../adapters/express-augment.js'
import { authenticate, requireProject, requireScopes, type AuthenticatedRequest, type ExpressAuthenticateOptions, type KeywardRequest } from '../../adapters/express.js'

const kw = createKeyward({ prefix: 'bsk' })

describe('keyward/express types', () => {
  it('returns plain Express request handlers, usable inline and with app.use', () => {
    expectTypeOf(authenticate(kw)).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireScopes('write')).toEqualTypeOf<RequestHandler>()
    expectTypeOf(requireProject((req) => req.params.projectId)).toEqualTypeOf<RequestHandler>()
    const app = express()
    app.use('/api', authenticate(kw, { scopes: 'read' }))
    app.get('/api/projects/:projectId/stats', authenticate(kw, { project: (req) => req.params.projectId }), requireScopes('read'), (_req, res) => {
      res.end()
    })
  })

  it('types req.auth through the exported request types', () => {
    expectTypeOf<AuthenticatedRequest['auth']>().toEqualTypeOf<AuthContext>()
    expectTypeOf<AuthenticatedRequest>().toMatchTypeOf<Request>()
    expectTypeOf<NonNullable<KeywardRequest['auth']>>().toEqualTypeOf<AuthContext>()
  })

  it('types req.auth on every request with the opt-in augmentation', () => {
    expectTypeOf<Request['auth']>().toEqualTypeOf<AuthContext | undefined>()
    express().get('/me', authenticate(kw), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthContext | undefined>()
      res.json({ org: req.auth?.org })
    })
  })

  it('gives the callbacks the Express request', () => {
    expectTypeOf<Parameters<NonNullable<ExpressAuthenticateOptions['project']>>[0]>().toEqualTypeOf<Request>()
    expectTypeOf<Parameters<NonNullable<ExpressAuthenticateOptions['onError']>>[1]>().toEqualTypeOf<Request>()
    // @ts-expect-error trustProxy takes a hop count or a list, not true
    authenticate(kw, { trustProxy: true })
  })
})
