import type { KeywardError, ProblemDocument } from '../errors.js'
import { problemResponse } from '../http/problem-response.js'
import type { ManagementResponse } from './types.js'

/**
 * Every management response forbids caching: a key, or a list of who holds which, must not sit
 * in a shared cache or the browser's.
 *
 * @example
 * ```ts
 * return { status: 204, headers: { ...NO_STORE }, body: '' }
 * ```
 */
export const NO_STORE: Readonly<Record<string, string>> = Object.freeze({ 'cache-control': 'no-store' })

/**
 * Codes of the refusals that are about HTTP itself rather than keys (no `KeywardError` for them).
 *
 * @example
 * ```ts
 * httpProblem('payload_too_large', 413, 'Content Too Large', 'The body exceeds 16384 bytes')
 * ```
 */
export type HttpProblemCode =
  'route_not_found' | 'method_not_allowed' | 'payload_too_large' | 'unsupported_media_type' | 'internal_error' | 'csrf_header_missing'

/**
 * An RFC 9457 response for an HTTP-level refusal, shaped like keyward's own problem documents.
 *
 * @example
 * ```ts
 * return httpProblem('method_not_allowed', 405, 'Method Not Allowed', 'Use GET or POST', { allow: 'GET, POST' })
 * ```
 */
export function httpProblem(
  code: HttpProblemCode,
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): ManagementResponse {
  const doc = { type: `https://keyward.dev/errors/${code}`, title, status, detail, code } as Omit<ProblemDocument, 'code'> & {
    code: string
  }
  return { status, headers: { ...NO_STORE, ...headers, 'content-type': 'application/problem+json' }, body: JSON.stringify(doc) }
}

/**
 * A `KeywardError` as a management response: its problem document, status and headers, not cached.
 *
 * @example
 * ```ts
 * return keywardProblem(new KeywardError('not_found'))
 * ```
 */
export function keywardProblem(error: KeywardError, extra: Readonly<Record<string, string>> = {}): ManagementResponse {
  const response = problemResponse(error)
  return { status: response.status, headers: { ...extra, ...response.headers, ...NO_STORE }, body: response.body }
}

/**
 * A JSON success response, not cached.
 *
 * @example
 * ```ts
 * return jsonResponse(201, { key, info })
 * ```
 */
export function jsonResponse(status: number, value: unknown, extra: Readonly<Record<string, string>> = {}): ManagementResponse {
  return { status, headers: { ...extra, ...NO_STORE, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(value) }
}
