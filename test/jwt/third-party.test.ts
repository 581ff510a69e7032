/**
 * Third-party tokens (Auth0, Clerk, Keycloak style): an issuer's JWKS served over real HTTP on
 * loopback, its tokens accepted through the claim mapping, everything else refused.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TrustedIssuer } from '../../src/index.js'
import { setup } from '../support/setup.js'
import { bearer, ok, refused, sign } from './support.js'

const IDP = 'https://tenant.eu.auth0.example/'
const API = 'https://api.example.com'

let server: Server
let url: string
let fetches = 0
let answer: 'keys' | 'error' | 'garbage' = 'keys'
let rsa: Awaited<ReturnType<typeof generateKeyPair>>
let jwks: { keys: object[] }

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true })
  jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }] }
  server = createServer((req, res) => {
    fetches++
    if (answer === 'error') return res.writeHead(500).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer === 'garbage' ? '{"keys": 7}' : JSON.stringify(jwks))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

function idpSetup(extra: Partial<TrustedIssuer> = {}) {
  answer = 'keys'
  return setup({
    jwt: { issuer: 'https://keyward.local', audience: 'own-api', jwks: { issuer: IDP, jwksUrl: url, audience: API, ...extra } },
  })
}

function idpClaims(now: number, extra: JWTPayload = {}): JWTPayload {
  const iat = Math.floor(now / 1000)
  return {
    iss: IDP,
    aud: [API, `${IDP}userinfo`],
    sub: 'auth0|42',
    org_id: 'org_7',
    scope: 'openid read write',
    iat,
    exp: iat + 3600,
    ...extra,
  }
}

const idpSign = (payload: JWTPayload, header: Record<string, unknown> = {}) =>
  sign(payload, { alg: 'RS256', kid: 'idp-1', ...header }, rsa.privateKey)

describe('jwt.jwks: third-party issuers', () => {
  it('accepts the issuer token with the default mapping: sub, org_id, scope', async () => {
    const { kw, clock } = idpSetup()
    const r = ok(await kw.verify({ headers: bearer(await idpSign(idpClaims(clock.now()))), scopes: 'write' }))
    expect(r.auth).toMatchObject({ type: 'jwt', subject: 'auth0|42', org: 'org_7', issuer: IDP, mfa: false })
    expect(r.auth.scopes).toEqual(['openid', 'read', 'write'])
    expect(r.auth.sessionId).toBeUndefined()
    // Nor a third party's own sid: it names nothing kw.tokens could revoke.
    const withSid = ok(await kw.verify({ headers: bearer(await idpSign(idpClaims(clock.now(), { sid: 'S'.repeat(22) }))) }))
    expect(withSid.auth.sessionId).toBeUndefined()
  })

  it('a claim-mapping function that throws refuses the token (401), it is no outage', async () => {
    const { kw, clock } = idpSetup({
      claims: {
        scopes: () => {
          throw new Error('bad mapping')
        },
      },
    })
    const error = refused(await kw.verify({ headers: bearer(await idpSign(idpClaims(clock.now()))) }))
    expect([error.status, error.code]).toEqual([401, 'invalid_token'])
  })

  it('reads scp as a list when there is no scope claim, and amr mfa', async () => {
    const { kw, clock } = idpSetup()
    const r = ok(
      await kw.verify({
        headers: bearer(await idpSign(idpClaims(clock.now(), { scope: undefined, scp: ['read', 'bad scope"'], amr: ['mfa'] }))),
      }),
    )
    expect(r.auth.scopes).toEqual(['read'])
    expect(r.auth.mfa).toBe(true)
  })

  it('maps claims through names or functions', async () => {
    const { kw, clock } = idpSetup({
      claims: { org: 'https://example.com/org', scopes: (c) => (c.role === 'admin' ? ['admin'] : ['read']), projects: 'proj' },
    })
    const token = await idpSign(
      idpClaims(clock.now(), { org_id: undefined, 'https://example.com/org': 'org_9', role: 'admin', proj: ['p1'] }),
    )
    const r = ok(await kw.verify({ headers: bearer(token), project: 'p1' }))
    expect([r.auth.org, r.auth.scopes]).toEqual(['org_9', ['admin', 'write', 'read']])
  })

  it.each<[string, (now: number) => Promise<string>]>([
    ['wrong audience', (now) => idpSign(idpClaims(now, { aud: 'https://another-api.example' }))],
    ['no org (mapping finds none)', (now) => idpSign(idpClaims(now, { org_id: undefined }))],
    ['expired', (now) => idpSign(idpClaims(now, { exp: Math.floor(now / 1000) - 60 }))],
    ['unknown kid', (now) => idpSign(idpClaims(now), { kid: 'idp-2' })],
    [
      'an algorithm the issuer is not allowed (HS256 with the issuer name)',
      (now) => sign(idpClaims(now), { alg: 'HS256', kid: 'idp-1' }, new TextEncoder().encode('x'.repeat(32))),
    ],
    ['another issuer with the same keys', (now) => idpSign(idpClaims(now, { iss: 'https://evil.example/' }))],
    ['jku pointing elsewhere', (now) => idpSign(idpClaims(now), { jku: 'https://evil.example/jwks.json' })],
  ])('refuses %s: 401 invalid_token', async (_, make) => {
    const { kw, clock } = idpSetup()
    const error = refused(await kw.verify({ headers: bearer(await make(clock.now())) }))
    expect([error.status, error.code]).toEqual([401, 'invalid_token'])
  })

  it('fetches the key set once and keeps it; unknown kids cannot make it refetch within the cooldown', async () => {
    const { kw, clock } = idpSetup({ cooldownMs: 60_000 })
    const before = fetches
    for (let i = 0; i < 5; i++) ok(await kw.verify({ headers: bearer(await idpSign(idpClaims(clock.now(), { sub: `u${i}` }))) }))
    expect(fetches - before).toBe(1)
    for (let i = 0; i < 20; i++) refused(await kw.verify({ headers: bearer(await idpSign(idpClaims(clock.now()), { kid: `nope-${i}` })) }))
    // jose refetches once for an unknown kid after the cooldown has passed, never per token.
    expect(fetches - before).toBeLessThanOrEqual(2)
  })

  it.each(['error', 'garbage'] as const)('answers 503 when the key server fails (%s), never a pass or a 401', async (mode) => {
    const { kw, clock } = idpSetup()
    answer = mode
    const error = refused(await kw.verify({ headers: bearer(await idpSign(idpClaims(clock.now()))) }))
    expect([error.status, error.code]).toEqual([503, 'store_unavailable'])
    answer = 'keys'
  })

  it('answers 503 when the key server does not answer at all', async () => {
    const dead = createServer()
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
    const port = (dead.address() as AddressInfo).port
    await new Promise<void>((resolve) => dead.close(() => resolve()))
    const { kw, clock } = setup({
      jwt: {
        issuer: 'https://keyward.local',
        audience: 'own-api',
        jwks: { issuer: IDP, jwksUrl: `http://127.0.0.1:${port}/jwks.json`, audience: API },
      },
    })
    const error = refused(await kw.verify({ headers: bearer(await idpSign(idpClaims(clock.now()))) }))
    expect([error.status, error.code]).toEqual([503, 'store_unavailable'])
  })

  it("an issuer's required typ is checked, and a second issuer without one is not held to it", async () => {
    answer = 'keys'
    const OTHER = 'https://other-idp.example/'
    const { kw, clock } = setup({
      jwt: {
        issuer: 'https://keyward.local',
        audience: 'own-api',
        jwks: [
          { issuer: IDP, jwksUrl: url, audience: API, typ: 'at+jwt' },
          { issuer: OTHER, jwksUrl: url, audience: API },
        ],
      },
    })
    const token = (iss: string, typ?: string) => idpSign(idpClaims(clock.now(), { iss }), typ === undefined ? {} : { typ })
    expect(refused(await kw.verify({ headers: bearer(await token(IDP)) })).code).toBe('invalid_token')
    expect(refused(await kw.verify({ headers: bearer(await token(IDP, 'JWT')) })).code).toBe('invalid_token')
    ok(await kw.verify({ headers: bearer(await token(IDP, 'at+jwt')) }))
    ok(await kw.verify({ headers: bearer(await token(OTHER)) }))
    ok(await kw.verify({ headers: bearer(await token(OTHER, 'JWT')) }))
  })

  it('refuses unsafe configurations at start-up', () => {
    const base = { issuer: 'https://keyward.local', audience: 'own-api' }
    const bad: Array<Partial<TrustedIssuer>> = [
      { jwksUrl: 'http://idp.example/jwks.json' },
      { algorithms: ['HS256' as never] },
      { algorithms: ['none' as never] },
      { algorithms: [] },
      { audience: [] },
      { issuer: 'https://keyward.local' },
      { claims: { subject: 3 as never } },
    ]
    for (const entry of bad)
      expect(() => setup({ jwt: { ...base, jwks: { issuer: IDP, jwksUrl: url, audience: API, ...entry } } })).toThrow(TypeError)
  })
})
