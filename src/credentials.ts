import { KeywardError } from './errors.js'

/**
 * Request headers as a Web `Headers` object or a Node-style record (values may be arrays).
 *
 * @example
 * ```ts
 * await kw.verify({ headers: request.headers }) // Headers
 * await kw.verify({ headers: req.headers }) // Node's IncomingHttpHeaders
 * ```
 */
export type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | undefined>>

/**
 * The headers keyward reads a credential from, by default. Lowercase.
 *
 * @example
 * ```ts
 * createKeyward({ prefix: 'tk', credentialHeaders: ['api-key'] }) // instead of these
 * ```
 */
export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'x-api-key', 'api-key']

/**
 * Longest credential looked at (a JWT with many claims still fits).
 *
 * @example
 * ```ts
 * if (token.length > MAX_CREDENTIAL_LENGTH) refuse()
 * ```
 */
export const MAX_CREDENTIAL_LENGTH = 8192

// RFC 6750 §2.1 b64token, which also covers keyward keys and JWTs.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const BEARER = /^bearer +(.*)$/i

/**
 * Reads one header from either header shape; arrays (Node's repeated headers) are returned as
 * they are so that the caller can refuse several values. Node-style records must use lowercase
 * names, as Node itself does.
 *
 * @example
 * ```ts
 * readHeader(req.headers, 'origin') // 'https://example.com' | undefined
 * ```
 */
export function readHeader(headers: HeaderSource, name: string): string | readonly string[] | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined
  return (headers as Record<string, string | readonly string[] | undefined>)[name]
}

function single(value: string | readonly string[] | undefined): string | undefined | null {
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  if (value.length === 0) return undefined
  // Several copies of one credential header: only acceptable when all are the same.
  const first = value[0]!
  for (let i = 1; i < value.length; i++) if (value[i] !== first) return null
  return first
}

// Shared and frozen: optional-auth routes see this on every anonymous request, and building an
// Error (with its stack trace) each time would cost more than the rest of the check.
const MISSING = /* @__PURE__ */ (() => {
  const error = new KeywardError('missing_credentials')
  Object.freeze(error.headers)
  return Object.freeze(error)
})()

const malformed = (message: string) => new KeywardError('invalid_request', { message })

/**
 * Extracts the one credential of a request from `Authorization: Bearer`, `X-API-Key` or
 * `api-key` (configurable). The scheme is case-insensitive; two different credentials are a 400;
 * no credential at all is `missing_credentials`. The URL is never read. The credential itself is
 * never put in an error.
 *
 * @example
 * ```ts
 * const result = extractCredential(new Headers({ 'x-api-key': key }))
 * if (typeof result === 'string') console.log('got a credential')
 * ```
 */
export function extractCredential(headers: HeaderSource, names: readonly string[] = DEFAULT_CREDENTIAL_HEADERS): string | KeywardError {
  let found: string | undefined
  for (const name of names) {
    const raw = single(readHeader(headers, name))
    if (raw === undefined) continue
    if (raw === null) return malformed(`Several different values in the ${name} header`)
    let value = raw.trim()
    if (name === 'authorization') {
      const match = BEARER.exec(value)
      // Another scheme (Basic, Digest...) is not ours to judge when the credential comes elsewhere.
      if (match === null) {
        if (/^bearer$/i.test(value)) return malformed('Empty bearer token')
        continue
      }
      value = match[1]!
    }
    if (value.length === 0) return malformed(`Empty ${name} header`)
    if (value.length > MAX_CREDENTIAL_LENGTH) return malformed('Credential too long')
    if (!B64TOKEN.test(value)) return malformed(`Malformed credential in the ${name} header`)
    if (found !== undefined && found !== value) return malformed('Two different credentials in one request')
    found = value
  }
  return found ?? MISSING
}

// Only unambiguous names: `token` or `key` are too often pagination cursors or object ids.
const URL_CREDENTIAL_PARAMS = ['access_token', 'api_key', 'apikey', 'api-key', 'x-api-key']
// Any of those names, raw or percent-encoded (`api%5Fkey`), anywhere in the query.
const URL_HINT = /access|api|%/

/**
 * True when a request URL carries something that looks like a credential in its query string
 * (RFC 6750 §2.3 is discouraged, and URLs end up in logs). Used to refuse with a 400 rather than
 * to authenticate: keyward never reads a credential from the URL.
 *
 * @example
 * ```ts
 * urlHasCredential('/track?api_key=bsk_live_...', ['bsk']) // true
 * ```
 */
export function urlHasCredential(url: string, prefixes: readonly string[]): boolean {
  const q = url.indexOf('?')
  if (q === -1) return false
  // Most query strings carry nothing of the kind: a quick scan spares parsing them on every request.
  const query = url.slice(q + 1).toLowerCase()
  if (!URL_HINT.test(query) && !prefixes.some((p) => query.includes(`${p}_live_`) || query.includes(`${p}_test_`) || query.includes(`${p}%5f`))) return false
  let params: URLSearchParams
  try {
    params = new URLSearchParams(url.slice(q + 1).split('#', 1)[0])
  } catch {
    return false
  }
  for (const [name, value] of params) {
    if (value.length === 0) continue
    if (URL_CREDENTIAL_PARAMS.includes(name.toLowerCase())) return true
    for (const prefix of prefixes) if (holdsKey(value, `${prefix}_live_`) || holdsKey(value, `${prefix}_test_`)) return true
  }
  return false
}

// A key may sit anywhere in a value (`Bearer <key>`, a JSON blob), but `xbsk_live_` starts another prefix's.
function holdsKey(value: string, marker: string): boolean {
  for (let at = value.indexOf(marker); at !== -1; at = value.indexOf(marker, at + 1)) {
    if (at === 0 || !/[A-Za-z0-9]/.test(value[at - 1]!)) return true
  }
  return false
}
