import type { KeywardError, ProblemDocument } from '../errors.js'

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
 * RateLimit) stay unless the hook names them. A `status` alone keeps the problem document, with
 * its `status` (and `title`, for a standard status) set to match.
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

// The reason phrases the IANA HTTP status code registry gives the 4xx and 5xx codes (RFC 9110,
// 6585, 7725, 8470, 4918, 5842): keyward's default titles are exactly these.
const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  421: 'Misdirected Request',
  422: 'Unprocessable Content',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  511: 'Network Authentication Required',
}

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
  const status = override.status ?? error.status
  // A refusal must stay a refusal: a 2xx here would read as success to every client and cache.
  if (!Number.isInteger(status) || status < 400 || status > 599)
    throw new TypeError(`keyward: onError returned status ${status}; use 400-599`)
  const headers: Record<string, string> = { ...error.headers }
  let body: string
  if (override.body === undefined) {
    headers['content-type'] = PROBLEM_JSON
    body = JSON.stringify(problemDocument(error, status))
  } else if (typeof override.body === 'string') {
    headers['content-type'] = 'text/plain; charset=utf-8'
    body = override.body
  } else {
    headers['content-type'] = JSON_TYPE
    body = JSON.stringify(override.body)
  }
  for (const [name, value] of Object.entries(override.headers ?? {})) headers[name.toLowerCase()] = value
  return { status, headers, body }
}

/**
 * RFC 9457 §3.1.2: a document's `status` must be the response's. Under another status, the title
 * becomes that status's reason phrase, or stays as it was for a status without a registered one.
 */
function problemDocument(error: KeywardError, status: number): ProblemDocument {
  const doc = error.toJSON()
  return status === doc.status ? doc : { ...doc, status, title: REASON_PHRASES[status] ?? doc.title }
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
