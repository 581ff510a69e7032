/**
 * Property-based fuzzing of every parser an attacker reaches (credential extraction, URL
 * credentials, key parsing, Origin, IP and CIDR, forwarded chains) and of verify() as a whole.
 * Runs are bounded (numRuns below) so the suite stays fast; fast-check prints the seed and the
 * shrunk counterexample of any failure, which replays it exactly.
 */
import fc from 'fast-check'
import { generateKeyPair } from 'jose'
import { describe, expect, it } from 'vitest'
import { createClientIpResolver, createKeyward, KeywardError } from 'keyward'
import { extractCredential, urlHasCredential } from '../../src/http/credentials.js'
import { formatAddress, ipInNetwork, lockoutBucket, parseCidr, parseIp } from '../../src/http/ip.js'
import { originAllowed, originHostname } from '../../src/http/origin.js'
import { parseKey } from '../../src/keys/format.js'
import { RecordingStore } from './support/recording-store.js'
import { CPU_BOUND } from '../support/budget.js'

const NAMES = ['authorization', 'x-api-key', 'api-key', 'origin', 'x-forwarded-for', 'cookie']
/** Fragments attackers combine: schemes, separators, look-alikes, controls, escapes. */
const FRAGMENTS = [
  'https://',
  'http://',
  '//',
  'good',
  'evil',
  '.com',
  '.',
  '@',
  ':',
  '443',
  '/',
  '\\',
  '%2e',
  '%00',
  ' ',
  '\t',
  '\n',
  'null',
  ',',
  '[',
  ']',
  '::',
  'ffff',
  'xn--',
  '0x7f',
  '127',
  '1',
  '0',
  '255',
  '256',
  'Ｇ',
  'ｏ',
  'о',
  '\u200b',
  'Bearer ',
  'bsk_live_',
  'bsk_test_',
  '=',
  '_',
  'A',
]
const fragments = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 12 }).map((parts) => parts.join(''))
const anyText = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), fragments)
const headerValue = fc.oneof(anyText, fc.array(anyText, { minLength: 1, maxLength: 3 }))

const RUNS = { numRuns: 1500 }

describe('fuzz: credential extraction', () => {
  it('never throws; a credential it returns is one header value, trimmed, in token syntax', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...NAMES), headerValue, { maxKeys: 4 }), (headers) => {
        const result = extractCredential(headers)
        if (result instanceof KeywardError) {
          expect(['missing_credentials', 'invalid_request']).toContain(result.code)
          return
        }
        expect(result).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/)
        expect(result.length).toBeLessThanOrEqual(8192)
        const values = Object.values(headers).flat()
        expect(values.some((v) => v.includes(result))).toBe(true)
      }),
      RUNS,
    )
  })

  it('urlHasCredential never throws, and always sees api_key=<anything>', CPU_BOUND, () => {
    fc.assert(
      fc.property(anyText, anyText, fc.string({ minLength: 1, maxLength: 20 }), (path, noise, value) => {
        urlHasCredential(`${path}?${noise}`, ['bsk'])
        expect(urlHasCredential(`/p?${encodeURIComponent(noise)}=1&api_key=${encodeURIComponent(value)}`, ['bsk'])).toBe(true)
      }),
      RUNS,
    )
  })
})

describe('fuzz: key parsing', () => {
  const kw = createKeyward({ prefix: 'bsk', usageFlushMs: false })
  let key = ''
  const ready = kw.keys.create({ name: 'fuzz', orgId: 'o', projects: ['p'] }).then((created) => (key = created.key))

  it('never throws on any string', CPU_BOUND, () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const parsed = parseKey(text, ['bsk'])
        if (parsed !== null) expect(text.startsWith(`bsk_${parsed.environment}_${parsed.keyId}`)).toBe(true)
      }),
      RUNS,
    )
  })

  it('refuses every single-character change of a valid key (the checksum catches all of them)', CPU_BOUND, async () => {
    await ready
    expect(parseKey(key, ['bsk'])).not.toBeNull()
    fc.assert(
      fc.property(fc.nat({ max: key.length - 1 }), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }), (index, char) => {
        fc.pre(key[index] !== char)
        expect(parseKey(key.slice(0, index) + char + key.slice(index + 1), ['bsk'])).toBeNull()
      }),
      RUNS,
    )
  })
})

describe('fuzz: Origin', () => {
  it('never throws, and only an origin whose host is written as listed is allowed', CPU_BOUND, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fragments.map((f) => `https://${f}`),
          fc.webUrl(),
        ),
        (value) => {
          const host = originHostname(value)
          if (host !== null) expect(host).not.toMatch(/[\s@/\\%]/)
          if (originAllowed(value, ['good.com', '127.0.0.1'])) {
            // Case-insensitive, port ignored; nothing else: no user-info, suffix, shorthand or path.
            expect(value).toMatch(/^https?:\/\/(good\.com|127\.0\.0\.1)(:\d*)?$/i)
          }
        },
      ),
      { numRuns: 3000 },
    )
  })
})

describe('fuzz: IP addresses, CIDR and forwarded chains', () => {
  const ipLike = fc.oneof(
    anyText,
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4Extended(),
    fragments,
    fc.tuple(fc.ipV6(), anyText).map(([a, z]) => `${a}%${z}`),
  )

  it('parseIp never throws; what it accepts formats back to the same address', CPU_BOUND, () => {
    fc.assert(
      fc.property(ipLike, (text) => {
        const address = parseIp(text)
        if (address === null) return
        const again = parseIp(formatAddress(address))
        expect(again).toEqual(address)
        // Strict IPv4: four plain decimal octets, or the IPv6 forms that hold one.
        if (!text.includes(':')) expect(text).toMatch(/^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/)
        expect(text).not.toContain('%')
        expect(lockoutBucket(text)).not.toBeNull()
      }),
      RUNS,
    )
  })

  it('parseCidr never throws; a network contains its own address and no address of the other family', CPU_BOUND, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          ipLike,
          fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.nat({ max: 140 })).map(([a, n]) => `${a}/${n}`),
        ),
        ipLike,
        (text, probe) => {
          const network = parseCidr(text)
          if (network === null) return
          expect(ipInNetwork(network, network)).toBe(true)
          const address = parseIp(probe)
          if (address !== null && address.version !== network.version) expect(ipInNetwork(address, network)).toBe(false)
        },
      ),
      RUNS,
    )
  })

  it('a forwarded chain resolves to undefined or a valid address, never to something unparsed', CPU_BOUND, () => {
    const resolvers = [createClientIpResolver(['127.0.0.1']), createClientIpResolver(2), createClientIpResolver()]
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.constant('127.0.0.1')),
        fc.oneof(
          fc.array(ipLike, { maxLength: 5 }).map((l) => l.join(', ')),
          headerValue,
        ),
        (socket, xff) => {
          for (const resolve of resolvers) {
            const client = resolve(socket, xff)
            if (client !== undefined) expect(parseIp(client)).not.toBeNull()
          }
          // No proxy trusted: the header is never read.
          expect(resolvers[2]!(socket, xff)).toBe(socket)
        },
      ),
      RUNS,
    )
  })
})

describe('fuzz: verify() as a whole', () => {
  it('never throws, never answers 5xx without a fault, never authenticates without a valid key used as allowed', CPU_BOUND, async () => {
    const store = new RecordingStore()
    const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, lockout: { maxFailures: 50, windowMs: 60_000 } })
    const mint = async (input: Record<string, unknown> = {}) =>
      (await kw.keys.create({ name: 'fuzz', orgId: 'org_1', projects: ['prod-site'], scopes: ['read'], ...input })).key
    const plain = await mint()
    const origin = await mint({ allowedOrigins: ['good.com'] })
    const ip = await mint({ allowedIps: ['203.0.113.0/24'] })
    const revoked = await mint()
    await kw.keys.revoke(revoked.slice(9, 17))
    const valid = [plain, origin, ip]
    const mutate = (key: string) =>
      fc
        .tuple(fc.nat({ max: key.length - 1 }), fc.constantFrom('A', 'z', '0', '_', ' ', 'é', ''))
        .map(([i, c]) => key.slice(0, i) + c + key.slice(i + 1))
    const credential = fc.oneof(
      fc.constantFrom(...valid, revoked),
      mutate(plain),
      mutate(origin),
      anyText,
      fc.constant(plain.replace('_live_', '_test_')),
    )
    const carrier = fc.constantFrom('authorization', 'x-api-key', 'api-key')
    const request = fc.record({
      name: carrier,
      credential,
      scheme: fc.constantFrom('Bearer ', 'bearer  ', 'Basic ', '', 'Bearer'),
      second: fc.option(fc.tuple(carrier, credential), { nil: undefined }),
      origin: fc.option(fc.oneof(fc.constantFrom('https://good.com', 'https://good.com.evil.com', 'null', 'http://GOOD.com:81'), anyText), {
        nil: undefined,
      }),
      ip: fc.option(fc.oneof(fc.constantFrom('203.0.113.9', '::ffff:203.0.113.9', '198.51.100.1'), fc.ipV4(), fc.ipV6(), anyText), {
        nil: undefined,
      }),
      project: fc.option(fc.constantFrom('prod-site', 'PROD-SITE', 'other', ''), { nil: undefined }),
      scopes: fc.option(fc.constantFrom<string[]>(['read'], ['write'], ['READ'], []), { nil: undefined }),
      url: fc.option(
        fc.oneof(
          anyText.map((t) => `/x?${t}`),
          fc.constant('/x?page=1'),
        ),
        { nil: undefined },
      ),
    })
    const before = await store.snapshot()
    const seen = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {}
        headers[r.name] = r.name === 'authorization' ? `${r.scheme}${r.credential}` : r.credential
        if (r.second !== undefined) headers[r.second[0]] = r.second[0] === 'authorization' ? `Bearer ${r.second[1]}` : r.second[1]
        if (r.origin !== undefined) headers.origin = r.origin
        const result = await kw.verify({ headers, ip: r.ip, project: r.project, scopes: r.scopes, url: r.url })
        const outcome = result.ok ? 'ok' : result.error.code
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1)
        if (!result.ok) {
          expect(result.error.status).toBeLessThan(500)
          return
        }
        // Authenticated: then the one credential presented is a live key, used where it may be.
        const presented = extractCredential(headers)
        expect(valid).toContain(presented)
        expect(result.auth.keyId).toBe((presented as string).slice(9, 17))
        if (r.project !== undefined) expect(r.project).toBe('prod-site')
        if (r.scopes !== undefined) expect(r.scopes.every((s) => s === 'read')).toBe(true)
        if (presented === origin) expect(r.origin).toMatch(/^https?:\/\/good\.com(:\d*)?$/i)
        if (presented === ip)
          expect(r.ip === '203.0.113.9' || r.ip === '::ffff:203.0.113.9' || /^203\.0\.113\.\d+$/.test(r.ip ?? '')).toBe(true)
      }),
      { numRuns: 1500 },
    )
    expect(await store.snapshot(), 'nothing written to the store').toEqual(before)
    // The generator reaches both sides of the property (a fuzz that never authenticates proves little).
    expect(seen.get('ok') ?? 0).toBeGreaterThan(0)
    expect(seen.get('invalid_token') ?? 0).toBeGreaterThan(0)
  })
})

describe('fuzz: JWT-shaped credentials', () => {
  const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
  const header = fc.record(
    {
      alg: fc.constantFrom('none', 'None', 'NONE', 'nOnE', 'HS256', 'RS256', 'ES256', 'EdDSA', '', 'HS512'),
      typ: fc.constantFrom('JWT', 'at+jwt', 'refresh', 'x'),
      kid: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('../../etc/passwd', "' OR 1=1 --", 'a'.repeat(500))),
      jku: fc.constant('https://evil.example/jwks.json'),
      jwk: fc.constant({ kty: 'oct', k: 'c2VjcmV0' }),
    },
    { requiredKeys: ['alg'] },
  )
  const payload = fc.record(
    {
      sub: fc.string({ maxLength: 20 }),
      exp: fc.oneof(fc.integer(), fc.constant('9999999999'), fc.double()),
      nbf: fc.integer(),
      iss: fc.string({ maxLength: 20 }),
      aud: fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 10 }))),
      org: fc.string({ maxLength: 10 }),
      scope: fc.constantFrom('read', 'write admin', ''),
    },
    { requiredKeys: [] },
  )
  const token = fc.tuple(
    fc.oneof(header.map(b64url), anyText.map(b64url)),
    fc.oneof(payload.map(b64url), anyText.map(b64url)),
    fc.oneof(
      fc.constant(''),
      fc.base64String({ maxLength: 86 }).map((s) => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')),
    ),
  )

  /** A keyward that signs and accepts JWTs with an EdDSA key of its own (kid k1). */
  const withJwt = async () => {
    const own = await generateKeyPair('EdDSA')
    return createKeyward({
      prefix: 'bsk',
      usageFlushMs: false,
      lockout: false,
      cache: false,
      jwt: {
        issuer: 'https://api.keyward.test',
        audience: 'keyward-api',
        signingKey: { alg: 'EdDSA', kid: 'k1', privateKey: own.privateKey, publicKey: own.publicKey },
      },
    })
  }

  it('never authenticate, never throw, never 5xx (no key of this server signed them)', CPU_BOUND, async () => {
    const kw = await withJwt()
    await fc.assert(
      fc.asyncProperty(token, fc.constantFrom('authorization', 'x-api-key'), async ([h, p, sig], name) => {
        const jwt = `${h}.${p}.${sig}`
        const result = await kw.verify({ headers: { [name]: name === 'authorization' ? `Bearer ${jwt}` : jwt } })
        expect(result.ok).toBe(false)
        if (!result.ok) expect(result.error.status).toBeLessThan(500)
      }),
      { numRuns: 1000 },
    )
  })

  it('a valid token changed anywhere never authenticates, unless it still decodes to the very same bytes', CPU_BOUND, async () => {
    const kw = await withJwt()
    const { accessToken } = await kw.tokens.issue({ subject: 'user_1', org: 'org_1', scopes: ['read'] })
    const bytes = (token: string) => token.split('.').map((part) => Buffer.from(part, 'base64url').toString('hex'))
    expect((await kw.verify({ headers: { authorization: `Bearer ${accessToken}` } })).ok).toBe(true)
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: accessToken.length - 1 }),
        fc.constantFrom(...'AZaz09-_.=+/ '.split(''), 'é', ''),
        async (index, char) => {
          fc.pre(accessToken[index] !== char)
          const changed = accessToken.slice(0, index) + char + accessToken.slice(index + 1)
          const result = await kw.verify({ headers: { authorization: `Bearer ${changed}` } })
          if (!result.ok) {
            expect(result.error.status).toBeLessThan(500)
            return
          }
          // Only a change base64url decoding ignores (the unused low bits of a last character) may pass.
          expect(bytes(changed)).toEqual(bytes(accessToken))
        },
      ),
      { numRuns: 600 },
    )
  })
})
