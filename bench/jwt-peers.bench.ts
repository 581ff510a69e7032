/**
 * What JWT verification costs with the libraries a user would pick: jose `jwtVerify` and the
 * express-jwt middleware (jsonwebtoken underneath), driven directly without HTTP. keyward's own
 * JWT path is measured in bench/jwt.bench.ts, beside these, when that file exists.
 * Run alone: `npx tsx bench/jwt-peers.bench.ts` (BENCH_SMOKE=1 for a quick run).
 */
import { expressjwt } from 'express-jwt'
import { exportPKCS8, generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { emit, measure, opsRow, type Result } from './harness.js'

const secret = new TextEncoder().encode('a-bench-secret-of-at-least-32-bytes!')
const claims = { org: 'org_1', scope: 'read write' }
const issue = (alg: string, key: CryptoKey | Uint8Array) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg })
    .setSubject('user_1')
    .setIssuer('https://auth.example.com')
    .setAudience('api')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key)
const hs256 = await issue('HS256', secret)
const es256Keys = await generateKeyPair('ES256', { extractable: true })
const es256 = await issue('ES256', es256Keys.privateKey)
const eddsaKeys = await generateKeyPair('EdDSA', { extractable: true })
const eddsa = await issue('EdDSA', eddsaKeys.privateKey)
const expected = { issuer: 'https://auth.example.com', audience: 'api' }

const joseHs = () => jwtVerify(hs256, secret, { ...expected, algorithms: ['HS256'] })
// jose turns raw secret bytes into a CryptoKey on every call; a key imported once skips that.
const secretKey = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
const joseHsKey = () => jwtVerify(hs256, secretKey, { ...expected, algorithms: ['HS256'] })
const joseEs = () => jwtVerify(es256, es256Keys.publicKey, { ...expected, algorithms: ['ES256'] })
const joseEd = () => jwtVerify(eddsa, eddsaKeys.publicKey, { ...expected, algorithms: ['EdDSA'] })

// express-jwt as Express would call it: (req, res, next), next() with no argument on success.
function driveExpressJwt(middleware: ReturnType<typeof expressjwt>, token: string): () => Promise<void> {
  return () =>
    new Promise((resolve, reject) => {
      const req = { method: 'GET', headers: { authorization: `Bearer ${token}` } }
      void middleware(req as never, {} as never, (error?: unknown) =>
        error === undefined ? resolve() : reject(error instanceof Error ? error : new Error(String(error))),
      )
    })
}
const expressJwtHs = driveExpressJwt(expressjwt({ secret: Buffer.from(secret), algorithms: ['HS256'], ...expected }), hs256)
const esPem = await exportPKCS8(es256Keys.privateKey) // jsonwebtoken wants PEM; the public half is derived by node:crypto
const { createPublicKey } = await import('node:crypto')
const expressJwtEs = driveExpressJwt(
  expressjwt({ secret: createPublicKey(esPem).export({ type: 'spki', format: 'pem' }), algorithms: ['ES256'], ...expected }),
  es256,
)

for (const check of [joseHs, joseHsKey, joseEs, joseEd, expressJwtHs, expressJwtEs]) await check()

const hs: Result[] = [
  await measure('jose jwtVerify() HS256', joseHs),
  await measure('jose jwtVerify() HS256, CryptoKey imported once', joseHsKey),
  await measure('express-jwt (jsonwebtoken) HS256', expressJwtHs),
]
const asym: Result[] = [
  await measure('jose jwtVerify() ES256', joseEs),
  await measure('express-jwt (jsonwebtoken) ES256', expressJwtEs),
  await measure('jose jwtVerify() EdDSA', joseEd),
]

emit({
  id: 'jwt-peers',
  title: 'JWT verification by the usual libraries (no HTTP)',
  order: 20,
  note:
    'A signed access token with sub, iss, aud, iat, exp and two custom claims; issuer, audience and ' +
    'algorithm allow-list checked. No caching: every call verifies the signature. These are the ' +
    "figures keyward's JWT path (bench/jwt.bench.ts) compares with.",
  tables: [
    { title: 'HS256', unit: 'ops/s', reference: 'jose jwtVerify() HS256', columns: ['ns/op'], rows: hs.map((r) => opsRow(r)) },
    { title: 'Asymmetric', unit: 'ops/s', reference: 'jose jwtVerify() ES256', columns: ['ns/op'], rows: asym.map((r) => opsRow(r)) },
  ],
})
