import { Hono } from 'hono'
import type { AuthContext, KeyInfo } from 'keyward'
import { createKeyward } from 'keyward'
import { describe, expectTypeOf, it } from 'vitest'
import type { MiddlewareHandler } from 'hono'
import {
  authenticate,
  requireMfa,
  requireProject,
  requireScopes,
  type KeywardVariables,
  type LandedVariables,
  type OptionalKeywardVariables,
  type OptionalLandedVariables,
} from '../../adapters/hono.js'

const kw = createKeyward({ prefix: 'bsk' })

describe('keyward/hono types', () => {
  it('types c.get("auth") on a route from the middleware alone', () => {
    new Hono().get(
      '/x',
      authenticate(kw),
      requireScopes('read'),
      requireProject((c) => c.req.param('id')),
      (c) => {
        expectTypeOf(c.get('auth')).toEqualTypeOf<AuthContext>()
        return c.text('ok')
      },
    )
  })

  it('types c.get("auth") through the app Variables when mounted with app.use', () => {
    const app = new Hono<{ Variables: KeywardVariables }>()
    app.use('/api/*', authenticate(kw))
    app.get('/api/me', (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<AuthContext>()
      return c.json({ org: c.get('auth').org })
    })
  })

  it('makes auth possibly undefined after optional authentication', () => {
    new Hono().get('/feed', authenticate(kw, { optional: true }), (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<AuthContext | undefined>()
      return c.text(c.get('auth')?.org ?? 'anonymous')
    })
    const app = new Hono<{ Variables: OptionalKeywardVariables }>()
    app.get('/feed', (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<AuthContext | undefined>()
      return c.text('ok')
    })
  })

  it('narrows c.get("auth") by type', () => {
    new Hono().get('/who', authenticate(kw), (c) => {
      const auth = c.get('auth')
      if (auth.type === 'api_key') expectTypeOf(auth.key).toEqualTypeOf<KeyInfo>()
      else expectTypeOf(auth.subject).toEqualTypeOf<string>()
      return c.text('ok')
    })
  })

  it('adds nothing to the global ContextVariableMap', () => {
    new Hono().get('/plain', (c) => {
      // @ts-expect-error an app that did not declare keyward's Variables has no "auth"
      c.get('auth')
      return c.text('ok')
    })
  })

  it('types c.get() for each of two landing places, from the chain alone', () => {
    new Hono().get(
      '/both',
      authenticate(kw, { credentials: { header: 'x-app-key', type: 'api_key' } }),
      authenticate(kw, { as: 'session', credentials: { header: 'authorization', type: 'jwt' } }),
      requireScopes('admin', { from: 'session' }),
      requireProject((c) => c.req.param('id'), { from: 'session' }),
      requireMfa({ from: 'session' }),
      (c) => {
        expectTypeOf(c.get('auth')).toEqualTypeOf<AuthContext>()
        expectTypeOf(c.get('session')).toEqualTypeOf<AuthContext>()
        return c.text('ok')
      },
    )
    expectTypeOf(authenticate(kw, { as: 'session', optional: true })).toEqualTypeOf<
      MiddlewareHandler<{ Variables: OptionalLandedVariables<'session'> }>
    >()
    const app = new Hono<{ Variables: KeywardVariables & LandedVariables<'session'> }>()
    app.use('/api/*', authenticate(kw), authenticate(kw, { as: 'session' }))
    app.get('/api/me', (c) => {
      expectTypeOf(c.get('session')).toEqualTypeOf<AuthContext>()
      return c.text('ok')
    })
    // @ts-expect-error -- a guard option is { from }, nothing else.
    requireMfa({ as: 'session' })
  })
})
