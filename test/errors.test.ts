import { describe, expect, it } from 'vitest'
import { ERROR_MESSAGES, isKeywardError, KeywardError, type KeywardErrorCode } from '../src/errors.js'

// The table of docs/errors.md, row by row (plus the two management-only codes).
const TABLE: Array<[KeywardErrorCode, number, string | null]> = [
  ['missing_credentials', 401, 'Missing API token'],
  ['invalid_request', 400, null],
  ['invalid_token', 401, 'Invalid API token'],
  ['project_forbidden', 403, 'Token does not have access to this project'],
  ['origin_forbidden', 403, 'Domain not allowed for this token'],
  ['ip_forbidden', 403, 'IP address not allowed for this token'],
  ['insufficient_scope', 403, null],
  ['rate_limited', 429, null],
  ['credits_exhausted', 402, 'Usage credits exhausted for this token'],
  ['ip_blocked', 429, null],
  ['mfa_required', 401, null],
  ['store_unavailable', 503, null],
  ['validation_failed', 400, null],
  ['not_found', 404, null],
]

describe('KeywardError: the error table', () => {
  it.each(TABLE)('%s is a %i', (code, status, exactMessage) => {
    const error = new KeywardError(code)
    expect(error.code).toBe(code)
    expect(error.status).toBe(status)
    expect(error.message).toBe(ERROR_MESSAGES[code])
    if (exactMessage !== null) expect(error.message).toBe(exactMessage)
    expect(error.message.length).toBeGreaterThan(0)
  })

  it('covers every code with a message', () => {
    expect(Object.keys(ERROR_MESSAGES).sort()).toEqual(TABLE.map(([c]) => c).sort())
  })

  it('is an Error named KeywardError with a stack, whose message can be overridden', () => {
    const error = new KeywardError('invalid_request', { message: 'Two different credentials in one request' })
    expect(error).toBeInstanceOf(Error)
    expect(error).toBeInstanceOf(KeywardError)
    expect(error.name).toBe('KeywardError')
    expect(error.message).toBe('Two different credentials in one request')
    expect(error.stack).toContain('KeywardError')
    expect(String(error)).toBe('KeywardError: Two different credentials in one request')
  })

  it('keeps a cause when given one, and has none otherwise', () => {
    const cause = new Error('connection refused')
    expect(new KeywardError('store_unavailable', { cause }).cause).toBe(cause)
    expect(new KeywardError('store_unavailable').cause).toBeUndefined()
    expect('cause' in new KeywardError('store_unavailable')).toBe(false)
  })
})

describe('KeywardError: WWW-Authenticate (RFC 6750 §3)', () => {
  it('has no error attribute when the request carried no credentials', () => {
    const header = new KeywardError('missing_credentials').headers['www-authenticate']
    expect(header).toBe('Bearer realm="api"')
    expect(header).not.toContain('error')
  })

  it('names the error for a bad request and a bad token', () => {
    expect(new KeywardError('invalid_request').headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_request"')
    expect(new KeywardError('invalid_token').headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
  })

  it('carries error="insufficient_scope" and the scopes needed, space-separated', () => {
    expect(new KeywardError('insufficient_scope', { scope: 'write' }).headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="write"',
    )
    expect(new KeywardError('insufficient_scope', { scope: 'write events:read' }).headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="write events:read"',
    )
  })

  it('does not claim an empty scope when it does not know which scope was missing', () => {
    expect(new KeywardError('insufficient_scope').headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope"')
  })

  it.each([
    'project_forbidden',
    'origin_forbidden',
    'ip_forbidden',
    'rate_limited',
    'credits_exhausted',
    'ip_blocked',
    'store_unavailable',
    'validation_failed',
    'not_found',
  ] as const)('%s is not a challenge: no WWW-Authenticate', (code) => {
    expect(new KeywardError(code).headers['www-authenticate']).toBeUndefined()
  })
})

describe('KeywardError: Retry-After', () => {
  it.each(['rate_limited', 'credits_exhausted', 'ip_blocked', 'store_unavailable'] as const)(
    '%s carries Retry-After in seconds when given',
    (code) => {
      const error = new KeywardError(code, { retryAfter: 30 })
      expect(error.headers['retry-after']).toBe('30')
      expect(error.retryAfter).toBe(30)
      expect(new KeywardError(code).headers['retry-after']).toBeUndefined()
    },
  )

  it('always writes delay-seconds (RFC 9110 §10.2.3: digits only), rounding a fraction up', () => {
    expect(new KeywardError('rate_limited', { retryAfter: 0.2 }).headers['retry-after']).toBe('1')
    expect(new KeywardError('rate_limited', { retryAfter: 1.5 }).headers['retry-after']).toBe('2')
    expect(new KeywardError('rate_limited', { retryAfter: 0 }).headers['retry-after']).toBe('0')
    expect(new KeywardError('rate_limited', { retryAfter: -3 }).headers['retry-after']).toBe('0')
    expect(new KeywardError('rate_limited', { retryAfter: 1.5 }).toJSON().retryAfter).toBe(2)
  })

  it('lets extra headers be added, and an explicit header win', () => {
    const error = new KeywardError('rate_limited', { retryAfter: 5, headers: { ratelimit: '"default";r=0;t=5', 'retry-after': '7' } })
    expect(error.headers).toEqual({ ratelimit: '"default";r=0;t=5', 'retry-after': '7' })
  })
})

describe('KeywardError: toJSON is an RFC 9457 problem document', () => {
  it('has type, title, status, detail and the stable code', () => {
    const doc = new KeywardError('invalid_token').toJSON()
    expect(doc).toEqual({
      type: 'https://keyward.dev/errors/invalid_token',
      title: 'Unauthorized',
      status: 401,
      detail: 'Invalid API token',
      code: 'invalid_token',
    })
  })

  it.each(TABLE)('%s: status matches, title is the HTTP reason phrase, type is an absolute URI per code', (code, status) => {
    const doc = new KeywardError(code).toJSON()
    expect(doc.status).toBe(status)
    expect(new URL(doc.type).href).toBe(doc.type)
    expect(doc.type.endsWith(`/${code}`)).toBe(true)
    const reasons: Record<number, string> = {
      400: 'Bad Request',
      401: 'Unauthorized',
      402: 'Payment Required',
      403: 'Forbidden',
      404: 'Not Found',
      429: 'Too Many Requests',
      503: 'Service Unavailable',
    }
    expect(doc.title).toBe(reasons[status])
    expect(doc.detail).toBe(ERROR_MESSAGES[code])
  })

  it('is what JSON.stringify gives, with nothing undefined and no stack or cause', () => {
    const error = new KeywardError('store_unavailable', { cause: new Error('secret connection string'), retryAfter: 1 })
    const json = JSON.parse(JSON.stringify(error)) as Record<string, unknown>
    expect(json).toEqual(error.toJSON())
    expect(Object.keys(json).sort()).toEqual(['code', 'detail', 'retryAfter', 'status', 'title', 'type'])
    expect(JSON.stringify(error)).not.toContain('secret connection string')
    expect(JSON.stringify(error)).not.toContain('stack')
  })

  it('includes field errors, the needed scope and the retry delay when there are some', () => {
    const errors = [{ field: 'name', message: 'must be 1-100 characters' }]
    expect(new KeywardError('validation_failed', { errors }).toJSON().errors).toEqual(errors)
    expect(new KeywardError('insufficient_scope', { scope: 'admin' }).toJSON().scope).toBe('admin')
    expect(new KeywardError('ip_blocked', { retryAfter: 240 }).toJSON().retryAfter).toBe(240)
    const plain = new KeywardError('invalid_token').toJSON()
    expect('errors' in plain || 'scope' in plain || 'retryAfter' in plain).toBe(false)
  })

  it('the token failures are indistinguishable from outside', () => {
    // Whatever the cause (unknown, revoked, expired, wrong environment), the same error is built.
    const a = new KeywardError('invalid_token')
    const b = new KeywardError('invalid_token')
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    expect(a.headers).toEqual(b.headers)
  })
})

describe('isKeywardError', () => {
  it('recognises instances, and copies from another bundle by name and code', () => {
    expect(isKeywardError(new KeywardError('invalid_token'))).toBe(true)
    class KeywardErrorCopy extends Error {
      override name = 'KeywardError'
      code = 'invalid_token'
    }
    expect(isKeywardError(new KeywardErrorCopy())).toBe(true)
  })

  it('refuses look-alikes that are not errors, and other errors', () => {
    expect(isKeywardError(new Error('x'))).toBe(false)
    expect(isKeywardError(new TypeError('x'))).toBe(false)
    expect(isKeywardError({ name: 'KeywardError', code: 'invalid_token', message: 'x' })).toBe(false)
    const renamed = new Error('x')
    renamed.name = 'KeywardError'
    expect(isKeywardError(renamed)).toBe(false)
    for (const v of [null, undefined, 'KeywardError', 401]) expect(isKeywardError(v)).toBe(false)
  })
})
