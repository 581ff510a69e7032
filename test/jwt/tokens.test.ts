/**
 * kw.tokens: issuing, refresh rotation with reuse detection, logout, JWKS publication, and
 * two-factor logins (TOTP), on the memory store and limiter with a manual clock.
 */
import { createLocalJWKSet, generateKeyPair, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { createKeyward, isKeywardError, KeywardError, MemoryRateLimiter, MfaRequiredError, totp } from '../../src/index.js'
import { setup } from '../support/setup.js'
import { AUDIENCE, bearer, claimsOf, edKeys, headerOf, ISSUER, jwtSetup, ok, refused } from './support.js'

async function rejection(promise: Promise<unknown>): Promise<KeywardError> {
  try {
    await promise
  } catch (error) {
    if (isKeywardError(error)) return error
    throw error
  }
  return expect.fail('expected a KeywardError')
}

describe('kw.tokens.issue', () => {
  it('issues a 15-minute access token and a 7-day refresh token, typed and signed with a kid', async () => {
    const { kw, clock } = jwtSetup()
    const pair = await kw.tokens.issue({ subject: 'user_42', org: 'org_1', scopes: ['write'], projects: ['prod-site'] })
    expect(pair).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshExpiresIn: 604_800 })
    const access = claimsOf(pair.accessToken)
    const refresh = claimsOf(pair.refreshToken)
    const now = Math.floor(clock.now() / 1000)
    expect(access).toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user_42',
      org_id: 'org_1',
      scope: 'write',
      projects: ['prod-site'],
      sid: pair.sessionId,
      iat: now,
      exp: now + 900,
    })
    expect(refresh).toMatchObject({ iss: ISSUER, aud: ISSUER, sub: 'user_42', sid: pair.sessionId, exp: now + 604_800 })
    expect(access.amr).toBeUndefined()
    expect(headerOf(pair.accessToken)).toEqual({ alg: 'HS256', kid: 'default', typ: 'at+jwt' })
    expect(headerOf(pair.refreshToken)).toEqual({ alg: 'HS256', kid: 'default', typ: 'refresh+jwt' })
    expect(access.jti).not.toBe(refresh.jti)
    const r = ok(await kw.verify({ headers: bearer(pair.accessToken), scopes: 'read', project: 'prod-site' }))
    expect(r.auth).toMatchObject({ type: 'jwt', subject: 'user_42', org: 'org_1', sessionId: pair.sessionId, mfa: false })
  })

  it('lifetimes are configurable', async () => {
    const { kw, clock } = jwtSetup({ accessTokenTtl: 60, refreshTokenTtl: 3600 })
    const pair = await kw.tokens.issue({ subject: 'u', org: 'o' })
    expect([pair.expiresIn, pair.refreshExpiresIn]).toEqual([60, 3600])
    clock.advance(61_000 + 5_000)
    expect(refused(await kw.verify({ headers: bearer(pair.accessToken) })).code).toBe('invalid_token')
  })

  it('refuses bad input naming every bad field, and stores nothing', async () => {
    const { kw, store } = jwtSetup()
    const error = await rejection(
      kw.tokens.issue({ subject: '', org: 7 as never, scopes: ['ok', 'bad scope'], mfa: 'yes' as never, extra: 1 } as never),
    )
    expect(error.code).toBe('validation_failed')
    expect(error.errors?.map((e) => e.field).sort()).toEqual(['extra', 'mfa', 'org', 'scopes[1]', 'subject'])
    expect(await store.findRefreshFamily?.('x')).toBeNull()
  })

  it('signs with EdDSA and a kid, and publishes only the public key in jwks()', async () => {
    const ed = await edKeys('2026-11')
    const old = await edKeys('2026-10')
    const { kw } = jwtSetup({
      signingKey: { alg: 'EdDSA', kid: ed.kid, privateKey: ed.privateJwk },
      verificationKeys: [{ alg: 'EdDSA', kid: old.kid, publicKey: old.publicJwk }],
    })
    const pair = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    expect(headerOf(pair.accessToken)).toMatchObject({ alg: 'EdDSA', kid: '2026-11' })
    ok(await kw.verify({ headers: bearer(pair.accessToken) }))
    await kw.tokens.refresh(pair.refreshToken)
    const published = await kw.tokens.jwks()
    expect(published.keys.map((k) => k.kid)).toEqual(['2026-11', '2026-10'])
    for (const key of published.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
      expect(key).not.toHaveProperty('d')
    }
    // Another service verifies keyward's tokens with the published set alone.
    const { payload } = await jwtVerify(pair.accessToken, createLocalJWKSet(published), {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      currentDate: new Date(claimsOf(pair.accessToken).iat! * 1000),
    })
    expect(payload.sub).toBe('user_42')
  })

  it.each(['EdDSA', 'ES256'] as const)('signs with a %s CryptoKey: extractable, or non-extractable with its publicKey', async (alg) => {
    const extractable = await generateKeyPair(alg, { extractable: true })
    const a = jwtSetup({ signingKey: { alg, kid: 'k1', privateKey: extractable.privateKey } })
    ok(await a.kw.verify({ headers: bearer((await a.kw.tokens.issue({ subject: 'u', org: 'o' })).accessToken) }))
    expect((await a.kw.tokens.jwks()).keys[0]).not.toHaveProperty('d')
    const sealed = await generateKeyPair(alg, { extractable: false })
    const b = jwtSetup({ signingKey: { alg, kid: 'k1', privateKey: sealed.privateKey, publicKey: sealed.publicKey } })
    ok(await b.kw.verify({ headers: bearer((await b.kw.tokens.issue({ subject: 'u', org: 'o' })).accessToken) }))
    expect(() => jwtSetup({ signingKey: { alg, kid: 'k1', privateKey: sealed.privateKey } })).toThrow(/publicKey is required/)
  })

  it('publishes no key for HS256: the secret never leaves', async () => {
    const { kw } = jwtSetup()
    expect(await kw.tokens.jwks()).toEqual({ keys: [] })
  })

  it('kw.tokens without the jwt option, or without a signing key, says what is missing', async () => {
    const { kw } = setup()
    await expect(kw.tokens.issue({ subject: 'u', org: 'o' })).rejects.toThrow(/needs the jwt option/)
    const verifyOnly = createKeyward({
      prefix: 'bsk',
      jwt: { issuer: ISSUER, audience: AUDIENCE, verificationKeys: [{ alg: 'HS256', secret: 'x'.repeat(32) }] },
    })
    await expect(verifyOnly.tokens.issue({ subject: 'u', org: 'o' })).rejects.toThrow(/needs jwt.signingKey/)
  })

  it('refuses weak or inconsistent configurations at start-up', () => {
    const base = { issuer: ISSUER, audience: AUDIENCE }
    for (const jwt of [
      { ...base, signingKey: { alg: 'HS256', secret: 'short' } },
      { ...base, signingKey: { alg: 'RS256', secret: 'x'.repeat(32) } },
      { ...base, signingKey: { alg: 'EdDSA', privateKey: { kty: 'OKP', crv: 'Ed25519', x: 'AA' } } },
      { ...base, signingKey: { alg: 'EdDSA', kid: 'k', privateKey: { kty: 'OKP', crv: 'Ed25519', x: 'AA' } } },
      { ...base, clockTolerance: 120 },
      { ...base, accessTokenTtl: 900, refreshTokenTtl: 600 },
      { ...base, audience: '' },
      { ...base, unknown: true },
    ]) {
      expect(() => createKeyward({ prefix: 'bsk', jwt: jwt as never })).toThrow(TypeError)
    }
  })
})

describe('kw.tokens.refresh: rotation and reuse detection', () => {
  it('returns a new pair for the same session and retires the old refresh token', async () => {
    const { kw, clock } = jwtSetup()
    const first = await kw.tokens.issue({ subject: 'user_42', org: 'org_1', scopes: ['read'] })
    clock.advance(60_000)
    const second = await kw.tokens.refresh(first.refreshToken)
    expect(second.sessionId).toBe(first.sessionId)
    expect(second.refreshToken).not.toBe(first.refreshToken)
    expect(claimsOf(second.accessToken)).toMatchObject({ sub: 'user_42', org_id: 'org_1', scope: 'read' })
    ok(await kw.verify({ headers: bearer(second.accessToken) }))
    const third = await kw.tokens.refresh(second.refreshToken)
    expect(third.sessionId).toBe(first.sessionId)
  })

  it('a retired refresh token presented again is refused and revokes the whole session', async () => {
    const { kw } = jwtSetup()
    const first = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    const second = await kw.tokens.refresh(first.refreshToken)
    const reuse = await rejection(kw.tokens.refresh(first.refreshToken))
    expect([reuse.status, reuse.code]).toEqual([401, 'invalid_token'])
    // The thief or the user: whoever holds the newer token is logged out as well.
    expect((await rejection(kw.tokens.refresh(second.refreshToken))).code).toBe('invalid_token')
  })

  it('two concurrent refreshes of one token: exactly one succeeds', async () => {
    const { kw } = jwtSetup()
    const first = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => kw.tokens.refresh(first.refreshToken)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect((r.reason as KeywardError).code).toBe('invalid_token')
  })

  it('refuses an access token, a pending token, a forged or expired refresh token', async () => {
    const { kw, clock } = jwtSetup()
    const pair = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    const pending = (
      (await rejection(kw.tokens.login({ subject: 'u', org: 'o', twoFactor: { secret: totp.generateSecret() } }))) as MfaRequiredError
    ).pendingToken
    const [h, p] = pair.refreshToken.split('.')
    for (const bad of [pair.accessToken, pending, `${h}.${p}.`, 'not-a-token', '', 42]) {
      expect((await rejection(kw.tokens.refresh(bad as string))).code).toBe('invalid_token')
    }
    clock.advance(604_800_000 + 10_000)
    expect((await rejection(kw.tokens.refresh(pair.refreshToken))).code).toBe('invalid_token')
  })

  it('a session ends at sessionMaxAge however often it is refreshed', async () => {
    const { kw, clock } = jwtSetup({ refreshTokenTtl: 3600, sessionMaxAge: 7200 })
    let pair = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    const login = claimsOf(pair.accessToken).auth_time as number
    clock.advance(3000_000)
    pair = await kw.tokens.refresh(pair.refreshToken)
    clock.advance(3000_000)
    pair = await kw.tokens.refresh(pair.refreshToken)
    // 6,000 s into a 7,200 s session: the new refresh token lives only what is left.
    expect(pair.refreshExpiresIn).toBe(1200)
    expect(claimsOf(pair.refreshToken).exp).toBe(login + 7200)
    expect(claimsOf(pair.refreshToken).auth_time).toBe(login)
    clock.advance(1200_000)
    expect((await rejection(kw.tokens.refresh(pair.refreshToken))).code).toBe('invalid_token')
  })

  it('revoke() logs the session out; revokeSession() does it by id', async () => {
    const { kw } = jwtSetup()
    const one = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    await kw.tokens.revoke(one.refreshToken)
    expect((await rejection(kw.tokens.refresh(one.refreshToken))).code).toBe('invalid_token')
    const two = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    const auth = ok(await kw.verify({ headers: bearer(two.accessToken) })).auth
    expect(await kw.tokens.revokeSession(auth.sessionId!)).toBe(true)
    expect((await rejection(kw.tokens.refresh(two.refreshToken))).code).toBe('invalid_token')
    expect(await kw.tokens.revokeSession('../etc')).toBe(false)
  })

  it('revokeSession() answers false for a session already logged out, by id or by its refresh token', async () => {
    const { kw } = jwtSetup()
    const one = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    const first = ok(await kw.verify({ headers: bearer(one.accessToken) })).auth.sessionId!
    expect(await kw.tokens.revokeSession(first)).toBe(true)
    expect(await kw.tokens.revokeSession(first)).toBe(false)
    const two = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    const second = ok(await kw.verify({ headers: bearer(two.accessToken) })).auth.sessionId!
    await kw.tokens.revoke(two.refreshToken)
    expect(await kw.tokens.revokeSession(second)).toBe(false)
  })

  it('of concurrent revokeSession() calls for one session, exactly one answers true', async () => {
    const { kw } = jwtSetup()
    const pair = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    const id = ok(await kw.verify({ headers: bearer(pair.accessToken) })).auth.sessionId!
    const answers = await Promise.all(Array.from({ length: 8 }, () => kw.tokens.revokeSession(id)))
    expect(answers.filter(Boolean)).toHaveLength(1)
  })

  it('a store failure is a 503, never a new pair', async () => {
    const { kw, store } = jwtSetup()
    const pair = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
    for (const failure of [new Error('connection reset'), new TypeError('fetch failed')]) {
      store.rotateRefreshFamily = () => Promise.reject(failure)
      const error = await rejection(kw.tokens.refresh(pair.refreshToken))
      expect([error.status, error.code]).toEqual([503, 'store_unavailable'])
    }
  })
})

describe('kw.tokens.login: two-factor (TOTP)', () => {
  const secret = totp.generateSecret()

  it('without 2FA: tokens at once, not marked mfa', async () => {
    const { kw } = jwtSetup()
    const pair = await kw.tokens.login({ subject: 'user_42', org: 'org_1', scopes: ['read'] })
    expect(ok(await kw.verify({ headers: bearer(pair.accessToken) })).auth.mfa).toBe(false)
  })

  it('2FA enabled and no code: no tokens, 401 mfa_required with a pending token', async () => {
    const { kw, store } = jwtSetup()
    const error = await rejection(kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret } }))
    expect(error).toBeInstanceOf(MfaRequiredError)
    expect([error.status, error.code, error.headers['www-authenticate']]).toEqual([
      401,
      'mfa_required',
      'Bearer realm="api", error="insufficient_user_authentication"',
    ])
    expect(JSON.stringify(error.toJSON())).not.toContain('pendingToken')
    const pending = (error as MfaRequiredError).pendingToken
    expect(headerOf(pending).typ).toBe('mfa-pending+jwt')
    expect(await kw.tokens.pendingLogin(pending)).toEqual({ subject: 'user_42', org: 'org_1' })
    // The pending token is no access token.
    expect(refused(await kw.verify({ headers: bearer(pending) })).code).toBe('invalid_token')
    expect(await store.listByOrg('org_1')).toEqual([])
  })

  it('the right code: tokens minted with mfa; by subject or through the pending token', async () => {
    const { kw, clock } = jwtSetup()
    const direct = await kw.tokens.login({
      subject: 'user_42',
      org: 'org_1',
      scopes: ['write'],
      twoFactor: { secret, code: totp.code(secret, clock.now()) },
    })
    const auth = ok(await kw.verify({ headers: bearer(direct.accessToken), scopes: 'write' })).auth
    expect(auth.mfa).toBe(true)
    expect(claimsOf(direct.accessToken).amr).toEqual(['otp', 'mfa'])

    clock.advance(30_000)
    const pending = (
      (await rejection(kw.tokens.login({ subject: 'user_43', org: 'org_1', scopes: ['read'], twoFactor: { secret } }))) as MfaRequiredError
    ).pendingToken
    const viaPending = await kw.tokens.login({ pendingToken: pending, twoFactor: { secret, code: totp.code(secret, clock.now()) } })
    expect(claimsOf(viaPending.accessToken)).toMatchObject({ sub: 'user_43', scope: 'read', amr: ['otp', 'mfa'] })
    // A refreshed pair keeps the mfa mark of its session.
    expect(claimsOf((await kw.tokens.refresh(viaPending.refreshToken)).accessToken).amr).toEqual(['otp', 'mfa'])
  })

  it('accepts the previous and next 30 s step, not two steps away', async () => {
    const { kw, clock } = jwtSetup()
    const login = (code: string) => kw.tokens.login({ subject: `u${code}`, org: 'o', twoFactor: { secret, code } })
    await login(totp.code(secret, clock.now() - 30_000))
    await login(totp.code(secret, clock.now() + 30_000))
    expect((await rejection(login(totp.code(secret, clock.now() - 60_000)))).code).toBe('mfa_required')
  })

  it('a wrong code is 401 mfa_required; a code already used is refused', async () => {
    const { kw, clock } = jwtSetup()
    const code = totp.code(secret, clock.now())
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
    const error = await rejection(kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret, code: wrong } }))
    expect([error.status, error.code, error.message]).toEqual([401, 'mfa_required', 'The two-factor code is wrong'])
    await kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret, code } })
    clock.advance(20_000)
    const replay = await rejection(kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret, code } }))
    expect([replay.code, replay.message]).toEqual(['mfa_required', 'This two-factor code was already used'])
  })

  it('five wrong codes invalidate the pending login: even the right code is refused until it ends', async () => {
    const { kw, clock } = jwtSetup()
    const attempt = (code: string) => kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret, code } })
    for (let i = 0; i < 5; i++) expect((await rejection(attempt('000000'))).message).toBe('The two-factor code is wrong')
    const sixth = await rejection(attempt(totp.code(secret, clock.now())))
    expect([sixth.status, sixth.code]).toEqual([401, 'mfa_required'])
    expect(sixth.message).toMatch(/Too many two-factor attempts/)
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0)
    // Another user is not affected; after the window the user can log in again.
    await kw.tokens.login({ subject: 'user_43', org: 'org_1', twoFactor: { secret, code: totp.code(secret, clock.now()) } })
    clock.advance(300_000)
    await kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret, code: totp.code(secret, clock.now()) } })
  })

  it('codes sent all at once: at most five are checked, and the right one among 200 wrong ones gets nothing', async () => {
    const { kw, clock } = jwtSetup({}, { lockout: false })
    const right = totp.code(secret, clock.now())
    const codes = [...Array.from({ length: 200 }, (_, i) => String(i).padStart(6, '0')).filter((c) => c !== right), right]
    const results = await Promise.allSettled(
      codes.map((code) => kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret, code } })),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(0)
    const messages = results.map((r) => (r as PromiseRejectedResult).reason.message as string)
    expect(messages.filter((m) => m === 'The two-factor code is wrong')).toHaveLength(5)
    expect(messages.filter((m) => /Too many/.test(m))).toHaveLength(codes.length - 5)
  })

  it('a pending token completes one login only', async () => {
    const { kw, clock } = jwtSetup()
    const pending = ((await rejection(kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret } }))) as MfaRequiredError)
      .pendingToken
    await kw.tokens.login({ pendingToken: pending, twoFactor: { secret, code: totp.code(secret, clock.now()) } })
    clock.advance(30_000)
    expect(
      (await rejection(kw.tokens.login({ pendingToken: pending, twoFactor: { secret, code: totp.code(secret, clock.now()) } }))).code,
    ).toBe('invalid_token')
  })

  it('the pending token is not enumerable on the error, so error loggers do not print it', async () => {
    const { kw } = jwtSetup()
    const error = (await rejection(kw.tokens.login({ subject: 'u', org: 'o', twoFactor: { secret } }))) as MfaRequiredError
    expect(typeof error.pendingToken).toBe('string')
    expect(Object.keys(error)).not.toContain('pendingToken')
    expect(JSON.stringify(error)).not.toContain(error.pendingToken)
  })

  it('a flood of client addresses cannot evict used codes from an in-memory limiter', async () => {
    const { kw, clock } = jwtSetup({}, { limiter: new MemoryRateLimiter({ maxAddresses: 10 }) })
    const code = totp.code(secret, clock.now())
    await kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret, code } })
    for (let i = 0; i < 50; i++) refused(await kw.verify({ headers: bearer(`eyJ${i}.e30.x`), ip: `198.51.100.${i}` }))
    expect((await rejection(kw.tokens.login({ subject: 'user_42', org: 'org_1', twoFactor: { secret, code } }))).message).toBe(
      'This two-factor code was already used',
    )
  })

  it('wrong codes count toward the address lockout (429 ip_blocked), for logins and for verify()', async () => {
    const { kw, clock } = jwtSetup({ maxCodeFailures: 100 }, { lockout: { maxFailures: 3, windowMs: 60_000 } })
    const ip = '198.51.100.20'
    for (let i = 0; i < 3; i++) await rejection(kw.tokens.login({ subject: `u${i}`, org: 'o', twoFactor: { secret, code: '000000' }, ip }))
    const blocked = await rejection(
      kw.tokens.login({ subject: 'u9', org: 'o', twoFactor: { secret, code: totp.code(secret, clock.now()) }, ip }),
    )
    expect([blocked.status, blocked.code]).toEqual([429, 'ip_blocked'])
    const pair = await kw.tokens.issue({ subject: 'u', org: 'o' })
    expect(refused(await kw.verify({ headers: bearer(pair.accessToken), ip })).code).toBe('ip_blocked')
  })

  it('refuses malformed login input and a forged pending token', async () => {
    const { kw } = jwtSetup()
    expect((await rejection(kw.tokens.login({ subject: 'u', org: 'o', twoFactor: { secret: 7 } } as never))).code).toBe('validation_failed')
    expect(
      (await rejection(kw.tokens.login({ pendingToken: 'eyJhbGciOiJub25lIn0.e30.', twoFactor: { secret, code: '123456' } }))).code,
    ).toBe('invalid_token')
    expect((await rejection(kw.tokens.pendingLogin('nope'))).code).toBe('invalid_token')
    const pending = ((await rejection(kw.tokens.login({ subject: 'u', org: 'o', twoFactor: { secret } }))) as MfaRequiredError).pendingToken
    // A pending token alone is no login: the second factor must come with it.
    expect((await rejection(kw.tokens.login({ pendingToken: pending }))).code).toBe('validation_failed')
    await expect(kw.tokens.login({ subject: 'u', org: 'o', twoFactor: { secret: 'not base32!', code: '123456' } })).rejects.toThrow(
      TypeError,
    )
  })
})
