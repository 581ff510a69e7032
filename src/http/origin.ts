/**
 * Origin rules (docs/origin-and-ip.md): an allowed entry is a hostname; a request's Origin is parsed
 * as a URL and its hostname compared exactly: case-insensitive, IDN as punycode, scheme and port ignored.
 * `Origin: null` never matches.
 */

// Controls, space and DEL: the URL parser would silently strip or skip some of them, which
// would let `exa\tmple.com` pass as `example.com`.
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const UNSAFE = /[\x00-\x20\x7f]/
// A browser serializes an Origin in printable ASCII (IDN as punycode). Node decodes header bytes
// as latin-1, and the URL parser's IDN mapping then drops a soft hyphen (\xAD) or reads ª (\xAA)
// as `a`: `https://ex\xAAmple.com` would become example.com. Anything else never matches.
const NOT_PRINTABLE_ASCII = /[^\x21-\x7e]/
// Authority only: no path, query, fragment, user-info, percent-escape or backslash (which special schemes read as
// a slash). What is left is handed to the URL parser for case, IDN and port handling.
const ORIGIN = /^https?:\/\/[^/?#@%\\]+$/i
const RULE = /^(?:https?:\/\/)?[^/?#@%\\]+\/?$/i
// What a browser can serialize as an Origin's host once IDN is punycode: non-empty labels of
// letters, digits, hyphens (and underscores, which some internal names use), at most 63 each.
const HOSTNAME = /^[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*$/
const DOTTED_QUAD = /^\d+\.\d+\.\d+\.\d+$/

/**
 * Turns a user's allowed-origin entry into the hostname stored: `https://Example.com/` ->
 * `example.com`, `bücher.example` -> `xn--bcher-kva.example`. Returns null when the entry is not
 * a bare hostname or an origin (paths, credentials, queries, wildcards and trailing dots refused).
 *
 * @example
 * ```ts
 * normalizeOriginRule('https://Example.com/') // 'example.com'
 * normalizeOriginRule('*.example.com') // null
 * ```
 */
export function normalizeOriginRule(entry: unknown): string | null {
  if (typeof entry !== 'string' || entry.length > 300 || UNSAFE.test(entry) || !RULE.test(entry)) return null
  let url: URL
  try {
    url = new URL(/^https?:\/\//i.test(entry) ? entry : `http://${entry}`)
  } catch {
    return null
  }
  const host = url.hostname
  // The URL parser takes many things for a host that no browser would send in an Origin
  // (`a.com,b.com`, `.example.com`, `*.example.com`, `example.com.`). A bad rule must fail here,
  // when the key is created, not sit in the key and silently match nothing.
  if (host.startsWith('[')) return host
  if (host.length > 253 || !HOSTNAME.test(host)) return null
  // The URL parser also rewrites IPv4 shorthands (`127.1`, `0x7f.1`, `010.0.0.1` -> 8.0.0.1):
  // an address is only accepted written out as the dotted quad it becomes.
  if (DOTTED_QUAD.test(host) && hostPart(entry) !== host) return null
  return host
}

/** The host of a rule entry as written: no scheme, port or trailing slash. */
function hostPart(entry: string): string {
  return entry
    .replace(/^https?:\/\//i, '')
    .replace(/\/$/, '')
    .replace(/:\d*$/, '')
}

/**
 * The hostname of a request's Origin header value, or null when it is absent-equivalent garbage:
 * `null`, several values, a path, credentials, a non-http(s) scheme, or any character outside
 * printable ASCII (controls, spaces, latin-1 bytes, raw IDN).
 *
 * @example
 * ```ts
 * originHostname('https://www.example.com:8443') // 'www.example.com'
 * originHostname('null') // null
 * ```
 */
export function originHostname(value: string): string | null {
  if (value.length > 300 || NOT_PRINTABLE_ASCII.test(value) || !ORIGIN.test(value)) return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return null
  }
  const host = url.hostname
  // As for rules: the parser rewrites IPv4 shorthands (`127.1`, `0x7f.0.0.1`) into the dotted
  // quad a rule lists. No browser sends those; only the quad written out matches.
  if (DOTTED_QUAD.test(host) && hostPart(value) !== host) return null
  return host || null
}

/**
 * True when the Origin header value's hostname is exactly one of `allowed` (normalized hostnames).
 *
 * @example
 * ```ts
 * originAllowed('http://example.com', ['example.com']) // true
 * originAllowed('https://www.example.com', ['example.com']) // false
 * ```
 */
export function originAllowed(value: string, allowed: readonly string[]): boolean {
  const host = originHostname(value)
  return host !== null && allowed.includes(host)
}
