/**
 * verify() with JWTs: keyward's own access tokens, through the same pipeline as API keys, and the
 * hostile tokens RFC 8725 warns about. Tokens are forged here with jose so that every header and
 * claim can be chosen; verification-only configurations need no store support.
 */
import { base64url, exportJWK, generateKeyPair } from 'jose'
import { describe, expect, it } from 'vitest'
import { MemoryRateLimiter } from '../../src/index.js'
import { Keyring } from '../../src/jwt/keyring.js'
import { resolveJwtOptions } from '../../src/jwt/jwt-options.js'
import { TokenVerifier } from '../../src/jwt/token-verifier.js'
import { createKeyHasher } from '../../src/keys/hashing.js'
import { createScopeExpander } from '../../src/keys/scopes.js'
import { hmacToken, accessClaims, AUDIENCE, bearer, edKeys, ISSUER, jwtSetup, ok, rawToken, refused, SECRET, sign } from './support.js'

const HS = { alg: 'HS256' as const, secret: SECRET }
const hsKey = new TextEncoder().encode(SECRET)
const AT = { alg: 'HS256', kid: 'default', typ: 'at+jwt' }

/** Verification only (no signing key): any store will do. */
function verifierSetup(extra: Parameters<typeof jwtSetup>[0] = {}, options: Parameters<typeof jwtSetup>[1] = {}) {
  return jwtSetup({ signingKey: undefined, verificationKeys: [HS], ...extra }, options)
}

describe('verify(): keyward access tokens', () => {
  it('accepts a valid token with the same auth shape as a key: type jwt, subject, org, expanded scopes', async () => {
    const { kw, clock } = verifierSetup()
    const token = await sign(accessClaims(clock.now(), { scope: 'write', projects: ['prod-site'] }), AT, hsKey)
    const r = ok(await kw.verify({ headers: bearer(token), ip: '203.0.113.1' }))
    expect(r.auth).toMatchObject({
      type: 'jwt',
      subject: 'user_42',
      org: 'org_1',
      projects: ['prod-site'],
      environment: 'live',
      mfa: false,
      issuer: ISSUER,
      sessionId: 'S'.repeat(22),
    })
    expect(r.auth.scopes).toEqual(['write', 'read'])
    expect(r.auth.keyId).toBeUndefined()
    expect(Object.isFrozen(r.auth)).toBe(true)
    expect(Object.isFrozen(r.auth.claims)).toBe(true)
    expect(JSON.stringify(r)).not.toContain(token)
  })

  it("expands each token's own scopes, frozen, past the expansion memo's 256 lists, and freezes nested claims", async () => {
    const { kw, clock } = verifierSetup({ cache: false })
    const expected = (n: number) => (n % 2 === 0 ? [`s${n}`, 'write', 'read'] : [`s${n}`])
    // 300 distinct lists (the memo clears at 256), then the first ones again.
    for (const n of [...Array.from({ length: 300 }, (_, i) => i), 0, 1, 299]) {
      const scope = n % 2 === 0 ? `s${n} write` : `s${n}`
      const token = await sign(accessClaims(clock.now(), { scope, nested: { list: [{ a: 1 }] } }), AT, hsKey)
      const r = ok(await kw.verify({ headers: bearer(token) }))
      expect(r.auth.scopes).toEqual(expected(n))
      expect(Object.isFrozen(r.auth.scopes)).toBe(true)
      expect(Object.isFrozen((r.auth.claims as { nested: { list: object[] } }).nested.list[0])).toBe(true)
    }
    // The memo names a list by its scopes joined with a space, which no scope holds: ['ab'] is not ['a', 'b'].
    for (const [scope, scopes] of [
      ['a b', ['a', 'b']],
      ['ab', ['ab']],
      ['a', ['a']],
    ] as const) {
      const token = await sign(accessClaims(clock.now(), { scope, jti: crypto.randomUUID() }), AT, hsKey)
      expect(ok(await kw.verify({ headers: bearer(token) })).auth.scopes).toEqual(scopes)
    }
    // Two tokens of one role share the expanded list; its being frozen keeps them apart.
    const [a, b] = await Promise.all(
      [1, 2].map(async () =>
        ok(
          await kw.verify({
            headers: bearer(await sign(accessClaims(clock.now(), { scope: 'admin', jti: crypto.randomUUID() }), AT, hsKey)),
          }),
        ),
      ),
    )
    expect(a!.auth.scopes).toBe(b!.auth.scopes)
    expect(() => (a!.auth.scopes as string[]).push('billing')).toThrow(TypeError)
    expect(b!.auth.scopes).toEqual(['admin', 'write', 'read'])
  })

  it('lets one route accept either an API key or a JWT', async () => {
    const { kw, clock, mint } = verifierSetup()
    const { key } = await mint({ scopes: ['read'] })
    const token = await sign(accessClaims(clock.now()), AT, hsKey)
    for (const credential of [key, token]) ok(await kw.verify({ headers: bearer(credential), scopes: 'read', project: undefined }))
  })

  it('applies scope and project checks as for keys (403 insufficient_scope, 403 project_forbidden)', async () => {
    const { kw, clock } = verifierSetup()
    const token = await sign(accessClaims(clock.now(), { scope: 'read', projects: ['a'] }), AT, hsKey)
    const scope = refused(await kw.verify({ headers: bearer(token), scopes: ['write'] }))
    expect([scope.status, scope.code, scope.headers['www-authenticate']]).toEqual([
      403,
      'insufficient_scope',
      'Bearer realm="api", error="insufficient_scope", scope="write"',
    ])
    const project = refused(await kw.verify({ headers: bearer(token), project: 'b' }))
    expect([project.status, project.code]).toEqual([403, 'project_forbidden'])
    ok(await kw.verify({ headers: bearer(token), project: 'a', scopes: 'read' }))
  })

  it('reads mfa from amr (RFC 8176)', async () => {
    const { kw, clock } = verifierSetup()
    const token = await sign(accessClaims(clock.now(), { amr: ['otp', 'mfa'] }), AT, hsKey)
    expect(ok(await kw.verify({ headers: bearer(token) })).auth.mfa).toBe(true)
  })

  it('refuses an expired token past the clock tolerance, and accepts it within', async () => {
    const { kw, clock } = verifierSetup({ clockTolerance: 30 })
    const token = await sign(accessClaims(clock.now()), AT, hsKey)
    clock.advance(900_000 + 20_000)
    ok(await kw.verify({ headers: bearer(token) }))
    clock.advance(11_000)
    expect(refused(await kw.verify({ headers: bearer(token) })).code).toBe('invalid_token')
  })

  it('never serves a cached token at or past its exp, whatever the tolerance', async () => {
    const { kw, clock } = verifierSetup({ clockTolerance: 0 })
    const token = await sign(accessClaims(clock.now()), AT, hsKey)
    ok(await kw.verify({ headers: bearer(token) }))
    clock.advance(900_000)
    expect(refused(await kw.verify({ headers: bearer(token) })).code).toBe('invalid_token')
  })

  it('counts refused tokens toward the address lockout, like wrong keys', async () => {
    const { kw, clock } = verifierSetup({}, { lockout: { maxFailures: 3, windowMs: 60_000 } })
    const bad = await sign(accessClaims(clock.now(), { iss: 'https://evil.example' }), AT, hsKey)
    for (let i = 0; i < 3; i++) expect(refused(await kw.verify({ headers: bearer(bad), ip: '198.51.100.9' })).code).toBe('invalid_token')
    const good = await sign(accessClaims(clock.now()), AT, hsKey)
    expect(refused(await kw.verify({ headers: bearer(good), ip: '198.51.100.9' })).code).toBe('ip_blocked')
    ok(await kw.verify({ headers: bearer(good), ip: '198.51.100.10' }))
  })

  it('counts the default quota per subject, whichever of their tokens is presented', async () => {
    const { kw, clock } = verifierSetup({}, { defaultRateLimit: { limit: 2, windowMs: 60_000 }, limiter: new MemoryRateLimiter() })
    const one = await sign(accessClaims(clock.now(), { jti: 'A'.repeat(22) }), AT, hsKey)
    const two = await sign(accessClaims(clock.now(), { jti: 'B'.repeat(22) }), AT, hsKey)
    const first = ok(await kw.verify({ headers: bearer(one) }))
    expect(first.headers['ratelimit-policy']).toBe('"default";q=2;w=60')
    ok(await kw.verify({ headers: bearer(two) }))
    expect(refused(await kw.verify({ headers: bearer(one) })).code).toBe('rate_limited')
    const other = await sign(accessClaims(clock.now(), { sub: 'user_43' }), AT, hsKey)
    ok(await kw.verify({ headers: bearer(other) }))
  })

  it('without the jwt option, a JWT is just an invalid token', async () => {
    const { kw, clock } = (await import('../support/setup.js')).setup()
    const token = await sign(accessClaims(clock.now()), AT, hsKey)
    expect(refused(await kw.verify({ headers: bearer(token) })).code).toBe('invalid_token')
  })

  it('accepts tokens of an earlier key kept in verificationKeys, by kid', async () => {
    const old = await edKeys('ed-old')
    const { kw, clock } = verifierSetup({ verificationKeys: [HS, { alg: 'EdDSA', kid: 'ed-old', publicKey: old.publicJwk }] })
    const token = await sign(accessClaims(clock.now()), { alg: 'EdDSA', kid: 'ed-old', typ: 'at+jwt' }, old.privateKey)
    ok(await kw.verify({ headers: bearer(token) }))
  })
})

describe('verify(): hostile tokens (RFC 8725)', () => {
  const cases: Array<[string, (now: number) => Promise<string> | string]> = [
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, (now: number) => string] => [
      `alg ${alg}, no signature`,
      (now) => rawToken({ alg, typ: 'at+jwt', kid: 'default' }, accessClaims(now)),
    ]),
    ['alg none with a signature', (now) => rawToken({ alg: 'none', typ: 'at+jwt', kid: 'default' }, accessClaims(now), 'c2ln')],
    ['stripped signature', async (now) => (await sign(accessClaims(now), AT, hsKey)).split('.').slice(0, 2).join('.') + '.'],
    [
      'signature of another token',
      async (now) => {
        const a = await sign(accessClaims(now), AT, hsKey)
        const b = await sign(accessClaims(now, { sub: 'admin' }), AT, hsKey)
        return `${b.split('.').slice(0, 2).join('.')}.${a.split('.')[2]}`
      },
    ],
    ['wrong secret', (now) => sign(accessClaims(now), AT, new TextEncoder().encode('another-secret-of-at-least-32-bytes!'))],
    ['missing exp', (now) => sign({ ...accessClaims(now), exp: undefined }, AT, hsKey)],
    ['non-numeric exp', (now) => sign({ ...accessClaims(now), exp: '99999999999' as never }, AT, hsKey)],
    ['future nbf', (now) => sign(accessClaims(now, { nbf: Math.floor(now / 1000) + 600 }), AT, hsKey)],
    ['wrong iss', (now) => sign(accessClaims(now, { iss: 'https://evil.example' }), AT, hsKey)],
    ['no iss', (now) => sign({ ...accessClaims(now), iss: undefined }, AT, hsKey)],
    ['wrong aud', (now) => sign(accessClaims(now, { aud: 'another-api' }), AT, hsKey)],
    ['no sub', (now) => sign({ ...accessClaims(now), sub: undefined }, AT, hsKey)],
    ['no org', (now) => sign({ ...accessClaims(now), org_id: undefined }, AT, hsKey)],
    ['refresh token used as an access token', (now) => sign(accessClaims(now), { ...AT, typ: 'refresh+jwt' }, hsKey)],
    ['pending-2FA token used as an access token', (now) => sign(accessClaims(now), { ...AT, typ: 'mfa-pending+jwt' }, hsKey)],
    ['no typ', (now) => sign(accessClaims(now), { alg: 'HS256', kid: 'default' }, hsKey)],
    ['unknown kid', (now) => sign(accessClaims(now), { ...AT, kid: 'other' }, hsKey)],
    ['no kid', (now) => sign(accessClaims(now), { alg: 'HS256', typ: 'at+jwt' }, hsKey)],
    ['kid __proto__', (now) => sign(accessClaims(now), { ...AT, kid: '__proto__' }, hsKey)],
    ['kid path traversal', (now) => sign(accessClaims(now), { ...AT, kid: '../../../../dev/null' }, hsKey)],
    ['kid SQL', (now) => sign(accessClaims(now), { ...AT, kid: "' OR '1'='1" }, hsKey)],
    ['kid not a string', (now) => sign(accessClaims(now), { ...AT, kid: { default: true } }, hsKey)],
    [
      'embedded jwk header (attacker key)',
      async (now) => {
        const attacker = await generateKeyPair('ES256', { extractable: true })
        return sign(
          accessClaims(now),
          { alg: 'ES256', typ: 'at+jwt', kid: 'default', jwk: await exportJWK(attacker.publicKey) },
          attacker.privateKey,
        )
      },
    ],
    ['jku header', (now) => sign(accessClaims(now), { ...AT, jku: 'https://evil.example/jwks.json' }, hsKey)],
    ['x5u header', (now) => sign(accessClaims(now), { ...AT, x5u: 'https://evil.example/cert.pem' }, hsKey)],
    ['unknown crit extension', (now) => hmacToken({ ...AT, crit: ['exp-ext'], 'exp-ext': 1 }, accessClaims(now), hsKey)],
    ['header is not JSON', () => `eyJ${base64url.encode('not json').slice(3)}.e30.c2ln`],
    ['payload is not JSON', () => `${base64url.encode(JSON.stringify(AT))}.${base64url.encode('{"sub":')}.c2ln`],
    ['payload is an array', () => `${base64url.encode(JSON.stringify(AT))}.${base64url.encode('[1]')}.c2ln`],
    ['four segments', async (now) => `${await sign(accessClaims(now), AT, hsKey)}.x`],
  ]

  it.each(cases)('%s: 401 invalid_token', async (_, make) => {
    const { kw, clock, store } = verifierSetup()
    const before = await store.listByOrg('org_1', { includeRevoked: true })
    const error = refused(await kw.verify({ headers: bearer(await make(clock.now())), ip: '203.0.113.7' }))
    expect([error.status, error.code, error.message]).toEqual([401, 'invalid_token', 'Invalid API token'])
    expect(await store.listByOrg('org_1', { includeRevoked: true })).toEqual(before)
  })

  it('HS256 signed with the public key of an EdDSA configuration: refused (algorithm allow-list)', async () => {
    const ed = await edKeys()
    const { kw, clock } = verifierSetup({ verificationKeys: [{ alg: 'EdDSA', kid: ed.kid, publicKey: ed.publicJwk }] })
    const asSecret = new TextEncoder().encode(JSON.stringify(ed.publicJwk))
    const forged = await sign(accessClaims(clock.now()), { alg: 'HS256', typ: 'at+jwt', kid: ed.kid }, asSecret)
    expect(refused(await kw.verify({ headers: bearer(forged) })).code).toBe('invalid_token')
    // The raw x coordinate as the secret, the other classic confusion.
    const forged2 = await sign(accessClaims(clock.now()), { alg: 'HS256', typ: 'at+jwt', kid: ed.kid }, base64url.decode(ed.publicJwk.x!))
    expect(refused(await kw.verify({ headers: bearer(forged2) })).code).toBe('invalid_token')
    ok(
      await kw.verify({
        headers: bearer(await sign(accessClaims(clock.now()), { alg: 'EdDSA', typ: 'at+jwt', kid: ed.kid }, ed.privateKey)),
      }),
    )
  })

  it('an oversized token is a 400 before any verification', async () => {
    const { kw, clock } = verifierSetup()
    const big = await sign(accessClaims(clock.now(), { pad: 'x'.repeat(9000) }), AT, hsKey)
    const error = refused(await kw.verify({ headers: bearer(big) }))
    expect([error.status, error.code]).toEqual([400, 'invalid_request'])
  })
})

describe('the verified-token cache', () => {
  function counted(cache?: { max: number }) {
    const config = resolveJwtOptions({ issuer: ISSUER, audience: AUDIENCE, verificationKeys: [HS], ...(cache ? { cache } : {}) })
    const keyring = new Keyring(config)
    // One key lookup per signature check: keyForHeader is asked first on every check (getKey only
    // when it has no answer yet), so its calls count the checks.
    let lookups = 0
    const spy = Object.assign(Object.create(keyring) as Keyring, {
      algorithms: keyring.algorithms,
      getKey: keyring.getKey,
      keyForHeader: (encoded: string) => {
        lookups++
        return keyring.keyForHeader(encoded)
      },
    })
    const verifier = new TokenVerifier(config, spy, {
      hash: createKeyHasher(),
      expandScopes: createScopeExpander(),
      environment: 'live',
      rules: [],
      now: () => 0,
    }) // a clock of its own: jose is handed each call's time
    return { verifier, lookups: () => lookups }
  }

  it('checks a repeated token once, and a different token again', async () => {
    const { verifier, lookups } = counted()
    const now = Date.UTC(2026, 10, 22)
    const token = await sign(accessClaims(now), AT, hsKey)
    const first = await verifier.verifyAccess(token, now)
    expect(first?.auth.subject).toBe('user_42')
    expect(await verifier.verifyAccess(token, now + 1000)).toBe(first)
    expect(lookups()).toBe(1)
    await verifier.verifyAccess(await sign(accessClaims(now, { sub: 'user_43' }), AT, hsKey), now)
    expect(lookups()).toBe(2)
  })

  it('a cached signature under other claims is no hit: the signed part must be the same', async () => {
    const { verifier, lookups } = counted()
    const now = Date.UTC(2026, 10, 22)
    const token = await sign(accessClaims(now), AT, hsKey)
    expect(await verifier.verifyAccess(token, now)).not.toBeNull()
    const other = await sign(accessClaims(now, { sub: 'admin', scope: 'admin' }), AT, hsKey)
    const grafted = `${other.slice(0, other.lastIndexOf('.'))}${token.slice(token.lastIndexOf('.'))}`
    expect(await verifier.verifyAccess(grafted, now)).toBeNull()
    expect(lookups()).toBe(2)
    expect((await verifier.verifyAccess(token, now))?.auth.subject).toBe('user_42')
    expect(lookups()).toBe(2)
  })

  it('does not cache a refused token, and drops an entry at exp', async () => {
    const { verifier, lookups } = counted()
    const now = Date.UTC(2026, 10, 22)
    const bad = await sign(accessClaims(now, { aud: 'x' }), AT, hsKey)
    expect(await verifier.verifyAccess(bad, now)).toBeNull()
    expect(await verifier.verifyAccess(bad, now)).toBeNull()
    expect(lookups()).toBe(2)
    const token = await sign(accessClaims(now), AT, hsKey)
    await verifier.verifyAccess(token, now)
    await verifier.verifyAccess(token, now + 899_999)
    expect(lookups()).toBe(3)
    // At exp the entry is not served: the token is checked again (jose's 5 s tolerance still passes it).
    expect(await verifier.verifyAccess(token, now + 900_000)).not.toBeNull()
    expect(lookups()).toBe(4)
    expect(await verifier.verifyAccess(token, now + 905_001)).toBeNull()
  })

  it('is bounded by cache.max: the least recently used token is checked again', async () => {
    const { verifier, lookups } = counted({ max: 2 })
    const now = Date.UTC(2026, 10, 22)
    const tokens = await Promise.all([0, 1, 2].map((i) => sign(accessClaims(now, { sub: `u${i}` }), AT, hsKey)))
    for (const t of tokens) await verifier.verifyAccess(t, now)
    await verifier.verifyAccess(tokens[2]!, now)
    expect(lookups()).toBe(3)
    await verifier.verifyAccess(tokens[0]!, now)
    expect(lookups()).toBe(4)
  })
})

describe('Keyring.keyForHeader: the key itself for a header getKey would accept', () => {
  const encode = (header: object) => base64url.encode(JSON.stringify(header))

  it('answers only once the key is loaded, and only for its own kid and alg without an embedded key', async () => {
    const keyring = new Keyring(resolveJwtOptions({ issuer: ISSUER, audience: AUDIENCE, verificationKeys: [HS] }))
    const own = encode(AT)
    expect(keyring.keyForHeader(own)).toBeUndefined()
    const loaded = await keyring.getKey({ alg: 'HS256', kid: 'default' }, { payload: '', signature: '' })
    expect(keyring.keyForHeader(own)).toBe(loaded)
    expect(keyring.keyForHeader(own)).toBe(loaded)
    // What getKey refuses gets no key here either (jose then asks getKey, which says why).
    for (const header of [
      { alg: 'EdDSA', kid: 'default', typ: 'at+jwt' },
      { alg: 'HS256', kid: 'other', typ: 'at+jwt' },
      { alg: 'HS256', typ: 'at+jwt' },
      { alg: 'HS256', kid: 'default', jwk: { kty: 'oct', k: 'AAAA' } },
      { alg: 'HS256', kid: 'default', jku: 'https://evil.example/jwks.json' },
    ])
      expect(keyring.keyForHeader(encode(header))).toBeUndefined()
    expect(keyring.keyForHeader('not base64 json!')).toBeUndefined()
    expect(keyring.keyForHeader(base64url.encode('[1,2]'))).toBeUndefined()
    // Many headers of the same key, each with an extra member: every one still answered right.
    for (let i = 0; i < 100; i++) expect(keyring.keyForHeader(encode({ ...AT, n: i }))).toBe(loaded)
    expect(keyring.keyForHeader(encode({ alg: 'HS256', kid: 'other', n: 1 }))).toBeUndefined()
  })

  it('a remembered header never vouches for a signature: a forged token under it is refused', async () => {
    const { kw, clock } = verifierSetup()
    const good = await sign(accessClaims(clock.now()), AT, hsKey)
    ok(await kw.verify({ headers: bearer(good) }))
    const forged = await sign(
      accessClaims(clock.now(), { sub: 'admin' }),
      AT,
      new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'),
    )
    expect(forged.slice(0, forged.indexOf('.'))).toBe(good.slice(0, good.indexOf('.')))
    expect(refused(await kw.verify({ headers: bearer(forged) })).code).toBe('invalid_token')
  })
})
