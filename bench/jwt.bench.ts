/**
 * JWT verification: keyward's verify() (cached and uncached) beside raw jose `jwtVerify` with the
 * same checks and express-jwt, in the same process. Run: `npx tsx bench/jwt.bench.ts`
 * (BENCH_SMOKE=1 for a quick run). Targets (issue #5): cached >= 100k/s; uncached within 1.2x of raw jose.
 */
import { cpus } from 'node:os'
import { expressjwt } from 'express-jwt'
import { generateKeyPair, jwtVerify, type JWTVerifyOptions } from 'jose'
import { createKeyward, type SigningKey } from '../src/index.js'
import { measure, smoke, table, type Result } from './harness.js'

const issuer = 'https://api.bytestack.example'
const audience = 'bytestack-api'
const secret = 'a-benchmark-secret-of-at-least-32-bytes'
const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true })

async function setupFor(signingKey: SigningKey) {
  const options = { prefix: 'bsk', usageFlushMs: false as const, lockout: false as const }
  const cached = createKeyward({ ...options, jwt: { issuer, audience, signingKey } })
  const uncached = createKeyward({ ...options, jwt: { issuer, audience, signingKey, cache: false } })
  const { accessToken } = await cached.tokens.issue({ subject: 'user_42', org: 'org_1', scopes: ['read', 'write'] })
  const input = { headers: { authorization: `Bearer ${accessToken}` }, ip: '203.0.113.10', scopes: 'read' }
  for (const kw of [cached, uncached]) {
    const r = await kw.verify(input)
    if (!r.ok) throw new Error(`bench setup: ${r.error.code}`)
  }
  return { cached, uncached, input, accessToken }
}

const hs = await setupFor({ alg: 'HS256', secret })
const ed = await setupFor({ alg: 'EdDSA', kid: 'bench-1', privateKey })
const hsKey = new TextEncoder().encode(secret)
// The checks keyward makes, so that the raw baseline does the same work.
const joseOptions: JWTVerifyOptions = { issuer, audience, algorithms: ['HS256'], typ: 'at+jwt', requiredClaims: ['exp', 'sub', 'jti'], clockTolerance: 5 }

const middleware = expressjwt({ secret, algorithms: ['HS256'], issuer, audience })
function expressJwt(token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = { headers: { authorization: `Bearer ${token}` }, method: 'GET' }
    void middleware(req as never, {} as never, (error?: unknown) => (error ? reject(error as Error) : resolve()))
  })
}
await expressJwt(hs.accessToken)

const results: Result[] = []
results.push(await measure('jose jwtVerify, HS256 (same checks as keyward)', () => jwtVerify(hs.accessToken, hsKey, joseOptions)))
results.push(await measure('express-jwt middleware, HS256', () => expressJwt(hs.accessToken)))
results.push(await measure('keyward verify(), HS256, uncached', () => hs.uncached.verify(hs.input)))
results.push(await measure('keyward verify(), HS256, cached', () => hs.cached.verify(hs.input)))
results.push(await measure('jose jwtVerify, EdDSA', () => jwtVerify(ed.accessToken, publicKey, { ...joseOptions, algorithms: ['EdDSA'] })))
results.push(await measure('keyward verify(), EdDSA, uncached', () => ed.uncached.verify(ed.input)))
results.push(await measure('keyward verify(), EdDSA, cached', () => ed.cached.verify(ed.input)))

console.log(`keyward JWT benchmark — ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}${smoke ? ' (smoke run)' : ''}\n`)
console.log(table(results))
if (!smoke) {
  const ops = Object.fromEntries(results.map((r) => [r.name, r.opsPerSec]))
  const ratio = (a: string, b: string) => (ops[b]! / ops[a]!).toFixed(2)
  console.log(`\nuncached keyward vs raw jose (time ratio, target <= 1.2): HS256 ${ratio('keyward verify(), HS256, uncached', 'jose jwtVerify, HS256 (same checks as keyward)')}x, EdDSA ${ratio('keyward verify(), EdDSA, uncached', 'jose jwtVerify, EdDSA')}x`)
  console.log(`cached keyward vs raw jose (speed-up): HS256 ${(ops['keyward verify(), HS256, cached']! / ops['jose jwtVerify, HS256 (same checks as keyward)']!).toFixed(1)}x`)
}
