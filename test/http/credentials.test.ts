import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_CREDENTIAL_HEADERS,
  extractCredential,
  MAX_CREDENTIAL_LENGTH,
  readHeader,
  urlHasCredential,
  type HeaderSource,
} from '../../src/http/credentials.js'
import { KeywardError } from '../../src/errors.js'
import { CPU_BOUND } from '../support/budget.js'

const KEY = 'bsk_live_4fTq9ZkAabcdefghijklmnopqrstuvwxyzABCD0a1B2c'
const OTHER = 'bsk_live_Zz9yXw8Vabcdefghijklmnopqrstuvwxyz0123456789'
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXNpZw'

function errorOf(result: string | KeywardError): KeywardError {
  expect(result).toBeInstanceOf(KeywardError)
  return result as KeywardError
}
const codeOf = (headers: HeaderSource, names?: readonly string[]) => {
  const result = extractCredential(headers, names)
  return typeof result === 'string' ? result : result.code
}

describe('extractCredential: where the credential comes from', () => {
  it('reads Authorization: Bearer, X-API-Key and api-key by default', () => {
    expect(DEFAULT_CREDENTIAL_HEADERS).toEqual(['authorization', 'x-api-key', 'api-key'])
    expect(extractCredential({ authorization: `Bearer ${KEY}` })).toBe(KEY)
    expect(extractCredential({ 'x-api-key': KEY })).toBe(KEY)
    expect(extractCredential({ 'api-key': KEY })).toBe(KEY)
    expect(extractCredential({ authorization: `Bearer ${JWT}` })).toBe(JWT)
  })

  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('treats the scheme %j case-insensitively', (scheme) => {
    expect(extractCredential({ authorization: `${scheme} ${KEY}` })).toBe(KEY)
  })

  it('tolerates several spaces after the scheme and surrounding whitespace', () => {
    expect(extractCredential({ authorization: `Bearer    ${KEY}` })).toBe(KEY)
    expect(extractCredential({ authorization: `  Bearer ${KEY}  ` })).toBe(KEY)
    expect(extractCredential({ 'x-api-key': ` ${KEY}\t` })).toBe(KEY)
  })

  it('reads a Web Headers object, whose names are case-insensitive', () => {
    expect(extractCredential(new Headers({ Authorization: `Bearer ${KEY}` }))).toBe(KEY)
    expect(extractCredential(new Headers({ 'X-API-Key': KEY }))).toBe(KEY)
    expect(extractCredential(new Headers({ 'API-KEY': KEY }))).toBe(KEY)
    expect(errorOf(extractCredential(new Headers())).code).toBe('missing_credentials')
  })

  it('reads Node-style records, with string or array values', () => {
    expect(extractCredential({ 'x-api-key': [KEY] })).toBe(KEY)
    expect(extractCredential({ authorization: [`Bearer ${KEY}`] })).toBe(KEY)
    expect(extractCredential({ 'x-api-key': undefined, 'api-key': KEY })).toBe(KEY)
    expect(errorOf(extractCredential({ 'x-api-key': [] })).code).toBe('missing_credentials')
  })

  it('reads only the configured header names when given', () => {
    expect(extractCredential({ 'x-token': KEY }, ['x-token'])).toBe(KEY)
    expect(codeOf({ 'x-api-key': KEY }, ['x-token'])).toBe('missing_credentials')
    expect(codeOf({ authorization: `Bearer ${KEY}` }, ['x-api-key'])).toBe('missing_credentials')
  })

  it('never reads anything but headers: other header names carry no credential', () => {
    for (const name of ['api_key', 'apikey', 'x-api-token', 'token', 'cookie', 'proxy-authorization', 'x-authorization']) {
      expect(codeOf({ [name]: KEY }), name).toBe('missing_credentials')
    }
  })
})

describe('extractCredential: one credential per request', () => {
  it('accepts the same credential in several headers', () => {
    expect(extractCredential({ authorization: `Bearer ${KEY}`, 'x-api-key': KEY })).toBe(KEY)
    expect(extractCredential({ authorization: `Bearer ${KEY}`, 'x-api-key': KEY, 'api-key': KEY })).toBe(KEY)
    expect(extractCredential(new Headers({ authorization: `bearer ${KEY}`, 'api-key': ` ${KEY} ` }))).toBe(KEY)
    expect(extractCredential({ 'x-api-key': [KEY, KEY] })).toBe(KEY)
  })

  it('refuses two different credentials with invalid_request (400)', () => {
    for (const headers of [
      { authorization: `Bearer ${KEY}`, 'x-api-key': OTHER },
      { 'x-api-key': KEY, 'api-key': OTHER },
      { authorization: `Bearer ${JWT}`, 'api-key': KEY },
      new Headers({ authorization: `Bearer ${KEY}`, 'x-api-key': OTHER }),
    ]) {
      const error = errorOf(extractCredential(headers))
      expect(error.code).toBe('invalid_request')
      expect(error.status).toBe(400)
    }
  })

  it('refuses several different values of one header', () => {
    expect(codeOf({ 'x-api-key': [KEY, OTHER] })).toBe('invalid_request')
    expect(codeOf({ authorization: [`Bearer ${KEY}`, `Bearer ${OTHER}`] })).toBe('invalid_request')
    expect(codeOf({ 'x-api-key': [KEY, KEY, OTHER] })).toBe('invalid_request')
    const joined = new Headers()
    joined.append('x-api-key', KEY)
    joined.append('x-api-key', OTHER)
    expect(codeOf(joined)).toBe('invalid_request')
  })
})

describe('extractCredential: malformed and missing', () => {
  it('is missing_credentials (401, no error param) when there is no credential at all', () => {
    const error = errorOf(extractCredential({}))
    expect(error.code).toBe('missing_credentials')
    expect(error.status).toBe(401)
    expect(error.message).toBe('Missing API token')
    expect(error.headers['www-authenticate']).toBe('Bearer realm="api"')
    expect(codeOf({ host: 'example.com', 'content-type': 'application/json' })).toBe('missing_credentials')
  })

  it.each(['Basic dXNlcjpwYXNz', 'Digest username="u", realm="r"', 'Token abc', 'ApiKey abc', 'Negotiate YIIG'])(
    'ignores the other Authorization scheme %j',
    (authorization) => {
      expect(codeOf({ authorization })).toBe('missing_credentials')
      expect(extractCredential({ authorization, 'x-api-key': KEY })).toBe(KEY)
    },
  )

  // Starting with Bearer makes the header ours: a bad separator is a malformed credential, so a
  // second credential elsewhere cannot be served in its place.
  it.each(['Bearertoken', `Bearer\t${KEY}`, `bearer\u00a0${KEY}`, `Bearer,${KEY}`, `BEARER\t\t${KEY}`])(
    'refuses %j with invalid_request, even beside an X-API-Key',
    (authorization) => {
      expect(codeOf({ authorization })).toBe('invalid_request')
      expect(codeOf({ authorization, 'x-api-key': KEY })).toBe('invalid_request')
    },
  )

  it.each(['Bearer', 'bearer', 'Bearer ', 'Bearer    ', 'BEARER\t'])(
    'refuses the empty bearer %j with invalid_request',
    (authorization) => {
      expect(codeOf({ authorization })).toBe('invalid_request')
    },
  )

  it('refuses an empty X-API-Key or api-key header with invalid_request', () => {
    expect(codeOf({ 'x-api-key': '' })).toBe('invalid_request')
    expect(codeOf({ 'api-key': '   ' })).toBe('invalid_request')
    expect(codeOf({ authorization: `Bearer ${KEY}`, 'x-api-key': '' })).toBe('invalid_request')
  })

  it.each([
    `${KEY} ${KEY}`,
    `${KEY},${KEY}`,
    `"${KEY}"`,
    `${KEY};`,
    'abc def',
    'a=b',
    '==',
    'abc\u0000',
    'abc\u00e9',
    'k\u0435y',
    'abc%20',
    'abc\\',
    '<script>',
  ])('refuses the malformed token %j with invalid_request', (token) => {
    expect(codeOf({ authorization: `Bearer ${token}` })).toBe('invalid_request')
    expect(codeOf({ 'x-api-key': token })).toBe('invalid_request')
  })

  it('accepts every RFC 6750 b64token character', () => {
    const token = 'AZaz09-._~+/abc=='
    expect(extractCredential({ authorization: `Bearer ${token}` })).toBe(token)
    expect(extractCredential({ 'x-api-key': token })).toBe(token)
  })

  it('judges the b64token syntax as RFC 6750 spells it, character by character (property)', CPU_BOUND, () => {
    // The oracle reads the grammar directly, not through a regular expression like the code's.
    const ALLOWED = new Set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/')
    const isB64token = (value: string) => {
      const chars = [...value]
      let i = 0
      while (i < chars.length && ALLOWED.has(chars[i]!)) i++
      return i > 0 && chars.slice(i).every((c) => c === '=')
    }
    const piece = fc.oneof(
      fc.constantFrom(...ALLOWED, '=', '==', ' ', '\n', '\r', '\t', '\u0000', '%', '\\', '"', ',', ';', '\u00e9'),
      // Line terminators a regular expression could treat as an end, lone surrogates, astral characters.
      fc.constantFrom('\u2028', '\u2029', '\u0085', '\x7f', '\uD800', '\uDC00', '\u{1F600}', 'A\u0301'),
      fc.string({ maxLength: 3 }),
      fc.string({ unit: 'binary', maxLength: 3 }),
    )
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 40 }), fc.boolean(), (pieces, bearer) => {
        const token = pieces.join('')
        // Whitespace around a header value is trimmed before the syntax is judged; after `Bearer`,
        // only the spaces that separate it from the token are skipped.
        const trimmed = bearer ? token.trimEnd().replace(/^ +/, '') : token.trim()
        const result = extractCredential(bearer ? { authorization: `Bearer ${token}` } : { 'x-api-key': token })
        if (trimmed.length > 0 && isB64token(trimmed)) expect(result).toBe(trimmed)
        else expect(errorOf(result).code).toBe('invalid_request')
      }),
      { numRuns: 3000 },
    )
  })

  // Inside a value: line breaks at the very end are trimmed before the syntax is judged.
  it.each(['abc\n', 'abc=\nabc', 'abc\nabc', 'a=\u2028', '=abc', 'ab=c=', 'abc= '])(
    'refuses %j inside a value (a line break or a = before the end)',
    (token) => {
      expect(codeOf({ 'x-api-key': `x${token}x` })).toBe('invalid_request')
    },
  )

  it(`refuses a credential over ${MAX_CREDENTIAL_LENGTH} characters, accepts one of exactly that`, () => {
    expect(MAX_CREDENTIAL_LENGTH).toBe(8192)
    const atLimit = 'a'.repeat(MAX_CREDENTIAL_LENGTH)
    expect(extractCredential({ 'x-api-key': atLimit })).toBe(atLimit)
    expect(extractCredential({ authorization: `Bearer ${atLimit}` })).toBe(atLimit)
    expect(codeOf({ 'x-api-key': `${atLimit}a` })).toBe('invalid_request')
    expect(codeOf({ authorization: `Bearer ${atLimit}a` })).toBe('invalid_request')
    expect(codeOf({ 'x-api-key': 'a'.repeat(1_000_000) })).toBe('invalid_request')
  })
})

describe('extractCredential: never throws and never echoes the credential (property)', () => {
  const NAMES = [...DEFAULT_CREDENTIAL_HEADERS, 'x-token']
  const ALLOWED_MESSAGES = new Set([
    'Missing API token',
    'Empty bearer token',
    'Credential too long',
    'Two different credentials in one request',
    ...NAMES.flatMap((n) => [
      `Several different values in the ${n} header`,
      `Empty ${n} header`,
      `Malformed credential in the ${n} header`,
    ]),
  ])

  const headerName = fc.oneof(fc.constantFrom(...NAMES, 'Authorization', 'X-API-Key', 'cookie'), fc.string({ maxLength: 12 }))
  const token = fc.stringMatching(/^[A-Za-z0-9._~+/-]{16,40}={0,2}$/)
  const headerValue = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    token,
    token.map((t) => `Bearer ${t}`),
    token.map((t) => `bEaReR   ${t} `),
    fc.tuple(fc.constantFrom('Bearer ', 'Basic ', ''), fc.string({ maxLength: 40 })).map(([a, b]) => a + b),
  )
  const value = fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 }), fc.constant(undefined))
  const record = fc.dictionary(headerName, value, { maxKeys: 6 })

  function allStrings(headers: Record<string, unknown>): string[] {
    return Object.values(headers).flatMap((v) => (v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string]))
  }

  function checkError(result: string | KeywardError, secrets: readonly string[]) {
    if (typeof result === 'string') return
    expect(result).toBeInstanceOf(KeywardError)
    expect(['missing_credentials', 'invalid_request']).toContain(result.code)
    expect(ALLOWED_MESSAGES).toContain(result.message)
    const serialized = JSON.stringify(result) + JSON.stringify(result.headers) + String(result.stack)
    for (const secret of secrets) expect(serialized).not.toContain(secret)
  }

  it('on arbitrary Node-style records', CPU_BOUND, () => {
    fc.assert(
      fc.property(record, fc.constantFrom(undefined, NAMES), (headers, names) => {
        const result = extractCredential(headers as Record<string, string | string[] | undefined>, names)
        if (typeof result === 'string') {
          // A returned credential is a trimmed b64token from one of the headers read.
          expect(result).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/)
          expect(allStrings(headers).some((v) => v.includes(result))).toBe(true)
        }
        // Secrets long enough not to occur in a fixed message by chance.
        checkError(
          result,
          allStrings(headers)
            .map((v) => v.trim().replace(/^bearer +/i, ''))
            .filter((v) => v.length >= 16),
        )
      }),
      { numRuns: 3000 },
    )
  })

  it('on a real credential placed in random headers, next to noise', CPU_BOUND, () => {
    fc.assert(
      fc.property(
        token,
        fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom('same', 'bearer', 'other', 'empty', 'junk')), { maxLength: 4 }),
        (secret, placements) => {
          const headers: Record<string, string> = {}
          for (const [name, kind] of placements) {
            const raw = { same: secret, bearer: `Bearer ${secret}`, other: `${secret}X`, empty: '', junk: `${secret} ${secret}` }[kind]
            headers[name] = name === 'authorization' && kind === 'same' ? `Bearer ${raw}` : raw
          }
          checkError(extractCredential(headers), [secret])
          checkError(extractCredential(new Headers(headers)), [secret])
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('readHeader', () => {
  it('reads both header shapes, keeping arrays as they are', () => {
    expect(readHeader(new Headers({ 'X-Api-Key': 'a' }), 'x-api-key')).toBe('a')
    expect(readHeader(new Headers(), 'x-api-key')).toBeUndefined()
    expect(readHeader({ 'x-api-key': ['a', 'b'] }, 'x-api-key')).toEqual(['a', 'b'])
    expect(readHeader({}, 'x-api-key')).toBeUndefined()
  })
})

describe('urlHasCredential', () => {
  it.each([
    ['/track?api_key=abc', true],
    ['/track?access_token=abc', true],
    ['/track?apikey=abc', true],
    ['/track?api-key=abc', true],
    ['/track?x-api-key=abc', true],
    ['/track?API_KEY=abc', true],
    ['/track?a=1&api_key=abc&b=2', true],
    ['/track?api%5Fkey=abc', true],
    ['https://api.example.com/v1/events?access_token=abc', true],
    // A value that looks like one of our keys, whatever the parameter's name.
    [`/track?q=${KEY}`, true],
    ['/track?q=bsk_test_whatever', true],
    ['/track?q=bsk%5Flive%5Fabc', true],
    ['/track?q=bk_live_abc', false],
    ['/track?q=bsk_prod_abc', false],
    ['/track?q=BSK_live_abc', false],
    ['/track?q=xbsk_live_abc', false],
    // ...also after other text in the value, or inside JSON.
    [`/track?q=Bearer%20${KEY}`, true],
    [`/track?state=${encodeURIComponent(JSON.stringify({ key: KEY }))}`, true],
    ['/track?q=a-bsk_live_abc', true],
    ['/track?q=abcbsk_live_abc', false],
    // Names too common to mean a credential, empty values, and anything not in the query.
    ['/track?token=abc', false],
    ['/track?key=abc', false],
    ['/track?cursor=abc', false],
    ['/track?api_key=', false],
    ['/track?api_key', false],
    ['/track', false],
    ['/track/api_key/abc', false],
    [`/track/${KEY}`, false],
    ['/track#api_key=abc', false],
    ['/track?x=1#api_key=abc', false],
    [`/track?x=1#q=${KEY}`, false],
    ['', false],
  ])('%s -> %s', (url, expected) => {
    expect(urlHasCredential(url, ['bsk'])).toBe(expected)
  })

  it('checks every configured prefix', () => {
    expect(urlHasCredential('/x?q=bk_live_abc', ['bsk', 'bk'])).toBe(true)
    expect(urlHasCredential('/x?q=bk_live_abc', [])).toBe(false)
  })

  it('never throws on arbitrary input (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true })), (url) => {
        expect(typeof urlHasCredential(url, ['bsk'])).toBe('boolean')
      }),
    )
  })
})
