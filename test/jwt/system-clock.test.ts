/**
 * Every claim check on the system clock: keyward built without `now`, as in production, where
 * TokenVerifier builds jose's options once per verifier and token type and reuses them. The other
 * JWT tests run on a manual clock, which builds them per call, so a mix-up in the reused options
 * (one verifier's, or one type's, served to another) would pass them all.
 *
 * Time margins are minutes wide: nothing here depends on how long a step takes.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, MemoryTokenStore, type KeywardError, type KeywardOptions } from '../../src/index.js'
import { accessClaims, AUDIENCE, bearer, claimsOf, headerOf, ISSUER, ok, refused, SECRET, sign } from './support.js'

const hsKey = new TextEncoder().encode(SECRET)
const otherHsKey = new Uint8Array(64).fill(1)
const AT = { alg: 'HS256', kid: 'default', typ: 'at+jwt' }
const IDP = 'https://idp.example/'
const IDP2 = 'https://idp2.example/'
const API = 'https://api.example.com'

let server: Server
let url: string
let rsa: Awaited<ReturnType<typeof generateKeyPair>>

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true })
  const jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }] }
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

/** keyward on the system clock (no `now`): the reused-options path. */
function systemClock(jwt: Partial<NonNullable<KeywardOptions['jwt']>> = {}) {
  return createKeyward({
    prefix: 'bsk',
    usageFlushMs: false,
    store: new MemoryTokenStore(),
    jwt: { issuer: ISSUER, audience: AUDIENCE, signingKey: { alg: 'HS256', secret: SECRET }, ...jwt },
  })
}

const now = () => Date.now()
const seconds = () => Math.floor(now() / 1000)

async function rejection(promise: Promise<unknown>): Promise<KeywardError> {
  try {
    await promise
  } catch (error) {
    return error as KeywardError
  }
  return expect.fail('expected a rejection')
}

describe("keyward's own access tokens on the system clock", () => {
  const forged: Array<[string, () => Promise<string>]> = [
    ['another iss', () => sign(accessClaims(now(), { iss: 'https://evil.example' }), AT, hsKey)],
    ['another aud', () => sign(accessClaims(now(), { aud: 'another-api' }), AT, hsKey)],
    ['aud = the issuer (a refresh token’s audience)', () => sign(accessClaims(now(), { aud: ISSUER }), AT, hsKey)],
    ['typ refresh+jwt', () => sign(accessClaims(now()), { ...AT, typ: 'refresh+jwt' }, hsKey)],
    ['typ mfa-pending+jwt', () => sign(accessClaims(now()), { ...AT, typ: 'mfa-pending+jwt' }, hsKey)],
    ['no typ', () => sign(accessClaims(now()), { alg: 'HS256', kid: 'default' }, hsKey)],
    ['alg HS512 (not allowed)', () => sign(accessClaims(now()), { ...AT, alg: 'HS512' }, otherHsKey)],
    ['no exp', () => sign({ ...accessClaims(now()), exp: undefined }, AT, hsKey)],
    ['no jti', () => sign({ ...accessClaims(now()), jti: undefined }, AT, hsKey)],
    ['no sub', () => sign({ ...accessClaims(now()), sub: undefined }, AT, hsKey)],
    ['expired 10 minutes ago', () => sign(accessClaims(now() - 1_500_000), AT, hsKey)],
    ['nbf 10 minutes ahead', () => sign(accessClaims(now(), { nbf: seconds() + 600 }), AT, hsKey)],
  ]

  it.each(forged)('%s is refused once the reused options exist', async (_name, make) => {
    const kw = systemClock({ cache: false })
    // A good access token and a refresh first: the access and the refresh options are both built.
    ok(await kw.verify({ headers: bearer(await sign(accessClaims(now()), AT, hsKey)) }))
    const pair = await kw.tokens.issue({ subject: 'u', org: 'org_1' })
    await kw.tokens.refresh(pair.refreshToken)
    expect(refused(await kw.verify({ headers: bearer(await make()) })).code).toBe('invalid_token')
  })

  it('applies clockTolerance: expired 30 s ago passes with 60 s, is refused with 0', async () => {
    const token = await sign(accessClaims(now() - 930_000), AT, hsKey)
    ok(await systemClock({ clockTolerance: 60 }).verify({ headers: bearer(token) }))
    refused(await systemClock({ clockTolerance: 0 }).verify({ headers: bearer(token) }))
  })

  it("two instances refuse each other's tokens: neither reuses the other's options", async () => {
    const a = systemClock()
    const b = systemClock({ audience: 'other-api', issuer: 'https://other.example' })
    const forA = await sign(accessClaims(now()), AT, hsKey)
    const forB = await sign(accessClaims(now(), { aud: 'other-api', iss: 'https://other.example' }), AT, hsKey)
    ok(await a.verify({ headers: bearer(forA) }))
    ok(await b.verify({ headers: bearer(forB) }))
    refused(await a.verify({ headers: bearer(forB) }))
    refused(await b.verify({ headers: bearer(forA) }))
  })
})

describe('refresh and pending tokens on the system clock (addressed to keyward itself)', () => {
  it('an access token is no refresh token and a refresh token no access or pending token', async () => {
    const kw = systemClock()
    const pair = await kw.tokens.issue({ subject: 'u', org: 'org_1' })
    ok(await kw.verify({ headers: bearer(pair.accessToken) }))
    const next = await kw.tokens.refresh(pair.refreshToken)
    expect((await rejection(kw.tokens.refresh(next.accessToken))).code).toBe('invalid_token')
    expect(refused(await kw.verify({ headers: bearer(next.refreshToken) })).code).toBe('invalid_token')
    expect((await rejection(kw.tokens.pendingLogin(next.refreshToken))).code).toBe('invalid_token')
    ok(await kw.verify({ headers: bearer(next.accessToken) }))
  })

  it('a forged refresh token is refused: API audience, another iss, another typ, expired, no jti, HS512', async () => {
    const kw = systemClock()
    const pair = await kw.tokens.issue({ subject: 'u', org: 'org_1' })
    const good = await kw.tokens.refresh(pair.refreshToken)
    const claims = claimsOf(good.refreshToken)
    const header = headerOf(good.refreshToken) as { alg: string }
    const cases: Array<[string, JWTPayload, Record<string, unknown> & { alg: string }]> = [
      ['aud = the API', { ...claims, aud: AUDIENCE }, header],
      ['another iss', { ...claims, iss: 'https://evil.example' }, header],
      ['typ at+jwt', claims, { ...header, typ: 'at+jwt' }],
      ['typ mfa-pending+jwt', claims, { ...header, typ: 'mfa-pending+jwt' }],
      ['no typ', claims, { ...header, typ: undefined }],
      ['expired 10 minutes ago', { ...claims, exp: seconds() - 600 }, header],
      ['no jti', { ...claims, jti: undefined }, header],
      ['alg HS512', claims, { ...header, alg: 'HS512' }],
    ]
    for (const [name, payload, h] of cases) {
      const token = await sign(payload, h, h.alg === 'HS512' ? otherHsKey : hsKey)
      expect([name, (await rejection(kw.tokens.refresh(token))).code]).toEqual([name, 'invalid_token'])
    }
    // The real one still refreshes: the forgeries failed on their claim, not on the session.
    await kw.tokens.refresh(good.refreshToken)
  })

  it('a forged pending token is refused: API audience, another typ, another iss, expired', async () => {
    const kw = systemClock()
    const iat = seconds()
    const base = {
      iss: ISSUER,
      aud: ISSUER,
      sub: 'u',
      org_id: 'org_1',
      sid: 'S'.repeat(22),
      jti: 'P'.repeat(22),
      iat,
      exp: iat + 300,
      auth_time: iat,
    }
    const PENDING = { alg: 'HS256', kid: 'default', typ: 'mfa-pending+jwt' }
    expect(await kw.tokens.pendingLogin(await sign(base, PENDING, hsKey))).toMatchObject({ subject: 'u' })
    const cases: Array<[string, JWTPayload, typeof PENDING]> = [
      ['aud = the API', { ...base, aud: AUDIENCE }, PENDING],
      ['typ at+jwt', base, { ...PENDING, typ: 'at+jwt' }],
      ['typ refresh+jwt', base, { ...PENDING, typ: 'refresh+jwt' }],
      ['another iss', { ...base, iss: 'https://evil.example' }, PENDING],
      ['expired 10 minutes ago', { ...base, exp: iat - 600 }, PENDING],
    ]
    for (const [name, payload, h] of cases)
      expect([name, (await rejection(kw.tokens.pendingLogin(await sign(payload, h, hsKey)))).code]).toEqual([name, 'invalid_token'])
  })
})

describe('trusted issuers on the system clock', () => {
  const idpSign = (payload: JWTPayload, header: Record<string, unknown> = {}) =>
    sign(payload, { alg: 'RS256', kid: 'idp-1', ...header }, rsa.privateKey)
  const idpClaims = (iss: string, extra: JWTPayload = {}): JWTPayload => {
    const iat = seconds()
    return { iss, aud: API, sub: 'auth0|42', org_id: 'org_7', iat, exp: iat + 3600, ...extra }
  }

  it('an issuer with a required typ and one without: each checks its own', async () => {
    const kw = systemClock({
      audience: 'own-api',
      jwks: [
        { issuer: IDP, jwksUrl: url, audience: API, typ: 'at+jwt' },
        { issuer: IDP2, jwksUrl: url, audience: API },
      ],
    })
    ok(await kw.verify({ headers: bearer(await idpSign(idpClaims(IDP), { typ: 'at+jwt' })) }))
    ok(await kw.verify({ headers: bearer(await idpSign(idpClaims(IDP2))) }))
    // Once both issuers' options exist, the first still requires its typ...
    refused(await kw.verify({ headers: bearer(await idpSign(idpClaims(IDP))) }))
    refused(await kw.verify({ headers: bearer(await idpSign(idpClaims(IDP), { typ: 'JWT' })) }))
    // ...and the second still does not, while checking everything else.
    ok(await kw.verify({ headers: bearer(await idpSign(idpClaims(IDP2, { sub: 'other' }), { typ: 'JWT' })) }))
    refused(await kw.verify({ headers: bearer(await idpSign(idpClaims(IDP2, { aud: 'another-api' }))) }))
    refused(await kw.verify({ headers: bearer(await idpSign(idpClaims(IDP2, { exp: seconds() - 600 }))) }))
    refused(await kw.verify({ headers: bearer(await idpSign({ ...idpClaims(IDP2), exp: undefined })) }))
    // An HS256 token naming the issuer: not among its algorithms.
    refused(await kw.verify({ headers: bearer(await sign(idpClaims(IDP2), { alg: 'HS256', kid: 'idp-1' }, hsKey)) }))
    // keyward's own token with the issuer's audience: the own verifier wants its own audience.
    refused(await kw.verify({ headers: bearer(await sign(accessClaims(now(), { aud: API }), AT, hsKey)) }))
  })
})
