import { readHeader, type HeaderSource } from './credentials.js'

/**
 * True for a CORS preflight: an `OPTIONS` request carrying `Access-Control-Request-Method`.
 * Browsers send it without credentials before the real call, so refusing it would make every
 * browser key (a tracking SDK on a website) fail before its request is even made. The real call
 * that follows is authenticated as usual.
 *
 * @example
 * ```ts
 * isPreflight('OPTIONS', new Headers({ 'access-control-request-method': 'POST' })) // true
 * isPreflight('OPTIONS', new Headers()) // false: a plain OPTIONS is authenticated
 * ```
 */
export function isPreflight(method: string, headers: HeaderSource): boolean {
  return method === 'OPTIONS' && readHeader(headers, 'access-control-request-method') !== undefined
}
