import type { KeywardError } from './errors.js'

/**
 * A refusal ready for any framework to send: status, headers (lowercase names) and body text.
 *
 * @example
 * ```ts
 * const { status, headers, body }: ErrorResponse = problemResponse(error)
 * ```
 */
export interface ErrorResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * What an `onError` hook returns to change a refusal. Omitted fields keep their default; a body
 * that is not a string is sent as JSON. The error's own headers (WWW-Authenticate, Retry-After,
 * RateLimit) stay unless the hook names them.
 *
 * @example
 * ```ts
 * const override: ErrorResponseOverride = { body: { error: 'Invalid API token' }, headers: { 'x-request-id': id } }
 * ```
 */
export interface ErrorResponseOverride {
  status?: number
  headers?: Record<string, string>
  body?: unknown
}

/**
 * The `onError` option of the adapters: called with every refusal and the framework's request
 * (Express `req`, Koa `ctx`, Hono `c`). Return nothing to keep the problem document, an override
 * to change it, or throw to hand the error to the framework's own error handling.
 *
 * @example
 * ```ts
 * // The Bklit shape: { "error": "Invalid API token" }
 * const onError: ErrorHook<unknown> = (error) => ({ body: { error: error.message } })
 * ```
 */
export type ErrorHook<Request> = (
  error: KeywardError,
  request: Request,
) => ErrorResponseOverride | undefined | void | Promise<ErrorResponseOverride | undefined | void>

const PROBLEM_JSON = 'application/problem+json'
const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * Turns a refusal into a response: by default the RFC 9457 problem document as
 * `application/problem+json`, with the error's status and headers. The document never holds the
 * credential (keyward never puts it in an error), so nothing here can echo it.
 *
 * @example
 * ```ts
 * const { status, headers, body } = problemResponse(result.error)
 * return new Response(body, { status, headers })
 * ```
 */
export function problemResponse(error: KeywardError, override?: ErrorResponseOverride | void): ErrorResponse {
  if (override === undefined || override === null) {
    return { status: error.status, headers: { ...error.headers, 'content-type': PROBLEM_JSON }, body: JSON.stringify(error) }
  }
  const headers: Record<string, string> = { ...error.headers }
  let body: string
  if (override.body === undefined) {
    headers['content-type'] = PROBLEM_JSON
    body = JSON.stringify(error)
  } else if (typeof override.body === 'string') {
    headers['content-type'] = 'text/plain; charset=utf-8'
    body = override.body
  } else {
    headers['content-type'] = JSON_TYPE
    body = JSON.stringify(override.body)
  }
  for (const [name, value] of Object.entries(override.headers ?? {})) headers[name.toLowerCase()] = value
  const status = override.status ?? error.status
  // A refusal must stay a refusal: a 2xx here would read as success to every client and cache.
  if (!Number.isInteger(status) || status < 400 || status > 599) throw new TypeError(`keyward: onError returned status ${status}; use 400-599`)
  return { status, headers, body }
}

/**
 * Runs an adapter's `onError` hook, if any, and builds the response from what it returned.
 *
 * @example
 * ```ts
 * const { status, headers, body } = await errorResponse(result.error, req, options.onError)
 * ```
 */
export async function errorResponse<Request>(error: KeywardError, request: Request, onError?: ErrorHook<Request>): Promise<ErrorResponse> {
  return problemResponse(error, onError === undefined ? undefined : await onError(error, request))
}
