/**
 * The conformance subset every runtime must pass: the core (keys, verify outcomes, limiter, JWT,
 * TOTP) run in-process, and the Hono adapter's contract over real HTTP. Bundled against the BUILT
 * package (scripts/runtimes-bundle.ts) and run on Bun, Deno and workerd by scripts/runtimes.sh.
 * Nothing here may use a Node or runtime-specific API: only Web globals and the package.
 */
import {
  createKeyward,
  isKeywardError,
  MemoryRateLimiter,
  MfaRequiredError,
  totp,
  type Keyward,
  type KeywardOptions,
  type VerifyResult,
} from 'keyward'

/** One named check; it throws to fail. */
export interface Check {
  name: string
  run: () => Promise<void>
}

/** The outcome of one check, as printed and as sent back by the Worker. */
export interface CheckResult {
  name: string
  ok: boolean
  message?: string
}

class CheckFailed extends Error {}

/** Fails the check with `message` unless `condition` holds. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message)
}

const T0 = Date.UTC(2026, 10, 22, 12)
const JWT = { issuer: 'https://api.example', audience: 'api' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

function setup(options: Partial<KeywardOptions> = {}) {
  let t = T0
  const clock = { now: () => t, advance: (ms: number) => void (t += ms) }
  const kw = createKeyward({ prefix: 'bsk', usageFlushMs: false, now: clock.now, ...options })
  const mint = (extra: Record<string, unknown> = {}) =>
    kw.keys.create({ name: 'runtime check', orgId: 'org_1', projects: ['p1'], ...extra })
  return { kw, clock, mint }
}

function code(result: VerifyResult): string {
  return result.ok ? 'ok' : result.error.code
}

async function signsAndVerifies(alg: 'HS256' | 'EdDSA' | 'ES256'): Promise<void> {
  let signingKey: NonNullable<KeywardOptions['jwt']>['signingKey']
  if (alg === 'HS256') signingKey = { alg, secret: 'a-runtime-secret-of-at-least-32-bytes' }
  else {
    const params = alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' }
    const pair = (await crypto.subtle.generateKey(params, false, ['sign', 'verify'])) as CryptoKeyPair
    signingKey = { alg, kid: 'k1', privateKey: pair.privateKey, publicKey: pair.publicKey }
  }
  const { kw } = setup({ jwt: { ...JWT, signingKey } })
  const pair = await kw.tokens.issue({ subject: 'user_1', org: 'org_1', scopes: ['read'] })
  const good = await kw.verify({ headers: bearer(pair.accessToken) })
  assert(good.ok && good.auth.type === 'jwt' && good.auth.subject === 'user_1', `${alg} token refused: ${code(good)}`)
  const [head, body, sig] = pair.accessToken.split('.')
  const forged = `${head}.${body}.${sig!.startsWith('A') ? 'B' : 'A'}${sig!.slice(1)}`
  assert(code(await kw.verify({ headers: bearer(forged) })) === 'invalid_token', `${alg}: a forged signature passed`)
}

/** The core, in-process: no HTTP, no timers, a manual clock. */
export function coreChecks(): Check[] {
  return [
    {
      name: 'keys: create, get, list, revoke',
      async run() {
        const { kw, mint } = setup()
        const { key, info } = await mint({ scopes: ['write'] })
        assert(/^bsk_live_[0-9A-Za-z]{44}$/.test(key), `key has the wrong format: ${key.slice(0, 12)}...`)
        assert(!JSON.stringify(info).includes(key), 'info holds the secret')
        assert((await kw.keys.get(info.id))?.name === 'runtime check', 'get() lost the key')
        assert((await kw.keys.list({ orgId: 'org_1' })).length === 1, 'list() is wrong')
        await kw.keys.revoke(info.id)
        assert(code(await kw.verify({ headers: bearer(key) })) === 'invalid_token', 'a revoked key passed')
      },
    },
    {
      name: 'verify: ok with expanded scopes and project',
      async run() {
        const { kw, mint } = setup()
        const { key, info } = await mint({ scopes: ['admin'] })
        const r = await kw.verify({ headers: new Headers(bearer(key)), project: 'p1', scopes: 'write' })
        assert(r.ok && r.auth.keyId === info.id && r.auth.scopes.join() === 'admin,write,read', `expected ok, got ${code(r)}`)
        assert(code(await kw.verify({ headers: bearer(key), project: 'p2' })) === 'project_forbidden', 'another project passed')
      },
    },
    {
      name: 'verify: missing, invalid and forged credentials',
      async run() {
        const { kw, mint } = setup()
        const { key } = await mint()
        assert(code(await kw.verify({ headers: {} })) === 'missing_credentials', 'no credential was not 401 missing_credentials')
        const typo = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a')
        const r = await kw.verify({ headers: bearer(typo) })
        assert(!r.ok && r.error.status === 401 && r.error.code === 'invalid_token', `a bad checksum gave ${code(r)}`)
        const other = await createKeyward({ prefix: 'bsk' }).keys.create({ name: 'x', orgId: 'o', projects: ['p1'] })
        assert(code(await kw.verify({ headers: bearer(other.key) })) === 'invalid_token', 'a key unknown to the store passed')
      },
    },
    {
      name: 'verify: origin refusal',
      async run() {
        const { kw, mint } = setup()
        const { key } = await mint({ allowedOrigins: ['app.example'] })
        assert(
          code(await kw.verify({ headers: { ...bearer(key), origin: 'https://app.example' } })) === 'ok',
          'the allowed origin was refused',
        )
        assert(
          code(await kw.verify({ headers: { ...bearer(key), origin: 'https://evil.example' } })) === 'origin_forbidden',
          'a foreign origin passed',
        )
        assert(code(await kw.verify({ headers: bearer(key) })) === 'origin_forbidden', 'no origin passed an origin-bound key')
      },
    },
    {
      name: 'verify: 429 past the key quota, with Retry-After',
      async run() {
        const { kw, mint } = setup()
        const { key } = await mint({ rateLimit: { limit: 2, windowMs: 60_000 } })
        for (let i = 0; i < 2; i++) assert(code(await kw.verify({ headers: bearer(key) })) === 'ok', `call ${i + 1} of 2 refused`)
        const r = await kw.verify({ headers: bearer(key) })
        assert(!r.ok && r.error.status === 429 && r.error.code === 'rate_limited', `call 3 gave ${code(r)}`)
        assert(Number(r.error.headers['retry-after']) > 0, 'no Retry-After')
      },
    },
    {
      name: 'verify: lockout blocks the address after repeated failures',
      async run() {
        const { kw, mint } = setup({ lockout: { maxFailures: 3, windowMs: 60_000 } })
        const { key } = await mint()
        // Well-formed, but unknown to this store: a failure that counts.
        const wrong = (await createKeyward({ prefix: 'bsk' }).keys.create({ name: 'x', orgId: 'o', projects: ['p1'] })).key
        for (let i = 0; i < 3; i++) await kw.verify({ headers: bearer(wrong), ip: '203.0.113.9' })
        assert(code(await kw.verify({ headers: bearer(key), ip: '203.0.113.9' })) === 'ip_blocked', 'a blocked address got through')
        assert(code(await kw.verify({ headers: bearer(key), ip: '203.0.113.10' })) === 'ok', 'another address was blocked')
      },
    },
    {
      name: 'limiter: N parallel calls on limit L allow exactly L',
      async run() {
        const limiter = new MemoryRateLimiter()
        const rules = [{ limit: 7, windowMs: 60_000 }]
        const results = await Promise.all(Array.from({ length: 20 }, () => limiter.limit({ key: 'k', rules, now: T0 })))
        const allowed = results.filter((r) => r.allowed).length
        assert(allowed === 7, `allowed ${allowed} of 20 on limit 7`)
      },
    },
    { name: 'jwt: HS256 issue and verify, forgery refused', run: () => signsAndVerifies('HS256') },
    { name: 'jwt: EdDSA issue and verify, forgery refused', run: () => signsAndVerifies('EdDSA') },
    { name: 'jwt: ES256 issue and verify, forgery refused', run: () => signsAndVerifies('ES256') },
    {
      name: 'jwt: refresh reuse revokes the family',
      async run() {
        const { kw } = setup({ jwt: { ...JWT, signingKey: { alg: 'HS256', secret: 'a-runtime-secret-of-at-least-32-bytes' } } })
        const first = await kw.tokens.issue({ subject: 'u', org: 'o' })
        const second = await kw.tokens.refresh(first.refreshToken)
        const reuse = await kw.tokens.refresh(first.refreshToken).then(
          () => 'accepted',
          (e: unknown) => (isKeywardError(e) ? e.code : String(e)),
        )
        assert(reuse === 'invalid_token', `a reused refresh token gave ${reuse}`)
        const after = await kw.tokens.refresh(second.refreshToken).then(
          () => 'accepted',
          (e: unknown) => (isKeywardError(e) ? e.code : String(e)),
        )
        assert(after === 'invalid_token', `the family survived its reuse: ${after}`)
      },
    },
    {
      name: 'totp: login needs the second factor, then the token carries mfa',
      async run() {
        const { kw, clock } = setup({ jwt: { ...JWT, signingKey: { alg: 'HS256', secret: 'a-runtime-secret-of-at-least-32-bytes' } } })
        const secret = totp.generateSecret()
        const pending = await kw.tokens.login({ subject: 'u', org: 'o', twoFactor: { secret } }).then(
          () => undefined,
          (e: unknown) => (e instanceof MfaRequiredError ? e.pendingToken : undefined),
        )
        assert(pending !== undefined, 'a login without a code was not refused with mfa_required')
        const wrong = await kw.tokens
          .login({ pendingToken: pending, twoFactor: { secret, code: '000000' === totp.code(secret, clock.now()) ? '111111' : '000000' } })
          .then(
            () => 'accepted',
            (e: unknown) => (isKeywardError(e) ? e.code : String(e)),
          )
        assert(wrong !== 'accepted', 'a wrong TOTP code was accepted')
        const pair = await kw.tokens.login({ pendingToken: pending, twoFactor: { secret, code: totp.code(secret, clock.now()) } })
        const r = await kw.verify({ headers: bearer(pair.accessToken) })
        assert(r.ok && r.auth.mfa === true, `the TOTP login's token gave ${code(r)} / mfa ${r.ok ? r.auth.mfa : '-'}`)
      },
    },
  ]
}

/** Runs checks one after another; a throw is a failure with its message, never the whole run. */
export async function runChecks(checks: readonly Check[]): Promise<CheckResult[]> {
  const results: CheckResult[] = []
  for (const check of checks) {
    try {
      await check.run()
      results.push({ name: check.name, ok: true })
    } catch (error) {
      const message =
        error instanceof CheckFailed ? error.message : `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`
      results.push({ name: check.name, ok: false, message })
    }
  }
  return results
}

/** Prints one line per check and returns how many failed. */
export function report(runtime: string, results: readonly CheckResult[]): number {
  for (const r of results) console.log(r.ok ? `ok    ${runtime}: ${r.name}` : `FAIL  ${runtime}: ${r.name}: ${r.message}`)
  const failed = results.filter((r) => !r.ok).length
  console.log(`${runtime}: ${results.length - failed}/${results.length} checks passed`)
  return failed
}

export type { Keyward }
