/**
 * Every refusal keyward can produce, as one error class with a stable `code`.
 *
 * The messages of the token-level failures are deliberately identical whatever the cause
 * (unknown, revoked, expired, wrong environment...), so a caller cannot probe which keys exist.
 */

/**
 * Stable machine-readable error codes. One per row of the README's error table.
 *
 * @example
 * ```ts
 * if (error.code === 'rate_limited') backOff(error.retryAfter)
 * ```
 */
export type KeywardErrorCode =
  | 'missing_credentials'
  | 'invalid_request'
  | 'invalid_token'
  | 'project_forbidden'
  | 'origin_forbidden'
  | 'ip_forbidden'
  | 'insufficient_scope'
  | 'rate_limited'
  | 'credits_exhausted'
  | 'ip_blocked'
  | 'mfa_required'
  | 'store_unavailable'
  | 'validation_failed'
  | 'not_found'

/**
 * One bad field of a management call (`keys.create`, `keys.update`...).
 *
 * @example
 * ```ts
 * // error.errors: [{ field: 'allowedIps[0]', message: 'must be an IPv4 or IPv6 address...' }]
 * ```
 */
export interface FieldIssue {
  /** The field's name as the caller spelled it, e.g. `allowedIps[1]`. */
  field: string
  /** What is wrong with it, in plain words. Never contains a secret. */
  message: string
}

/**
 * An RFC 9457 problem document, as returned by {@link KeywardError.toJSON}.
 *
 * @example
 * ```ts
 * const doc: ProblemDocument = error.toJSON()
 * res.status(doc.status).type('application/problem+json').send(doc)
 * ```
 */
export interface ProblemDocument {
  type: string
  title: string
  status: number
  detail: string
  code: KeywardErrorCode
  errors?: FieldIssue[]
  scope?: string
  retryAfter?: number
}

const STATUS: Record<KeywardErrorCode, number> = {
  missing_credentials: 401,
  invalid_request: 400,
  invalid_token: 401,
  project_forbidden: 403,
  origin_forbidden: 403,
  ip_forbidden: 403,
  insufficient_scope: 403,
  rate_limited: 429,
  // 402, not 429: waiting does not help unless a refill is due (then Retry-After says when), and
  // clients that retry every 429 on their own would only spin.
  credits_exhausted: 402,
  ip_blocked: 429,
  mfa_required: 401,
  store_unavailable: 503,
  validation_failed: 400,
  not_found: 404,
}

const TITLE: Record<KeywardErrorCode, string> = {
  missing_credentials: 'Unauthorized',
  invalid_request: 'Bad Request',
  invalid_token: 'Unauthorized',
  project_forbidden: 'Forbidden',
  origin_forbidden: 'Forbidden',
  ip_forbidden: 'Forbidden',
  insufficient_scope: 'Forbidden',
  rate_limited: 'Too Many Requests',
  credits_exhausted: 'Payment Required',
  ip_blocked: 'Too Many Requests',
  mfa_required: 'Unauthorized',
  store_unavailable: 'Service Unavailable',
  validation_failed: 'Bad Request',
  not_found: 'Not Found',
}

/**
 * The default message of each code, as listed in docs/errors.md.
 *
 * @example
 * ```ts
 * ERROR_MESSAGES.project_forbidden // 'Token does not have access to this project'
 * ```
 */
export const ERROR_MESSAGES: Readonly<Record<KeywardErrorCode, string>> = {
  missing_credentials: 'Missing API token',
  invalid_request: 'Malformed credentials',
  invalid_token: 'Invalid API token',
  project_forbidden: 'Token does not have access to this project',
  origin_forbidden: 'Domain not allowed for this token',
  ip_forbidden: 'IP address not allowed for this token',
  insufficient_scope: 'Token does not have the required scope',
  rate_limited: 'Rate limit exceeded',
  credits_exhausted: 'Usage credits exhausted for this token',
  ip_blocked: 'Too many failed attempts from this address',
  mfa_required: 'Two-factor authentication is required',
  store_unavailable: 'Authentication is temporarily unavailable',
  validation_failed: 'Invalid input',
  not_found: 'Key not found',
}

/**
 * Options of the {@link KeywardError} constructor.
 *
 * @example
 * ```ts
 * new KeywardError('insufficient_scope', { scope: 'write' })
 * ```
 */
export interface KeywardErrorOptions {
  message?: string
  headers?: Record<string, string>
  errors?: FieldIssue[]
  /** For `insufficient_scope`: the scopes the request needed, space-separated in the challenge. */
  scope?: string
  /** Seconds until a retry may succeed (429, 503, and 402 `credits_exhausted` when a refill is due). */
  retryAfter?: number
  cause?: unknown
}

/**
 * The one error keyward raises or returns. `status` and `headers` are ready to send;
 * `toJSON()` is an RFC 9457 problem document (send it as `application/problem+json`).
 *
 * @example
 * ```ts
 * const result = await kw.verify({ headers, ip })
 * if (!result.ok) {
 *   const err = result.error
 *   return new Response(JSON.stringify(err), {
 *     status: err.status,
 *     headers: { ...err.headers, 'content-type': 'application/problem+json' },
 *   })
 * }
 * ```
 */
export class KeywardError extends Error {
  override readonly name = 'KeywardError'
  readonly code: KeywardErrorCode
  readonly status: number
  readonly headers: Record<string, string>
  readonly errors: FieldIssue[] | undefined
  readonly scope: string | undefined
  readonly retryAfter: number | undefined

  constructor(code: KeywardErrorCode, options: KeywardErrorOptions = {}) {
    super(options.message ?? ERROR_MESSAGES[code], options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = STATUS[code]
    this.errors = options.errors
    this.scope = options.scope
    this.retryAfter = delaySeconds(options.retryAfter)
    this.headers = { ...defaultHeaders(code, this.scope, this.retryAfter), ...options.headers }
  }

  /** The RFC 9457 problem document for this error. */
  toJSON(): ProblemDocument {
    const doc: ProblemDocument = {
      type: `https://keyward.dev/errors/${this.code}`,
      title: TITLE[this.code],
      status: this.status,
      detail: this.message,
      code: this.code,
    }
    if (this.errors) doc.errors = this.errors
    if (this.scope !== undefined) doc.scope = this.scope
    if (this.retryAfter !== undefined) doc.retryAfter = this.retryAfter
    return doc
  }
}

/**
 * True when `value` is a {@link KeywardError}, also across bundled copies of keyward.
 *
 * @example
 * ```ts
 * try { await kw.keys.create(input) } catch (e) { if (isKeywardError(e)) console.log(e.errors) }
 * ```
 */
export function isKeywardError(value: unknown): value is KeywardError {
  return value instanceof KeywardError || (value instanceof Error && value.name === 'KeywardError' && 'code' in value)
}

const REALM = 'Bearer realm="api"'

// RFC 9110 §10.2.3: Retry-After is an HTTP-date or whole seconds, `1*DIGIT`; `1.5` or `-1` is
// not a valid value. A fraction is rounded up, so a client that waits as told is not early.
function delaySeconds(seconds: number | undefined): number | undefined {
  return seconds === undefined || !Number.isFinite(seconds) ? undefined : Math.max(0, Math.ceil(seconds))
}

function defaultHeaders(code: KeywardErrorCode, scope: string | undefined, retryAfter: number | undefined): Record<string, string> {
  const retry: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }
  switch (code) {
    // RFC 6750 §3.1: no error attribute when the request carried no credentials at all.
    case 'missing_credentials':
      return { 'www-authenticate': REALM }
    case 'invalid_request':
      return { 'www-authenticate': `${REALM}, error="invalid_request"` }
    case 'invalid_token':
      return { 'www-authenticate': `${REALM}, error="invalid_token"` }
    // RFC 9470 §3: the token is fine but was obtained without the authentication the resource needs.
    case 'mfa_required':
      return { ...retry, 'www-authenticate': `${REALM}, error="insufficient_user_authentication"` }
    // RFC 6750 §3: the scope attribute is optional; an empty one would say no scope was needed.
    case 'insufficient_scope':
      return {
        'www-authenticate': scope ? `${REALM}, error="insufficient_scope", scope="${scope}"` : `${REALM}, error="insufficient_scope"`,
      }
    case 'rate_limited':
    case 'credits_exhausted':
    case 'ip_blocked':
    case 'store_unavailable':
      return retry
    default:
      return {}
  }
}
