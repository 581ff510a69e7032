/**
 * Where an uncached JWT verification's time goes: keyward's verify() (JWT cache off, the same token
 * each time, as bench/jwt.bench.ts defines "uncached") beside jose `jwtVerify` with the key imported
 * once, in one process, in interleaved rounds.
 *
 * Run: `npx tsx bench/jwt-profile.ts [HS256|EdDSA] [--rounds N] [--ms M]` (defaults HS256, 15, 200).
 * Under a profiler, fix the work instead of the time: `--only keyward|jose --n 20000` runs one side
 * for a fixed number of verifications and prints nothing else, e.g.
 * `valgrind --tool=callgrind node --import tsx bench/jwt-profile.ts --only jose --n 2000`, or
 * `node --cpu-prof --import tsx bench/jwt-profile.ts --only keyward --n 20000`.
 */
import { generateKeyPair, jwtVerify, type JWTVerifyOptions } from 'jose'
import { createKeyward, type SigningKey } from '../src/index.js'
import { median } from './harness.js'

const args = process.argv.slice(2)
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(name)
  return at === -1 ? fallback : args.splice(at, 2)[1]!
}
const rounds = Number(flag('--rounds', '15'))
const roundMs = Number(flag('--ms', '200'))
const only = flag('--only', '')
const fixed = Number(flag('--n', '0'))
const alg = args[0] === 'EdDSA' ? 'EdDSA' : 'HS256'

const issuer = 'https://api.bytestack.example'
const audience = 'bytestack-api'
const secret = 'a-benchmark-secret-of-at-least-32-bytes'
const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true })
const signingKey: SigningKey = alg === 'HS256' ? { alg, secret } : { alg, kid: 'bench-1', privateKey }
const kw = createKeyward({ prefix: 'bsk', usageFlushMs: false, lockout: false, jwt: { issuer, audience, signingKey, cache: false } })
const { accessToken } = await kw.tokens.issue({ subject: 'user_42', org: 'org_1', scopes: ['read', 'write'] })
const input = { headers: { authorization: `Bearer ${accessToken}` }, ip: '203.0.113.10', scopes: 'read' }
const joseKey =
  alg === 'HS256'
    ? await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    : publicKey
// The checks keyward makes (bench/jwt.bench.ts), so that jose does the same work.
const joseOptions: JWTVerifyOptions = {
  issuer,
  audience,
  algorithms: [alg],
  typ: 'at+jwt',
  requiredClaims: ['exp', 'sub', 'jti'],
  clockTolerance: 5,
}

const sides = {
  keyward: async () => {
    const r = await kw.verify(input)
    if (!r.ok) throw new Error(`keyward: ${r.error.code}`)
  },
  jose: async () => {
    await jwtVerify(accessToken, joseKey, joseOptions)
  },
}

if (only !== '') {
  const fn = sides[only as keyof typeof sides]
  if (fn === undefined || !(fixed > 0)) throw new Error('--only keyward|jose needs --n N')
  for (let i = 0; i < fixed; i++) await fn()
} else {
  const cpu = () => {
    const { user, system } = process.cpuUsage()
    return (user + system) / 1e3
  }
  // Nanoseconds per verification, by this process's CPU time (all threads) and by the wall clock.
  async function round(fn: () => Promise<void>): Promise<{ cpu: number; wall: number }> {
    let ops = 0
    const w0 = performance.now()
    const c0 = cpu()
    const end = w0 + roundMs
    while (performance.now() < end) {
      for (let i = 0; i < 64; i++) await fn()
      ops += 64
    }
    return { cpu: ((cpu() - c0) * 1e6) / ops, wall: ((performance.now() - w0) * 1e6) / ops }
  }
  for (let i = 0; i < 3000; i++) {
    await sides.keyward()
    await sides.jose()
  }
  const k = { cpu: [] as number[], wall: [] as number[] }
  const j = { cpu: [] as number[], wall: [] as number[] }
  const ratio = { cpu: [] as number[], wall: [] as number[] }
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first, so a trend within a round favours neither.
    let a: { cpu: number; wall: number }
    let b: { cpu: number; wall: number }
    if (r % 2 === 0) {
      a = await round(sides.keyward)
      b = await round(sides.jose)
    } else {
      b = await round(sides.jose)
      a = await round(sides.keyward)
    }
    k.cpu.push(a.cpu)
    k.wall.push(a.wall)
    j.cpu.push(b.cpu)
    j.wall.push(b.wall)
    ratio.cpu.push(a.cpu / b.cpu)
    ratio.wall.push(a.wall / b.wall)
  }
  const f = (n: number) => Math.round(n).toLocaleString('en-US')
  console.log(`${alg}, ${rounds} interleaved rounds of ${roundMs} ms, medians`)
  console.log(`| side | CPU ns/op | wall ns/op |\n|---|---:|---:|`)
  console.log(`| keyward verify(), uncached | ${f(median(k.cpu))} | ${f(median(k.wall))} |`)
  console.log(`| jose jwtVerify, key imported once | ${f(median(j.cpu))} | ${f(median(j.wall))} |`)
  console.log(
    `| ratio keyward ÷ jose (median of per-round ratios) | ${median(ratio.cpu).toFixed(3)}× | ${median(ratio.wall).toFixed(3)}× |`,
  )
}
