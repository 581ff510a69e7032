/**
 * Hostile JWTs through each adapter over real HTTP. keyward signs with an EdDSA key (kid `k1`);
 * every row is a token an attacker could build or replay, with the exact status and code it must
 * get, an untouched store (refresh sessions included) and no echo of the token.
 */
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWTPayload, type JWTHeaderParameters } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, MfaRequiredError, totp, type Keyward } from 'keyward'
import { ADAPTERS, serve, type Served } from './support/apps.js'
import { rawRequest } from './support/raw-http.js'
import { RecordingStore } from './support/recording-store.js'

const ISSUER = 'https://api.keyward.test'
const AUDIENCE = 'keyward-api'
const PATH = '/api/projects/prod-site/data'

type Expected = { status: number; code?: string }
const ok: Expected = { status: 200 }
const invalidToken: Expected = { status: 401, code: 'invalid_token' }

interface Material {
  access: string
  refresh: string
  pending: string
  /** Signs `patch` over the valid access token's claims (undefined removes a claim) with keyward's own key. */
  sign: (patch: Record<string, unknown>, header?: Partial<JWTHeaderParameters>, crit?: Record<string, boolean>) => Promise<string>
  /** The same, with the attacker's own EdDSA key. */
  signAsAttacker: (header: Partial<JWTHeaderParameters>) => Promise<string>
  /** HS256 over the access token's claims, keyed with keyward's public key (its JWK, or its raw x). */
  hsWithPublicKey: (form: 'jwk' | 'raw') => Promise<string>
  attackerJwk: Record<string, unknown>
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const unsigned = (token: string, alg: string) => {
  const [header, payload] = token.split('.')
  return `${b64({ ...JSON.parse(Buffer.from(header!, 'base64url').toString()), alg })}.${payload}.`
}
const now = () => Math.floor(Date.now() / 1000)

const CASES: Array<{ name: string; token: (m: Material) => string | Promise<string>; expect: Expected }> = [
  { name: 'a valid access token (control row)', token: (m) => m.access, expect: ok },
  { name: 'a token re-signed by keyward with no changes (control row for the signer)', token: (m) => m.sign({}), expect: ok },
  ...['none', 'None', 'NONE', 'nOnE'].map((alg) => ({
    name: `alg ${alg}, no signature`,
    token: (m: Material) => unsigned(m.access, alg),
    expect: invalidToken,
  })),
  {
    name: 'alg none with the original signature kept',
    token: (m) => unsigned(m.access, 'none') + m.access.split('.')[2],
    expect: invalidToken,
  },
  { name: 'HS256 signed with the public key (its JWK as the secret)', token: (m) => m.hsWithPublicKey('jwk'), expect: invalidToken },
  { name: 'HS256 signed with the public key (its raw bytes as the secret)', token: (m) => m.hsWithPublicKey('raw'), expect: invalidToken },
  { name: 'missing exp', token: (m) => m.sign({ exp: undefined }), expect: invalidToken },
  { name: 'non-numeric exp', token: (m) => m.sign({ exp: String(now() + 600) }), expect: invalidToken },
  { name: 'exp in the past', token: (m) => m.sign({ exp: now() - 120, iat: now() - 1000 }), expect: invalidToken },
  { name: 'nbf in the future', token: (m) => m.sign({ nbf: now() + 3600 }), expect: invalidToken },
  { name: 'wrong iss', token: (m) => m.sign({ iss: 'https://evil.example' }), expect: invalidToken },
  { name: 'iss differing only in case', token: (m) => m.sign({ iss: ISSUER.toUpperCase() }), expect: invalidToken },
  { name: 'wrong aud', token: (m) => m.sign({ aud: 'another-api' }), expect: invalidToken },
  { name: 'no sub', token: (m) => m.sign({ sub: undefined }), expect: invalidToken },
  { name: 'no jti', token: (m) => m.sign({ jti: undefined }), expect: invalidToken },
  { name: 'refresh token used as an access token', token: (m) => m.refresh, expect: invalidToken },
  { name: 'pending-2FA token used as an access token', token: (m) => m.pending, expect: invalidToken },
  { name: 'access claims with the refresh typ', token: (m) => m.sign({}, { typ: 'refresh+jwt' }), expect: invalidToken },
  { name: 'no typ', token: (m) => m.sign({}, { typ: undefined }), expect: invalidToken },
  { name: 'unknown kid', token: (m) => m.sign({}, { kid: 'k2' }), expect: invalidToken },
  { name: 'path-traversal kid', token: (m) => m.sign({}, { kid: '../../../../etc/passwd' }), expect: invalidToken },
  { name: 'SQL-injection kid', token: (m) => m.sign({}, { kid: "k1' OR '1'='1" }), expect: invalidToken },
  { name: 'huge kid', token: (m) => m.sign({}, { kid: 'k'.repeat(4000) }), expect: invalidToken },
  {
    name: 'embedded jwk (the attacker key), kid k1',
    token: (m) => m.signAsAttacker({ kid: 'k1', jwk: m.attackerJwk as never }),
    expect: invalidToken,
  },
  {
    name: 'embedded jwk (the attacker key), no kid',
    token: (m) => m.signAsAttacker({ kid: undefined, jwk: m.attackerJwk as never }),
    expect: invalidToken,
  },
  {
    name: 'jku pointing to the attacker key set',
    token: (m) => m.signAsAttacker({ kid: 'evil', jku: 'https://evil.example/jwks.json' }),
    expect: invalidToken,
  },
  { name: 'x5u pointing to the attacker', token: (m) => m.signAsAttacker({ x5u: 'https://evil.example/cert.pem' }), expect: invalidToken },
  { name: 'signed by another key under kid k1', token: (m) => m.signAsAttacker({ kid: 'k1' }), expect: invalidToken },
  { name: 'stripped signature (trailing dot kept)', token: (m) => m.access.split('.').slice(0, 2).join('.') + '.', expect: invalidToken },
  { name: 'stripped signature (two parts)', token: (m) => m.access.split('.').slice(0, 2).join('.'), expect: invalidToken },
  {
    name: 'signature of another token',
    token: async (m) => `${(await m.sign({ scope: 'admin' })).split('.').slice(0, 2).join('.')}.${m.access.split('.')[2]}`,
    expect: invalidToken,
  },
  {
    name: 'scope escalated in the payload, signature kept',
    token: (m) => {
      const [h, , s] = m.access.split('.')
      return `${h}.${b64({ ...decodeJwt(m.access), scope: 'admin' })}.${s}`
    },
    expect: invalidToken,
  },
  {
    name: 'unknown crit header',
    token: (m) => m.sign({}, { crit: ['exp-x'], 'exp-x': 1 } as never, { 'exp-x': true }),
    expect: invalidToken,
  },
  {
    name: 'oversized token (over 8 KiB)',
    token: (m) => m.sign({ pad: 'x'.repeat(9000) }),
    expect: { status: 400, code: 'invalid_request' },
  },
  {
    name: 'a project the token does not hold',
    token: (m) => m.sign({ projects: ['other-site'] }),
    expect: { status: 403, code: 'project_forbidden' },
  },
  {
    name: 'a scope the route does not grant by case (READ)',
    token: (m) => m.sign({ scope: 'READ' }),
    expect: { status: 403, code: 'insufficient_scope' },
  },
]

describe.each(ADAPTERS)('hostile JWTs through %s over HTTP', (_name, build) => {
  const store = new RecordingStore()
  let kw: Keyward
  let material: Material
  let server: Served

  beforeAll(async () => {
    const own = await generateKeyPair('EdDSA', { extractable: true })
    const attacker = await generateKeyPair('EdDSA', { extractable: true })
    kw = createKeyward({
      prefix: 'bsk',
      store,
      lockout: false,
      usageFlushMs: false,
      jwt: {
        issuer: ISSUER,
        audience: AUDIENCE,
        signingKey: { alg: 'EdDSA', kid: 'k1', privateKey: own.privateKey, publicKey: own.publicKey },
      },
    })
    const pair = await kw.tokens.issue({ subject: 'user_1', org: 'org_1', scopes: ['read'], projects: ['prod-site'] })
    let pending = ''
    try {
      await kw.tokens.login({
        subject: 'user_1',
        org: 'org_1',
        scopes: ['read'],
        projects: ['prod-site'],
        twoFactor: { secret: totp.generateSecret() },
      })
    } catch (error) {
      if (!(error instanceof MfaRequiredError)) throw error
      pending = error.pendingToken
    }
    expect(pending).not.toBe('')
    const claims = decodeJwt(pair.accessToken)
    const header = decodeProtectedHeader(pair.accessToken) as JWTHeaderParameters
    const craft = (patch: Record<string, unknown>, headerPatch: Partial<JWTHeaderParameters>) => {
      const payload: JWTPayload = { ...claims, ...patch }
      const protectedHeader = { ...header, ...headerPatch } as JWTHeaderParameters
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k]
      for (const [k, v] of Object.entries(protectedHeader)) if (v === undefined) delete (protectedHeader as Record<string, unknown>)[k]
      return new SignJWT(payload).setProtectedHeader(protectedHeader)
    }
    const publicJwk = await exportJWK(own.publicKey)
    material = {
      access: pair.accessToken,
      refresh: pair.refreshToken,
      pending,
      sign: (patch, headerPatch = {}, crit) => craft(patch, headerPatch).sign(own.privateKey, crit === undefined ? undefined : { crit }),
      signAsAttacker: (headerPatch) => craft({}, headerPatch).sign(attacker.privateKey),
      hsWithPublicKey: (form) =>
        craft({}, { alg: 'HS256' }).sign(
          form === 'jwk' ? new TextEncoder().encode(JSON.stringify(publicJwk)) : Buffer.from(publicJwk.x!, 'base64url'),
        ),
      attackerJwk: await exportJWK(attacker.publicKey),
    }
    server = await serve(build, kw)
  })
  afterAll(async () => {
    await server.close()
  })

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const token = await c.token(material)
    const before = await store.snapshot()
    const reply = await rawRequest(server.url, PATH, [['Authorization', `Bearer ${token}`]])
    expect(await store.snapshot(), 'nothing written to the store').toEqual(before)
    expect({ status: reply.status, code: reply.status === 200 ? undefined : reply.body.code }).toEqual({
      status: c.expect.status,
      code: c.expect.code,
    })
    if (reply.status === 200) expect(reply.body.project).toBe('prod-site')
    expect(reply.text).not.toContain(token)
    for (const value of Object.values(reply.headers)) expect(value).not.toContain(token.split('.')[2] || token)
  })
})
