import Koa, { type Middleware } from 'koa'
import type { AuthContext } from 'keyward'
import { createKeyward } from 'keyward'
import { describe, expectTypeOf, it } from 'vitest'
import {
  authenticate,
  requireMfa,
  requireScopes,
  type KeywardState,
  type LandedState,
  type OptionalKeywardState,
  type OptionalLandedState,
} from '../../adapters/koa.js'

const kw = createKeyward({ prefix: 'bsk' })

describe('keyward/koa types', () => {
  it('types ctx.state.auth through KeywardState', () => {
    expectTypeOf(authenticate(kw)).toEqualTypeOf<Middleware<KeywardState>>()
    const app = new Koa<KeywardState>()
    app.use(authenticate(kw, { scopes: 'read' }))
    app.use((ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthContext>()
    })
  })

  it('carries the state into the app when used with app.use', () => {
    const app = new Koa().use(authenticate(kw))
    app.use((ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthContext>()
    })
  })

  it('makes auth possibly undefined after optional authentication', () => {
    expectTypeOf(authenticate(kw, { optional: true })).toEqualTypeOf<Middleware<OptionalKeywardState>>()
    const app = new Koa<OptionalKeywardState>()
    app.use(authenticate(kw, { optional: true })).use(requireScopes('read'))
    app.use((ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthContext | undefined>()
    })
  })

  it('types ctx.state for a second landing place', () => {
    expectTypeOf(authenticate(kw, { as: 'session', credentials: { header: 'authorization', type: 'jwt' } })).toEqualTypeOf<
      Middleware<LandedState<'session'>>
    >()
    expectTypeOf(authenticate(kw, { as: 'session', optional: true })).toEqualTypeOf<Middleware<OptionalLandedState<'session'>>>()
    expectTypeOf(requireMfa({ from: 'session' })).toEqualTypeOf<Middleware<OptionalLandedState<'session'>>>()
    expectTypeOf(requireScopes('admin', { from: 'session' })).toEqualTypeOf<Middleware<OptionalLandedState<'session'>>>()
    const app = new Koa<KeywardState & LandedState<'session'>>()
    app.use(authenticate(kw, { credentials: { header: 'x-app-key' } })).use(authenticate(kw, { as: 'session' }))
    app.use((ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthContext>()
      expectTypeOf(ctx.state.session).toEqualTypeOf<AuthContext>()
    })
    // @ts-expect-error -- a credential type is 'api_key' or 'jwt'.
    authenticate(kw, { credentials: { header: 'x-app-key', type: 'session' } })
  })
})
