/**
 * Hostile input through each adapter over real HTTP. Every row names what is sent and the exact
 * status and error code that must come back, and every row also checks that the store is
 * untouched (no write call, records deep-equal) and that no credential is echoed.
 *
 * `code: 'node'` marks requests Node's HTTP parser refuses itself (a bare 400 or 431 before any
 * adapter runs): what actually reaches keyward is then nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, type Keyward } from 'keyward'
import { ADAPTERS, serve, WEB_HEADERS, type Served } from './support/apps.js'
import { rawRequest } from './support/raw-http.js'
import { RecordingStore } from './support/recording-store.js'

interface Keys {
  /** scopes read, project prod-site, no place rules */
  plain: string
  other: string
  /** origins good.com, bücher.example, 127.0.0.1 */
  origin: string
  /** IPs 203.0.113.10, 10.0.0.0/8, 2001:db8::/64 */
  ip: string
  /** scope 'READ', which is not 'read' */
  upper: string
}

type Expected = { status: number; code: string } | { status: 200; project: string }

interface Case {
  name: string
  headers: (k: Keys) => Array<[string, string]>
  path?: string | ((k: Keys) => string)
  /** Behind the trusted-proxy server (trustProxy: loopback) instead of the plain one. */
  trusted?: boolean
  expect: Expected
  /** When the adapters reading Web `Headers` (WEB_HEADERS: Hono, fetch) must answer differently, and why (see the row). */
  web?: Expected
  /** Send the header bytes as latin-1 (one byte per character) rather than UTF-8. */
  latin1?: boolean
}

const PATH = '/api/projects/prod-site/data'
const ok: Expected = { status: 200, project: 'prod-site' }
const invalidToken: Expected = { status: 401, code: 'invalid_token' }
const invalidRequest: Expected = { status: 400, code: 'invalid_request' }
const missing: Expected = { status: 401, code: 'missing_credentials' }
const originForbidden: Expected = { status: 403, code: 'origin_forbidden' }
const ipForbidden: Expected = { status: 403, code: 'ip_forbidden' }
const projectForbidden: Expected = { status: 403, code: 'project_forbidden' }

const bearer = (key: string): Array<[string, string]> => [['Authorization', `Bearer ${key}`]]
const withOrigin = (origin: string) => (k: Keys) => [...bearer(k.origin), ['Origin', origin]] as Array<[string, string]>
const forwarded =
  (...values: string[]) =>
  (k: Keys) => [...bearer(k.ip), ...values.map((v) => ['X-Forwarded-For', v] as [string, string])]
const replaceAt = (key: string, index: number, char: string) => key.slice(0, index) + char + key.slice(index + 1)
const FULLWIDTH = (s: string) => [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('')

const CASES: Case[] = [
  // --- keys: malformed, over-long, non-ASCII, look-alike, whitespace and control characters
  { name: 'the valid key (control row)', headers: (k) => bearer(k.plain), expect: ok },
  { name: 'lowercase scheme and several spaces', headers: (k) => [['Authorization', `bearer    ${k.plain}`]], expect: ok },
  { name: 'truncated key', headers: (k) => bearer(k.plain.slice(0, -1)), expect: invalidToken },
  {
    name: 'bad checksum (last character changed)',
    headers: (k) => bearer(replaceAt(k.plain, k.plain.length - 1, k.plain.endsWith('A') ? 'B' : 'A')),
    expect: invalidToken,
  },
  {
    name: 'secret changed, checksum recomputed by nobody',
    headers: (k) => bearer(replaceAt(k.plain, 20, k.plain[20] === 'x' ? 'y' : 'x')),
    expect: invalidToken,
  },
  { name: 'key of the other environment', headers: (k) => bearer(k.plain.replace('_live_', '_test_')), expect: invalidToken },
  { name: 'unknown prefix', headers: (k) => bearer(k.plain.replace('bsk_', 'evil_')), expect: invalidToken },
  { name: 'prefix in upper case', headers: (k) => bearer(k.plain.replace('bsk_', 'BSK_')), expect: invalidToken },
  { name: 'one character appended', headers: (k) => bearer(`${k.plain}A`), expect: invalidToken },
  { name: 'over-long credential (9,000 characters)', headers: () => bearer('A'.repeat(9000)), expect: invalidRequest },
  {
    name: "header past Node's limit (20,000 characters)",
    headers: () => bearer('A'.repeat(20_000)),
    expect: { status: 431, code: 'node' },
  },
  { name: 'non-ASCII letter inside the key (é)', headers: (k) => bearer(replaceAt(k.plain, 12, 'é')), expect: invalidRequest },
  { name: 'Cyrillic look-alike (а for a)', headers: (k) => bearer(replaceAt(k.plain, 12, 'а')), expect: invalidRequest },
  { name: 'fullwidth key', headers: (k) => bearer(FULLWIDTH(k.plain)), expect: invalidRequest },
  {
    name: 'zero-width space inside the key',
    headers: (k) => bearer(`${k.plain.slice(0, 15)}\u200b${k.plain.slice(15)}`),
    expect: invalidRequest,
  },
  { name: 'space inside the key', headers: (k) => bearer(`${k.plain.slice(0, 15)} ${k.plain.slice(15)}`), expect: invalidRequest },
  { name: 'tab inside the key', headers: (k) => bearer(`${k.plain.slice(0, 15)}\t${k.plain.slice(15)}`), expect: invalidRequest },
  {
    name: 'NUL inside the key',
    headers: (k) => bearer(`${k.plain.slice(0, 15)}\u0000${k.plain.slice(15)}`),
    expect: { status: 400, code: 'node' },
  },
  {
    name: 'DEL inside the key',
    headers: (k) => bearer(`${k.plain.slice(0, 15)}\u007f${k.plain.slice(15)}`),
    expect: { status: 400, code: 'node' },
  },
  {
    name: 'bare CR inside the key',
    headers: (k) => bearer(`${k.plain.slice(0, 15)}\r${k.plain.slice(15)}`),
    expect: { status: 400, code: 'node' },
  },
  // The scheme is Bearer, so the header is ours to judge: a malformed Bearer header, not another scheme.
  { name: 'tab between scheme and key', headers: (k) => [['Authorization', `Bearer\t${k.plain}`]], expect: invalidRequest },
  {
    name: 'tab between scheme and key A, key B in X-API-Key (two credentials)',
    headers: (k) => [
      ['Authorization', `Bearer\t${k.plain}`],
      ['X-API-Key', k.other],
    ],
    expect: invalidRequest,
  },
  {
    name: 'tab between scheme and key A, key A in X-API-Key',
    headers: (k) => [
      ['Authorization', `Bearer\t${k.plain}`],
      ['X-API-Key', k.plain],
    ],
    expect: invalidRequest,
  },
  {
    name: 'scheme glued to the key, key B in X-API-Key',
    headers: (k) => [
      ['Authorization', `Bearer${k.plain}`],
      ['X-API-Key', k.other],
    ],
    expect: invalidRequest,
  },
  { name: 'trailing text after the key', headers: (k) => bearer(`${k.plain} extra`), expect: invalidRequest },
  { name: 'key quoted', headers: (k) => bearer(`"${k.plain}"`), expect: invalidRequest },
  { name: 'empty bearer', headers: () => [['Authorization', 'Bearer']], expect: invalidRequest },
  { name: 'empty X-API-Key', headers: () => [['X-API-Key', '']], expect: invalidRequest },
  {
    name: 'another scheme only (Basic)',
    headers: (k) => [['Authorization', `Basic ${Buffer.from(`u:${k.plain}`).toString('base64')}`]],
    expect: missing,
  },
  { name: 'key in a cookie only', headers: (k) => [['Cookie', `api_key=${k.plain}`]], expect: missing },
  // --- duplicate and conflicting credential headers
  { name: 'Authorization and X-API-Key, same key', headers: (k) => [...bearer(k.plain), ['X-API-Key', k.plain]], expect: ok },
  {
    name: 'Authorization and X-API-Key, different keys',
    headers: (k) => [...bearer(k.plain), ['X-API-Key', k.other]],
    expect: invalidRequest,
  },
  {
    name: 'X-API-Key and api-key, different keys',
    headers: (k) => [
      ['X-API-Key', k.plain],
      ['api-key', k.other],
    ],
    expect: invalidRequest,
  },
  { name: 'two Authorization lines, different keys', headers: (k) => [...bearer(k.plain), ...bearer(k.other)], expect: invalidRequest },
  {
    name: 'two Authorization lines, the valid key second',
    headers: (k) => [...bearer('bsk_live_forged'), ...bearer(k.plain)],
    expect: invalidRequest,
  },
  {
    name: 'two Authorization lines, the same key',
    headers: (k) => [...bearer(k.plain), ...bearer(k.plain)],
    expect: ok,
    // Web Headers (what @hono/node-server builds) joins repeated values into one `Bearer a, Bearer a`: not a credential.
    web: invalidRequest,
  },
  {
    name: 'two X-API-Key lines, different keys (Node joins them)',
    headers: (k) => [
      ['X-API-Key', k.plain],
      ['X-API-Key', k.other],
    ],
    expect: invalidRequest,
  },
  {
    name: 'header injection attempt (CRLF makes a second header)',
    headers: (k) => [['Authorization', `Bearer ${k.plain}\r\nX-API-Key: ${k.other}`]],
    expect: invalidRequest,
  },
  // --- credentials in the URL
  { name: 'api_key in the query, no header', headers: () => [], path: (k) => `${PATH}?api_key=${k.plain}`, expect: invalidRequest },
  {
    name: 'access_token in the query beside a valid header',
    headers: (k) => bearer(k.plain),
    path: (k) => `${PATH}?access_token=${k.plain}`,
    expect: invalidRequest,
  },
  { name: 'API_KEY in upper case', headers: (k) => bearer(k.plain), path: (k) => `${PATH}?API_KEY=${k.plain}`, expect: invalidRequest },
  {
    name: 'percent-encoded name api%5Fkey',
    headers: (k) => bearer(k.plain),
    path: (k) => `${PATH}?api%5Fkey=${k.plain}`,
    expect: invalidRequest,
  },
  { name: 'a key under an innocent name', headers: (k) => bearer(k.plain), path: (k) => `${PATH}?q=${k.plain}`, expect: invalidRequest },
  {
    name: 'a percent-encoded key under an innocent name',
    headers: (k) => bearer(k.plain),
    path: (k) => `${PATH}?q=${encodeURIComponent(k.plain).replace(/_/g, '%5F')}`,
    expect: invalidRequest,
  },
  {
    name: 'a key after other text in a query value',
    headers: (k) => bearer(k.plain),
    path: (k) => `${PATH}?q=Bearer%20${k.plain}`,
    expect: invalidRequest,
  },
  {
    name: 'a key inside a JSON query value',
    headers: (k) => bearer(k.plain),
    path: (k) => `${PATH}?state=${encodeURIComponent(JSON.stringify({ key: k.plain }))}`,
    expect: invalidRequest,
  },
  { name: 'an innocent query is fine', headers: (k) => bearer(k.plain), path: `${PATH}?page=2&token=abc`, expect: ok },
  // --- origins that try to slip past the allow-list (key allows good.com, bücher.example, 127.0.0.1)
  { name: 'listed origin (control row)', headers: withOrigin('https://good.com'), expect: ok },
  {
    name: 'listed origin, other scheme and a port (scheme and port ignored by design)',
    headers: withOrigin('http://good.com:8443'),
    expect: ok,
  },
  { name: 'listed origin in upper case', headers: withOrigin('HTTPS://GOOD.COM'), expect: ok },
  { name: 'listed IDN origin as punycode', headers: withOrigin('https://xn--bcher-kva.example'), expect: ok },
  { name: 'no Origin', headers: (k) => bearer(k.origin), expect: originForbidden },
  { name: 'suffix: good.com.evil.com', headers: withOrigin('https://good.com.evil.com'), expect: originForbidden },
  { name: 'prefix: evilgood.com', headers: withOrigin('https://evilgood.com'), expect: originForbidden },
  { name: 'subdomain: www.good.com', headers: withOrigin('https://www.good.com'), expect: originForbidden },
  { name: 'trailing dot', headers: withOrigin('https://good.com.'), expect: originForbidden },
  { name: 'user-info before the host', headers: withOrigin('https://evil.com@good.com'), expect: originForbidden },
  { name: 'user-info with the listed name', headers: withOrigin('https://good.com@evil.com'), expect: originForbidden },
  { name: 'backslash trick', headers: withOrigin('https://good.com\\@evil.com'), expect: originForbidden },
  { name: 'percent-encoded dot', headers: withOrigin('https://good%2ecom'), expect: originForbidden },
  { name: 'path after the origin', headers: withOrigin('https://good.com/'), expect: originForbidden },
  { name: 'Origin: null', headers: withOrigin('null'), expect: originForbidden },
  { name: 'two values in one header', headers: withOrigin('https://good.com, https://evil.com'), expect: originForbidden },
  { name: 'two values, space-separated', headers: withOrigin('https://evil.com https://good.com'), expect: originForbidden },
  {
    name: 'two Origin lines',
    headers: (k) => [...bearer(k.origin), ['Origin', 'https://good.com'], ['Origin', 'https://evil.com']],
    expect: originForbidden,
  },
  { name: 'missing scheme', headers: withOrigin('good.com'), expect: originForbidden },
  { name: 'scheme-relative', headers: withOrigin('//good.com'), expect: originForbidden },
  { name: 'other scheme (ftp)', headers: withOrigin('ftp://good.com'), expect: originForbidden },
  { name: 'port out of range', headers: withOrigin('https://good.com:99999'), expect: originForbidden },
  { name: 'tab inside the host', headers: withOrigin('https://go\tod.com'), expect: originForbidden },
  { name: 'Cyrillic look-alike (gооd.com)', headers: withOrigin('https://gооd.com'), expect: originForbidden },
  { name: 'fullwidth host', headers: withOrigin(`https://${FULLWIDTH('good')}.com`), expect: originForbidden },
  { name: 'IDN sent raw, not as punycode', headers: withOrigin('https://bücher.example'), expect: originForbidden },
  // Node decodes header bytes as latin-1; the URL parser's IDN mapping drops a soft hyphen and reads ª as a.
  {
    name: 'soft hyphen byte inside the listed host (go\\xADod.com)',
    headers: withOrigin('https://go\u00adod.com'),
    latin1: true,
    expect: originForbidden,
  },
  {
    name: 'ª byte for a in the listed host (xn--bcher-kva.ex\\xAAmple)',
    headers: withOrigin('https://xn--bcher-kva.ex\u00aample'),
    latin1: true,
    expect: originForbidden,
  },
  {
    name: 'no-break space byte after the listed host',
    headers: withOrigin('https://good.com\u00a0'),
    latin1: true,
    expect: originForbidden,
  },
  { name: 'IPv4 shorthand 127.1 for the listed 127.0.0.1', headers: withOrigin('http://127.1'), expect: originForbidden },
  { name: 'IPv4 in hex for the listed 127.0.0.1', headers: withOrigin('http://0x7f.0.0.1'), expect: originForbidden },
  {
    name: 'listed origin in X-Origin (not read by default)',
    headers: (k) => [...bearer(k.origin), ['X-Origin', 'https://good.com']],
    expect: originForbidden,
  },
  {
    name: 'listed origin in Referer only',
    headers: (k) => [...bearer(k.origin), ['Referer', 'https://good.com/page']],
    expect: originForbidden,
  },
  // --- client addresses (key allows 203.0.113.10, 10.0.0.0/8, 2001:db8::/64); trusted: loopback proxy
  { name: 'no proxy trusted: spoofed X-Forwarded-For is ignored', headers: forwarded('203.0.113.10'), expect: ipForbidden },
  { name: 'no proxy trusted: X-Real-IP is ignored', headers: (k) => [...bearer(k.ip), ['X-Real-IP', '203.0.113.10']], expect: ipForbidden },
  {
    name: 'no proxy trusted: Forwarded is ignored',
    headers: (k) => [...bearer(k.ip), ['Forwarded', 'for=203.0.113.10']],
    expect: ipForbidden,
  },
  { name: 'trusted proxy: listed address (control row)', trusted: true, headers: forwarded('203.0.113.10'), expect: ok },
  { name: 'trusted proxy: address inside the listed /8', trusted: true, headers: forwarded('10.200.3.4'), expect: ok },
  {
    name: 'trusted proxy: IPv4-mapped IPv6 of a listed address (same address by design)',
    trusted: true,
    headers: forwarded('::ffff:203.0.113.10'),
    expect: ok,
  },
  { name: 'trusted proxy: IPv4-mapped in hex form', trusted: true, headers: forwarded('::ffff:cb00:710a'), expect: ok },
  {
    name: 'trusted proxy: IPv4-compatible IPv6 (a different address)',
    trusted: true,
    headers: forwarded('::203.0.113.10'),
    expect: ipForbidden,
  },
  {
    name: 'trusted proxy: NAT64 of a listed address (a different address)',
    trusted: true,
    headers: forwarded('64:ff9b::203.0.113.10'),
    expect: ipForbidden,
  },
  { name: 'trusted proxy: zone id on IPv4', trusted: true, headers: forwarded('203.0.113.10%eth0'), expect: ipForbidden },
  { name: 'trusted proxy: zone id on a listed IPv6', trusted: true, headers: forwarded('2001:db8::5%eth0'), expect: ipForbidden },
  { name: 'trusted proxy: listed IPv6 /64', trusted: true, headers: forwarded('2001:DB8::5'), expect: ok },
  { name: 'trusted proxy: neighbouring /64', trusted: true, headers: forwarded('2001:db8:0:1::5'), expect: ipForbidden },
  { name: 'trusted proxy: leading zeros (octal to some parsers)', trusted: true, headers: forwarded('010.0.0.1'), expect: ipForbidden },
  { name: 'trusted proxy: leading zeros on the listed address', trusted: true, headers: forwarded('203.000.113.010'), expect: ipForbidden },
  { name: 'trusted proxy: out-of-range octet', trusted: true, headers: forwarded('203.0.113.266'), expect: ipForbidden },
  { name: 'trusted proxy: integer form of 10.0.0.1', trusted: true, headers: forwarded('167772161'), expect: ipForbidden },
  { name: 'trusted proxy: shorthand 10.1', trusted: true, headers: forwarded('10.1'), expect: ipForbidden },
  { name: 'trusted proxy: address with a port (proxies append one)', trusted: true, headers: forwarded('203.0.113.10:4711'), expect: ok },
  {
    name: 'trusted proxy: bracketed mapped address with a port',
    trusted: true,
    headers: forwarded('[::ffff:203.0.113.10]:443'),
    expect: ok,
  },
  {
    name: 'trusted proxy: spoofed listed address on the left of the real one',
    trusted: true,
    headers: forwarded('203.0.113.10, 198.51.100.7'),
    expect: ipForbidden,
  },
  {
    name: 'trusted proxy: spoofed address left of a listed client is irrelevant',
    trusted: true,
    headers: forwarded('198.51.100.7, 203.0.113.10'),
    expect: ok,
  },
  {
    name: 'trusted proxy: two X-Forwarded-For lines read as one chain',
    trusted: true,
    headers: forwarded('203.0.113.10', '198.51.100.7'),
    expect: ipForbidden,
  },
  { name: 'trusted proxy: garbage hop', trusted: true, headers: forwarded('unknown'), expect: ipForbidden },
  { name: 'trusted proxy: empty header', trusted: true, headers: forwarded(''), expect: ipForbidden },
  // --- scopes and project ids that differ only in case or encoding
  { name: 'project in another case', headers: (k) => bearer(k.plain), path: '/api/projects/PROD-SITE/data', expect: projectForbidden },
  {
    name: 'project percent-encoded (decoded to the listed id, and served as it)',
    headers: (k) => bearer(k.plain),
    path: '/api/projects/%70rod%2Dsite/data',
    expect: ok,
  },
  { name: 'project double-encoded', headers: (k) => bearer(k.plain), path: '/api/projects/prod%252Dsite/data', expect: projectForbidden },
  {
    name: 'project with a trailing encoded space',
    headers: (k) => bearer(k.plain),
    path: '/api/projects/prod-site%20/data',
    expect: projectForbidden,
  },
  {
    name: 'project with an encoded NUL',
    headers: (k) => bearer(k.plain),
    path: '/api/projects/prod-site%00/data',
    expect: projectForbidden,
  },
  {
    name: 'project with a zero-width space',
    headers: (k) => bearer(k.plain),
    path: '/api/projects/%E2%80%8Bprod-site/data',
    expect: projectForbidden,
  },
  {
    name: 'project in fullwidth letters',
    headers: (k) => bearer(k.plain),
    path: `/api/projects/${encodeURIComponent(FULLWIDTH('prod-site'))}/data`,
    expect: projectForbidden,
  },
  {
    name: 'scope READ is not read (scopes are case-sensitive)',
    headers: (k) => bearer(k.upper),
    expect: { status: 403, code: 'insufficient_scope' },
  },
]

describe.each(ADAPTERS)('hostile input through %s over HTTP', (_name, build) => {
  const store = new RecordingStore()
  let kw: Keyward
  let keys: Keys
  let plainServer: Served
  let trustedServer: Served

  beforeAll(async () => {
    // Lockout off here: the table sends many failures from one address; lockout has its own tests.
    kw = createKeyward({ prefix: 'bsk', store, lockout: false, usageFlushMs: false })
    const mint = async (input: Record<string, unknown> = {}) =>
      (await kw.keys.create({ name: 'Hostile', orgId: 'org_1', projects: ['prod-site'], scopes: ['read'], ...input })).key
    keys = {
      plain: await mint(),
      other: await mint(),
      origin: await mint({ allowedOrigins: ['good.com', 'bücher.example', '127.0.0.1'] }),
      ip: await mint({ allowedIps: ['203.0.113.10', '10.0.0.0/8', '2001:db8::/64'] }),
      upper: await mint({ scopes: ['READ'] }),
    }
    plainServer = await serve(build, kw)
    trustedServer = await serve(build, kw, ['127.0.0.1', '::1'])
  })
  afterAll(async () => {
    await plainServer.close()
    await trustedServer.close()
  })

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const expected = (WEB_HEADERS.has(_name) && c.web) || c.expect
    const path = typeof c.path === 'function' ? c.path(keys) : (c.path ?? PATH)
    const headers = c.headers(keys)
    const before = await store.snapshot()
    const reply = await rawRequest((c.trusted ? trustedServer : plainServer).url, path, headers, 'GET', c.latin1 ? 'latin1' : 'utf8')
    expect(await store.snapshot(), 'nothing written to the store').toEqual(before)
    expect({ status: reply.status, code: 'code' in expected && expected.code !== 'node' ? reply.body.code : undefined }).toEqual({
      status: expected.status,
      code: 'code' in expected && expected.code !== 'node' ? expected.code : undefined,
    })
    if ('project' in expected) expect(reply.body.project, 'the project served is the one authorized').toBe(expected.project)
    if (expected.status !== 200 && 'code' in expected && expected.code !== 'node') {
      expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/)
    }
    for (const secret of Object.values(keys)) {
      expect(reply.text).not.toContain(secret)
      for (const value of Object.values(reply.headers)) expect(value).not.toContain(secret)
    }
  })
})
