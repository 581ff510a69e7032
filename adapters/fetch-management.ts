/**
 * The key management routes as a `Request -> Response` function. Internal module of `keyward/fetch`.
 */
import { createClientIpResolver, createManagementHandler, ownsPath, type Keyward, type ManagementOptions, type TrustProxy } from 'keyward'
import { checkBasePath } from '../src/internal/base-path.js'
import { func } from '../src/internal/options.js'
import { toResponse, waitUntilOf, type RequestHandler } from './fetch-support.js'

/**
 * Options of {@link managementHandler}: the shared management options plus where the routes live
 * and where the client address comes from.
 *
 * @example
 * ```ts
 * const options: FetchManagementOptions = { basePath: '/api/admin', ip: (req) => req.headers.get('x-real-ip') ?? undefined }
 * ```
 */
export interface FetchManagementOptions<Rest extends unknown[] = []> extends ManagementOptions {
  /** Where the routes live: `/admin` serves `/admin/keys`. Default `''`. */
  basePath?: string
  /** The client address, as in `authenticateRequest()`. Default: none. */
  ip?: (request: Request, ...rest: Rest) => string | undefined
  /** Proxies whose X-Forwarded-For to believe (as in `authenticateRequest()`). Default: none. */
  trustProxy?: TrustProxy
}

/**
 * The key management API (`POST/GET /keys`, `GET/PATCH/DELETE /keys/:id`, `POST /keys/:id/rotate`)
 * under `basePath`, as one `(request) => Promise<Response>`. A path it does not serve is a 404
 * problem document: route only the paths below `basePath + '/keys'` to it (`ownsPath()` from
 * `keyward` tells). It reads the body itself, bounded by `maxBodyBytes`. A runtime argument with a
 * `waitUntil` (Workers' `ctx`) keeps an async `onEvent` hook's audit work alive past the response.
 *
 * @example
 * ```ts
 * // app/api/admin/keys/[[...id]]/route.ts (Next.js)
 * const handle = managementHandler(kw, { basePath: '/api/admin' })
 * export { handle as GET, handle as POST, handle as PATCH, handle as DELETE }
 * ```
 */
export function managementHandler<Rest extends unknown[] = []>(
  kw: Keyward,
  options: FetchManagementOptions<Rest> = {},
): RequestHandler<Rest> {
  // The handler checks every option, this adapter's own included, before any is read.
  const handle = createManagementHandler(kw, options, ['basePath', 'ip', 'trustProxy'])
  const { basePath = '', ip, trustProxy } = options
  checkBasePath(basePath)
  if (ip !== undefined) func('of the request returning the client address')(ip, 'ip')
  const clientIp = createClientIpResolver(trustProxy)
  return async (request, ...args) => {
    const url = new URL(request.url)
    const below = url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) : ''
    const response = await handle({
      method: request.method,
      // Outside the routes: '' matches none, and the handler answers its 404 problem.
      path: ownsPath(below) ? below : '',
      query: url.search.slice(1),
      headers: request.headers,
      ip: clientIp(ip?.(request, ...args), request.headers.get('x-forwarded-for')),
      url: request.url,
      body: request.body,
      // Workers' ctx (or Next's event) among the arguments: the audit hook's work outlives the response.
      waitUntil: waitUntilOf(...args),
    })
    return toResponse(response)
  }
}
