/**
 * What the fetch adapter's entry points share: the per-request call, the platform context, and
 * turning keyward's answers into Web Responses. Internal: not an entry point.
 */
import type { ErrorResponse, WaitUntil } from 'keyward'
import { assertHeaderValues } from './header-values.js'

/**
 * What only the runtime knows about one request: the client address, and a `waitUntil` that keeps
 * background work alive after the response. A Workers `ctx` or Next's `event` fits as it is.
 *
 * @example
 * ```ts
 * const context: PlatformContext = { ip: info.remoteAddr.hostname } // Deno.serve((request, info) => ...)
 * ```
 */
export interface PlatformContext {
  /** The client address as the runtime reports it; `trustProxy` applies to it. */
  ip?: string | undefined
  waitUntil?(promise: Promise<unknown>): void
}

/**
 * A wrapped handler: the request and whatever the runtime passes after it (Workers' `env, ctx`,
 * Bun's `server`, Deno's `info`, Next's `{ params }`).
 *
 * @example
 * ```ts
 * const handler: RequestHandler<[Env, ExecutionContext]> = withAuth(kw, (request, auth, env, ctx) => Response.json(auth))
 * ```
 */
export type RequestHandler<Rest extends unknown[] = []> = (request: Request, ...rest: Rest) => Promise<Response>

/**
 * One request as the shared authenticator sees it.
 *
 * @example
 * ```ts
 * const call: Call = { request, rest: [], ip: '203.0.113.10', waitUntil: undefined }
 * ```
 */
export interface Call {
  request: Request
  /** What the runtime passed after the request (withAuth), for `project` and `ip`. */
  rest: readonly unknown[]
  ip: string | undefined
  waitUntil: WaitUntil | undefined
}

/**
 * The first `waitUntil` among the arguments a runtime passed (Workers' `ctx` comes third, Next
 * middleware's `event` second), bound to its object: Workers refuse an unbound call.
 *
 * @example
 * ```ts
 * waitUntilOf(env, ctx) // (promise) => ctx.waitUntil(promise)
 * ```
 */
export function waitUntilOf(...candidates: unknown[]): WaitUntil | undefined {
  for (const candidate of candidates) {
    if (candidate !== null && typeof candidate === 'object' && typeof (candidate as PlatformContext).waitUntil === 'function') {
      const owner = candidate as Required<Pick<PlatformContext, 'waitUntil'>>
      return (promise) => owner.waitUntil(promise)
    }
  }
  return undefined
}

/**
 * keyward's answer as a Web Response. A header value no server may send (from an `onError` hook)
 * throws a TypeError here, inside the app's error handling, before anything is sent.
 *
 * @example
 * ```ts
 * return toResponse(problemResponse(error))
 * ```
 */
export function toResponse({ status, headers, body }: ErrorResponse): Response {
  assertHeaderValues(headers)
  // A 204 or 304 must not carry a body (the Response constructor throws otherwise).
  return new Response(status === 204 || status === 304 ? null : body, { status, headers })
}

/**
 * Adds the RateLimit headers to the handler's response, leaving those it set itself. A response
 * with immutable headers (`fetch()`'s, `Response.redirect()`) is copied first.
 *
 * @example
 * ```ts
 * return addHeaders(await handler(request, auth), result.headers)
 * ```
 */
export function addHeaders(response: Response, headers: Readonly<Record<string, string>>): Response {
  const missing = Object.keys(headers).filter((name) => !response.headers.has(name))
  if (missing.length === 0) return response
  let target = response
  try {
    response.headers.set(missing[0]!, headers[missing[0]!]!)
  } catch {
    target = new Response(response.body, response)
    target.headers.set(missing[0]!, headers[missing[0]!]!)
  }
  for (const name of missing.slice(1)) target.headers.set(name, headers[name]!)
  return target
}
