/**
 * Opt-in: adds `auth?: AuthContext` to every Express request type. Import it once, for its types
 * only. It is a separate entry because a global augmentation cannot be undone: an application
 * that already declares its own `req.auth` (another auth library) keeps `AuthenticatedRequest`.
 *
 * @example
 * ```ts
 * import type {} from 'keyward/express/augment'
 *
 * app.get('/api/me', authenticate(kw), (req, res) => res.json({ org: req.auth?.org }))
 * ```
 */
import type { AuthContext } from 'keyward'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types are extended only through this namespace.
  namespace Express {
    interface Request {
      /** Set by `authenticate()` from `keyward/express` when the request carried a valid key. */
      auth?: AuthContext
    }
  }
}

export {}
