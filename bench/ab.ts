/**
 * Release-to-release A/B: the same cases, through the public API only, on two builds of keyward
 * (two git revisions) loaded into one process and measured in interleaved rounds, so a noisy moment on
 * a shared machine lands on both sides alike. Answers "did this change make any row slower?" far more
 * tightly than two `npm run bench` runs minutes apart (those differ by 10–30% on single rows).
 *
 * Usage: `npx tsx bench/ab.ts <base-rev> [head-rev, default HEAD] [--rounds N]`
 * Each revision is checked out into a temporary worktree (node_modules shared with this checkout) and
 * built with its own `tsup`; the worktrees are removed at the end. Prints, per case, the median of the
 * per-round ratios head ÷ base (above 1 is faster) and their spread, and flags a case whose median is
 * below 0.95 as a regression (exit code 1).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Hono } from 'hono'
import { median } from './harness.js'

const args = process.argv.slice(2)
const roundsAt = args.indexOf('--rounds')
const rounds = roundsAt === -1 ? 15 : Number(args.splice(roundsAt, 2)[1])
const [baseRev, headRev = 'HEAD'] = args
if (baseRev === undefined || !(rounds > 0)) {
  console.error('usage: npx tsx bench/ab.ts <base-rev> [head-rev] [--rounds N]')
  process.exit(2)
}
const root = resolve(import.meta.dirname, '..')
const git = (...a: string[]) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim()

/** Checks `rev` out into a temporary worktree and builds it; returns the worktree's path. */
function build(rev: string): string {
  const sha = git('rev-parse', '--verify', `${rev}^{commit}`)
  const dir = join(mkdtempSync(join(tmpdir(), 'keyward-ab-')), sha.slice(0, 10))
  git('worktree', 'add', '--detach', dir, sha)
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  console.error(`building ${rev} (${sha.slice(0, 10)}) in ${dir}`)
  execFileSync('npx', ['tsup'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] })
  if (!existsSync(join(dir, 'dist/index.js'))) throw new Error(`${rev}: the build left no dist/index.js`)
  return dir
}

// The slice of the public API the cases use; both revisions have had it since 0.1.
interface VerifyResult {
  ok: boolean
  error?: { code: string }
}
interface Kw {
  verify(input: object): Promise<VerifyResult>
  keys: { create(input: object): Promise<{ key: string }> }
  tokens: { issue(input: object): Promise<{ accessToken: string }> }
}
interface Build {
  createKeyward(options: object): Kw
  MemoryTokenStore: new () => object
  authenticate(kw: Kw): Parameters<Hono['use']>[1]
}

async function load(dir: string): Promise<Build> {
  const core = (await import(pathToFileURL(join(dir, 'dist/index.js')).href)) as Omit<Build, 'authenticate'>
  const hono = (await import(pathToFileURL(join(dir, 'dist/hono.js')).href)) as Pick<Build, 'authenticate'>
  return { ...core, authenticate: hono.authenticate }
}

type Case = [name: string, fn: () => unknown]
const ip = '203.0.113.10'
const secret = 'a-benchmark-secret-of-at-least-32-bytes'

/** The cases, set up on one build. Every case throws if its answer is not the expected one. */
async function cases(b: Build): Promise<Case[]> {
  const options = { prefix: 'bsk', usageFlushMs: false }
  const store = new b.MemoryTokenStore()
  const kw = b.createKeyward({ ...options, store })
  const uncached = b.createKeyward({ ...options, store, cache: false })
  const jwt = b.createKeyward({
    ...options,
    lockout: false,
    jwt: { issuer: 'https://a.example', audience: 'api', signingKey: { alg: 'HS256', secret } },
  })
  const jwtUncached = b.createKeyward({
    ...options,
    lockout: false,
    jwt: { issuer: 'https://a.example', audience: 'api', signingKey: { alg: 'HS256', secret }, cache: false },
  })
  const base = { name: 'ab', orgId: 'org_1', projects: ['prod-site'], scopes: ['write'] }
  const plain = (await kw.keys.create(base)).key
  const limited = (await kw.keys.create({ ...base, rateLimit: [{ limit: 1e9, windowMs: 60_000 }] })).key
  const unknown = (await b.createKeyward({ prefix: 'bsk' }).keys.create(base)).key
  const { accessToken } = await jwt.tokens.issue({ subject: 'user_42', org: 'org_1', scopes: ['write'] })
  let n = 0
  // A new address per failing call, so lockout never cuts the failure path short.
  const nextIp = () => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n++ & 255}`
  const expect = (want: boolean, p: Promise<VerifyResult>) =>
    p.then((r) => {
      if (r.ok !== want) throw new Error(`ab: expected ok=${want}, got ${r.error?.code}`)
    })
  const bearer = (k: string) => ({ authorization: `Bearer ${k}` })
  const app = new Hono().get('/x', b.authenticate(kw), (c) => c.text('ok'))
  return [
    ['verify(): valid key, cached', () => expect(true, kw.verify({ headers: bearer(plain), ip }))],
    ['verify(): rate-limited key, cached', () => expect(true, kw.verify({ headers: bearer(limited), ip }))],
    ['verify(): valid key, uncached (memory store)', () => expect(true, uncached.verify({ headers: bearer(plain), ip }))],
    ['verify(): valid key, scope checked', () => expect(true, kw.verify({ headers: bearer(plain), ip, scopes: 'write' }))],
    ['verify(): malformed key', () => expect(false, kw.verify({ headers: bearer('bsk_live_not-a-real-key'), ip: nextIp() }))],
    ['verify(): unknown well-formed key', () => expect(false, kw.verify({ headers: bearer(unknown), ip: nextIp() }))],
    ['verify(): JWT HS256, cached', () => expect(true, jwt.verify({ headers: bearer(accessToken), ip }))],
    ['verify(): JWT HS256, uncached', () => expect(true, jwtUncached.verify({ headers: bearer(accessToken), ip }))],
    [
      'Hono app.request(): authenticate(), cached key',
      () =>
        Promise.resolve(app.request('/x', { headers: bearer(plain) })).then((r) => {
          if (r.status !== 200) throw new Error(`ab: hono ${r.status}`)
        }),
    ],
    ['keys.create()', () => kw.keys.create(base)],
  ]
}

const cpu = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/** Operations per CPU-second of `fn` over about `ms` milliseconds. */
async function rate(fn: () => unknown, ms: number): Promise<number> {
  let ops = 0
  const end = performance.now() + ms
  const c0 = cpu()
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) await fn()
    ops += 64
  }
  return ops / (cpu() - c0)
}

const dirs = [build(baseRev), build(headRev)]
try {
  const [a, b] = [await cases(await load(dirs[0]!)), await cases(await load(dirs[1]!))]
  for (const [, fn] of [...a, ...b]) for (let i = 0; i < 2000; i++) await fn() // warm-up, both sides
  const ratios = a.map(() => [] as number[])
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < a.length; i++) {
      // Alternate which side goes first, so a trend within a round favours neither.
      const first = r % 2 === 0 ? a[i]![1] : b[i]![1]
      const second = r % 2 === 0 ? b[i]![1] : a[i]![1]
      const x = await rate(first, 120)
      const y = await rate(second, 120)
      ratios[i]!.push(r % 2 === 0 ? y / x : x / y)
    }
    console.error(`round ${r + 1}/${rounds}`)
  }
  let regressions = 0
  console.log(`\nhead ${headRev} ÷ base ${baseRev}, ${rounds} interleaved rounds (ops per CPU-second; > 1 is faster)\n`)
  console.log('| case | median ratio | middle half | min–max | verdict |\n|---|---:|---:|---:|---|')
  for (let i = 0; i < a.length; i++) {
    const s = [...ratios[i]!].sort((p, q) => p - q)
    const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))]!.toFixed(2)
    const m = median(s)
    const verdict = m < 0.95 ? 'REGRESSION (> 5% slower)' : m > 1.05 ? 'faster' : 'same (±5%)'
    if (m < 0.95) regressions++
    console.log(`| ${a[i]![0]} | ${m.toFixed(3)} | ${q(0.25)}–${q(0.75)} | ${q(0)}–${q(1)} | ${verdict} |`)
  }
  process.exitCode = regressions > 0 ? 1 : 0
} finally {
  for (const dir of dirs) git('worktree', 'remove', '--force', dir)
}
