import type { HeaderSource } from '../credentials.js'
import type { AuthContext } from '../types.js'

/**
 * What a management call does, as `authorize(auth, action)` sees it.
 *
 * @example
 * ```ts
 * const readOnly = (_auth: AuthContext, action: ManagementAction) => action === 'keys.list' || action === 'keys.read'
 * ```
 */
export type ManagementAction = 'keys.create' | 'keys.list' | 'keys.read' | 'keys.update' | 'keys.rotate' | 'keys.revoke'

/**
 * A request body the handler reads itself, at most `maxBodyBytes` of it: text, bytes, a Web
 * stream (`Request.body`) or any async iterable of bytes (Node's `IncomingMessage`).
 *
 * @example
 * ```ts
 * const body: BodySource = request.body // a ReadableStream, or null
 * ```
 */
export type BodySource = string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null | undefined

/**
 * The framework-neutral request the management handler takes. Adapters build it.
 *
 * @example
 * ```ts
 * const req: ManagementRequest = { method: 'GET', path: '/keys', query: 'limit=10', headers: request.headers, ip }
 * ```
 */
export interface ManagementRequest {
  method: string
  /** The path below the mount point: `/keys`, `/keys/4fTq9ZkA/rotate`. */
  path: string
  /** The query string, without `?`, or parsed. */
  query?: string | URLSearchParams
  headers: HeaderSource
  /** The client address the adapter resolved (socket, or per trusted proxies). */
  ip?: string | undefined
  /** The whole original URL (path and query): only looked at to refuse a credential in it. */
  url?: string
  /** The raw body, read by the handler within the size bound. */
  body?: BodySource
  /**
   * A body a framework parser already read (Express `express.json()`, koa-bodyparser): used
   * instead of `body` when not undefined. Its JSON form is held to the same size bound.
   */
  parsedBody?: unknown
}

/**
 * What the handler answers: ready to send, header names lowercase.
 *
 * @example
 * ```ts
 * const { status, headers, body }: ManagementResponse = await handle(req)
 * return new Response(body, { status, headers })
 * ```
 */
export interface ManagementResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Options of the management routes, the same in every adapter.
 *
 * @example
 * ```ts
 * const options: ManagementOptions = { scope: 'keys:manage', maxBodyBytes: 8192 }
 * ```
 */
export interface ManagementOptions {
  /** The scope a caller's key needs for every route. Default `'admin'`. Ignored when `authorize` is given. */
  scope?: string
  /**
   * Decides instead of the scope: called with the verified caller and the action; false (or a
   * promise of false) is 403. Throwing is a 500 (fail closed). Org isolation applies either way.
   */
  authorize?: (auth: AuthContext, action: ManagementAction) => boolean | Promise<boolean>
  /** Largest request body accepted, in bytes; beyond it 413. Default 16,384. */
  maxBodyBytes?: number
  /** Receives unexpected errors (answered 500). Never receives a secret. Default: ignore. */
  onError?: (error: unknown) => void
}
