import { KeywardError } from '../errors.js'

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

/**
 * An RFC 6750 §2.1 b64token (`[A-Za-z0-9-._~+/]+ =*`), which also covers keyward keys and JWTs.
 * A regular expression rather than a loop: V8 compiles the class to native code, 2–4× faster than
 * a charCodeAt loop over a 500-character JWT. It stays linear: anchored, and `=` is outside the
 * class, so a failed match gives back at most one character per step, once; lengths are capped first.
 */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

// Room for `Bearer` and the spaces after it on top of the longest credential.
const MAX_SCHEME_PADDING = 1024

const BEARER = 'bearer'

/** True when `value` starts with the scheme name `bearer`, in any case. */
function startsWithBearer(value: string): boolean {
  if (value.length < 6) return false
  // ASCII letters only: OR-ing 0x20 lowercases them, and no other character lands on one.
  for (let i = 0; i < 6; i++) if ((value.charCodeAt(i) | 0x20) !== BEARER.charCodeAt(i)) return false
  return true
}

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
      // Another scheme (Basic, Digest...) is not ours to judge when the credential comes elsewhere.
      // A header that starts with Bearer is ours: `Bearer<TAB>key` or `Bearerkey` beside an
      // X-API-Key is a malformed credential (400), never an absent one that lets the other serve.
      if (!startsWithBearer(value)) continue
      if (value.length > MAX_CREDENTIAL_LENGTH + MAX_SCHEME_PADDING) return malformed('Credential too long')
      let at = 6
      while (at < value.length && value.charCodeAt(at) === 0x20) at++
      if (value.length === 6) return malformed('Empty bearer token')
      if (at === 6) return malformed('Malformed Authorization header: Bearer, then spaces, then the token')
      value = value.slice(at)
    }
    // The same value in a second header passed every check below already: not scanned twice, so
    // the syntax check sees at most MAX_CREDENTIAL_LENGTH characters per distinct credential.
    if (value === found) continue
    // Lengths before syntax: nothing past the cap is looked at again.
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
// Any of those names, raw or percent-encoded (`api%5Fkey`), anywhere in the query: plain
// substring searches, linear in the query's length.
const URL_HINTS = ['access', 'api', '%']

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
  if (
    !URL_HINTS.some((hint) => query.includes(hint)) &&
    !prefixes.some((p) => query.includes(`${p}_live_`) || query.includes(`${p}_test_`) || query.includes(`${p}%5f`))
  )
    return false
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
    if (at === 0 || !isAlphanumeric(value.charCodeAt(at - 1))) return true
  }
  return false
}

function isAlphanumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}
