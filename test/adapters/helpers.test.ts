// Unit tests of the framework-agnostic helpers the adapters share (src/http/client-ip.ts,
// src/http/preflight.ts, src/http/problem-response.ts).
import { createClientIpResolver, errorResponse, isPreflight, KeywardError, problemResponse } from 'keyward'
import { describe, expect, it } from 'vitest'

describe('createClientIpResolver', () => {
  it('trusts no proxy by default: the socket address, whatever X-Forwarded-For says', () => {
    for (const resolve of [createClientIpResolver(), createClientIpResolver(false), createClientIpResolver(0)]) {
      expect(resolve('10.0.0.2', '203.0.113.10')).toBe('10.0.0.2')
      expect(resolve(undefined, '203.0.113.10')).toBeUndefined()
    }
  })

  it('with a list, walks X-Forwarded-For from the right past trusted proxies only', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8', '2001:db8::/32'])
    expect(resolve('10.0.0.2', '198.51.100.7')).toBe('198.51.100.7')
    expect(resolve('10.0.0.2', '6.6.6.6, 198.51.100.7, 10.0.0.5')).toBe('198.51.100.7')
    expect(resolve('10.0.0.2', ['6.6.6.6', '198.51.100.7, 10.0.0.5'])).toBe('198.51.100.7')
    expect(resolve('2001:db8::1', '198.51.100.7')).toBe('198.51.100.7')
    expect(resolve('::ffff:10.0.0.2', '198.51.100.7')).toBe('198.51.100.7')
    // Not from a trusted proxy: the header is the client's own words.
    expect(resolve('198.51.100.9', '203.0.113.10')).toBe('198.51.100.9')
    // Every hop trusted: the leftmost is the furthest known.
    expect(resolve('10.0.0.2', '10.0.0.9, 10.0.0.5')).toBe('10.0.0.9')
    expect(resolve('10.0.0.2', undefined)).toBe('10.0.0.2')
  })

  it('accepts ports and brackets proxies add, and gives no address for garbage rather than the proxy', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8'])
    expect(resolve('10.0.0.2', ' 198.51.100.7:5123 ')).toBe('198.51.100.7')
    expect(resolve('10.0.0.2', '[2001:db8::7]:443')).toBe('2001:db8::7')
    expect(resolve('10.0.0.2', 'unknown')).toBeUndefined()
    expect(resolve('10.0.0.2', '198.51.100.7, ')).toBeUndefined()
  })

  it('with a hop count, takes that many entries from the right', () => {
    const one = createClientIpResolver(1)
    expect(one('10.0.0.2', '6.6.6.6, 198.51.100.7')).toBe('198.51.100.7')
    expect(one('10.0.0.2', undefined)).toBe('10.0.0.2')
    const two = createClientIpResolver(2)
    expect(two('10.0.0.2', '6.6.6.6, 198.51.100.7, 10.0.0.5')).toBe('198.51.100.7')
    expect(two('10.0.0.2', '198.51.100.7')).toBe('198.51.100.7')
  })

  it('refuses bad settings at once', () => {
    for (const bad of [true, -1, 1.5, 33, [], ['10.0.0.1/8'], ['proxy.internal'], 'loopback']) {
      expect(() => createClientIpResolver(bad as never), String(bad)).toThrow(TypeError)
    }
  })
})

describe('isPreflight', () => {
  it('is an OPTIONS request with Access-Control-Request-Method, in both header shapes', () => {
    expect(isPreflight('OPTIONS', new Headers({ 'access-control-request-method': 'POST' }))).toBe(true)
    expect(isPreflight('OPTIONS', { 'access-control-request-method': 'POST' })).toBe(true)
    expect(isPreflight('OPTIONS', {})).toBe(false)
    expect(isPreflight('POST', { 'access-control-request-method': 'POST' })).toBe(false)
  })
})

describe('problemResponse', () => {
  it('is the problem document as application/problem+json with the error headers', () => {
    const response = problemResponse(new KeywardError('insufficient_scope', { scope: 'write' }))
    expect(response.status).toBe(403)
    expect(response.headers).toEqual({
      'content-type': 'application/problem+json',
      'www-authenticate': 'Bearer realm="api", error="insufficient_scope", scope="write"',
    })
    expect(JSON.parse(response.body)).toMatchObject({ code: 'insufficient_scope', status: 403, scope: 'write' })
  })

  it('applies an override: JSON or text body, extra headers, another status; the challenge stays', () => {
    const error = new KeywardError('invalid_token')
    const json = problemResponse(error, { body: { error: error.message }, headers: { 'X-Trace': 'abc' } })
    expect(json).toEqual({
      status: 401,
      headers: {
        'www-authenticate': 'Bearer realm="api", error="invalid_token"',
        'content-type': 'application/json; charset=utf-8',
        'x-trace': 'abc',
      },
      body: '{"error":"Invalid API token"}',
    })
    expect(problemResponse(error, { body: 'nope', status: 404 })).toMatchObject({
      status: 404,
      body: 'nope',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    })
    expect(problemResponse(error, { headers: { 'x-trace': 'abc' } }).headers['content-type']).toBe('application/problem+json')
  })

  it('a status alone keeps the problem document, saying the new status and its reason phrase', () => {
    const error = new KeywardError('invalid_token')
    const hidden = problemResponse(error, { status: 404 })
    expect(hidden.status).toBe(404)
    expect(hidden.headers['content-type']).toBe('application/problem+json')
    expect(JSON.parse(hidden.body)).toEqual({ ...error.toJSON(), status: 404, title: 'Not Found' })
    // No registered reason phrase: the title stays, the status still follows.
    expect(JSON.parse(problemResponse(error, { status: 499 }).body)).toEqual({ ...error.toJSON(), status: 499 })
    // The same status, or only headers: the document is the error's own.
    expect(problemResponse(error, { status: 401 }).body).toBe(JSON.stringify(error))
  })

  it('refuses to turn a refusal into a success', () => {
    expect(() => problemResponse(new KeywardError('invalid_token'), { status: 200 })).toThrow(TypeError)
  })

  it('errorResponse runs the hook, sync or async, and keeps the default when it returns nothing', async () => {
    const error = new KeywardError('missing_credentials')
    expect((await errorResponse(error, {}, undefined)).headers['content-type']).toBe('application/problem+json')
    expect((await errorResponse(error, {}, () => undefined)).body).toBe(JSON.stringify(error))
    expect((await errorResponse(error, { id: 7 }, async (_e, req) => ({ body: { req } }))).body).toBe('{"req":{"id":7}}')
  })
})
