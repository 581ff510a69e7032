/**
 * Opt-in: types `req.auth` on every Express request. In a handler that follows `authenticate(kw)`
 * in the same route it is an `AuthContext` (no `?.`, no cast); anywhere else (no `authenticate()`
 * in the route, `optional: true`, or a middleware mounted with `app.use`) it is
 * `AuthContext | undefined`. Import it once, for its types only. It is a separate entry because a
 * global augmentation cannot be undone: an application that already declares its own `req.auth`
 * (another auth library) keeps `AuthenticatedRequest` instead.
 *
 * How: `authenticate()` returns a handler whose `res.locals` type carries a brand
 * ({@link AuthenticatedLocals}); Express infers one locals type for every handler of a route, and
 * this augmentation reads the brand from it. Express 4.17+ and 5 types.
 *
 * @example
 * ```ts
 * import type {} from 'keyward/express/augment'
 *
 * app.get('/api/me', authenticate(kw), (req, res) => res.json({ org: req.auth.org }))
 * ```
 */
import type { AuthContext } from 'keyward'

declare module 'express-serve-static-core' {
  // The type parameters must repeat Express's own declaration for the interfaces to merge.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars -- Express's own signature.
  interface Request<P, ResBody, ReqBody, ReqQuery, LocalsObj extends Record<string, any>> {
    /**
     * Set by `authenticate()` from `keyward/express` when the request carried a valid credential.
     * Typed as present in the handlers that follow `authenticate()` in the same route.
     */
    auth: LocalsObj extends { readonly '~keyward': 'authenticated' } ? AuthContext : AuthContext | undefined
  }
}

export {}
