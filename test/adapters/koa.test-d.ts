import Koa, { type Middleware } from 'koa'
import type { AuthContext } from 'keyward'
import { createKeyward } from 'keyward'
import { describe, expectTypeOf, it } from 'vitest'
import { authenticate, requireScopes, type KeywardState, type OptionalKeywardState } from '../../adapters/koa.js'

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
})
