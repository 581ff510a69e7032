/**
 * Shared set-up of the JWT tests: keyward on a manual clock with an HS256 or EdDSA signing key,
 * and a forger that signs whatever header and claims a test needs.
 */
import { base64url, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { expect } from 'vitest'
import type { KeywardError, KeywardOptions, VerifyResult } from '../../src/index.js'
import { setup } from '../support/setup.js'

export const ISSUER = 'https://api.bytestack.example'
export const AUDIENCE = 'bytestack-api'
export const SECRET = 'a-test-secret-of-at-least-32-bytes!!'

export async function edKeys(kid = 'ed-1') {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true })
  const privateJwk = { ...(await exportJWK(privateKey)), kid }
  const publicJwk = { ...(await exportJWK(publicKey)), kid }
  return { publicKey, privateKey, privateJwk, publicJwk, kid }
}

/** keyward with JWTs on (HS256 unless a signing key is given), a manual clock, memory store and limiter. */
export function jwtSetup(jwt: Partial<NonNullable<KeywardOptions['jwt']>> = {}, options: Partial<KeywardOptions> = {}) {
  return setup({ ...options, jwt: { issuer: ISSUER, audience: AUDIENCE, signingKey: { alg: 'HS256', secret: SECRET }, ...jwt } })
}

export const ok = (r: VerifyResult) => {
  if (!r.ok) expect.fail(`expected a pass, got ${r.error.code}: ${r.error.message}`)
  return r
}
export const refused = (r: VerifyResult): KeywardError => {
  if (r.ok) expect.fail('expected a refusal, got a pass')
  return r.error
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The payload of a compact JWT, unverified (for assertions only). */
export function claimsOf(token: string): JWTPayload {
  return JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1]!))) as JWTPayload
}
export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0]!))) as Record<string, unknown>
}

/** A compact JWT with an arbitrary header and payload, signed by HMAC or left unsigned. */
export function rawToken(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  const enc = (v: unknown) => base64url.encode(JSON.stringify(v))
  return `${enc(header)}.${enc(payload)}.${signature}`
}

/** Standard claims of a valid access token at `now` (ms), overridable. */
export function accessClaims(now: number, extra: JWTPayload = {}): JWTPayload {
  const iat = Math.floor(now / 1000)
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user_42',
    org_id: 'org_1',
    scope: 'read',
    sid: 'S'.repeat(22),
    jti: 'J'.repeat(22),
    iat,
    exp: iat + 900,
    ...extra,
  }
}

/** Signs with jose, whatever the header says (a forger with a key). */
export async function sign(
  payload: JWTPayload,
  header: Record<string, unknown> & { alg: string },
  key: CryptoKey | Uint8Array | JWK,
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header as never).sign(key as CryptoKey)
}

/** An HS256 token signed by hand, for headers jose refuses to sign (unknown crit...). */
export function hmacToken(header: Record<string, unknown>, payload: Record<string, unknown>, key: Uint8Array): string {
  const unsigned = rawToken(header, payload).slice(0, -1)
  return `${unsigned}.${base64url.encode(hmac(sha256, key, new TextEncoder().encode(unsigned)))}`
}
