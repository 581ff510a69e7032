/**
 * Core verification, no HTTP: keyward verify() beside the floor (SHA-256 of the key and a Map
 * lookup) and the API-key middleware a user would otherwise pick, each doing that same lookup.
 * Then Hono's bearerAuth beside keyward's Hono adapter, both through `app.request()`.
 * Run alone: `npx tsx bench/verify.bench.ts` (BENCH_SMOKE=1 for a quick run).
 */
import { createHash } from 'node:crypto'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { Hono } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import { HeaderAPIKeyStrategy } from 'passport-headerapikey'
import { authenticate } from '../adapters/hono.js'
import { createKeyward, MemoryTokenStore } from '../src/index.js'
import { emit, measure, opsRow, smoke, type Result, type Target } from './harness.js'

const store = new MemoryTokenStore()
const cached = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
const uncached = createKeyward({ prefix: 'bsk', store, cache: false, usageFlushMs: false })
const { key } = await cached.keys.create({ name: 'bench', orgId: 'org_1', projects: ['prod-site'], scopes: ['write'] })
const unknown = (await createKeyward({ prefix: 'bsk' }).keys.create({ name: 'x', orgId: 'o', projects: ['p'] })).key
const bearer = `Bearer ${key}`
const valid = { headers: { authorization: bearer }, ip: '203.0.113.10' }
// A key with usage credits (enough never to run out here): the spend rides on the limiter call.
const meteredKey = (
  await cached.keys.create({ name: 'metered', orgId: 'org_1', projects: ['prod-site'], credits: { remaining: 1_000_000_000_000_000 } })
).key
const metered = { headers: { authorization: `Bearer ${meteredKey}` }, ip: '203.0.113.10' }
// Distinct addresses per failing call, so lockout never kicks in and the failure path itself is timed.
let n = 0
const nextIp = () => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n++ & 255}`
const malformed = { authorization: 'Bearer bsk_live_not-a-real-key' }
const unknownHeaders = { authorization: `Bearer ${unknown}` }
for (const r of [await cached.verify(valid), await uncached.verify(valid), await cached.verify(metered)])
  if (!r.ok) throw new Error(`bench setup: ${r.error.code}`)

// The peers' lookup: what a hand-rolled design does, a Map from the key's SHA-256 to its owner.
interface Owner {
  orgId: string
  scopes: string[]
}
const owners = new Map<string, Owner>([[bytesToHex(sha256(utf8ToBytes(key))), { orgId: 'org_1', scopes: ['write'] }]])
const lookupNoble = (presented: string) => owners.get(bytesToHex(sha256(utf8ToBytes(presented)))) ?? null
const lookupNode = (presented: string) => owners.get(createHash('sha256').update(presented).digest('hex')) ?? null
if (lookupNoble(key) === null || lookupNode(key) === null) throw new Error('bench setup: lookup')

// passport-headerapikey, driven as passport.authenticate() drives a strategy: a per-request
// object inheriting from the strategy, with success/fail/error hooks.
const strategy = new HeaderAPIKeyStrategy({ header: 'Authorization', prefix: 'Bearer ' }, false, (apiKey, done) =>
  done(null, lookupNoble(apiKey) ?? false),
)
const passportReq = { headers: { authorization: bearer } }
function passportVerify(): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = Object.create(strategy) as HeaderAPIKeyStrategy & { success(user: unknown): void; fail(): void; error(e: unknown): void }
    s.success = resolve
    s.fail = () => reject(new Error('passport: refused'))
    s.error = reject
    s.authenticate(passportReq as never)
  })
}
await passportVerify()

// Hono: the same route behind bearerAuth (same lookup) and behind keyward, both via app.request().
const honoBare = new Hono().get('/x', (c) => c.text('ok'))
const honoBearer = new Hono().get('/x', bearerAuth({ verifyToken: (token) => lookupNoble(token) !== null }), (c) => c.text('ok'))
const honoKeyward = new Hono().get('/x', authenticate(cached), (c) => c.text('ok'))
const honoRequest = (app: Hono) => async () => {
  const res = await app.request('/x', { headers: { authorization: bearer } })
  if (res.status !== 200) throw new Error(`hono: ${res.status}`)
}
for (const app of [honoBare, honoBearer, honoKeyward]) await honoRequest(app)()

const core: Result[] = []
core.push(await measure('floor: SHA-256 (@noble/hashes) + Map lookup', () => lookupNoble(key)))
core.push(await measure('floor: SHA-256 (node:crypto) + Map lookup', () => lookupNode(key)))
core.push(await measure('keyward verify(): valid key, cached', () => cached.verify(valid)))
core.push(await measure('keyward verify(): valid key, uncached (memory store)', () => uncached.verify(valid)))
core.push(await measure('keyward verify(): valid key with credits, cached (memory limiter)', () => cached.verify(metered)))
core.push(await measure('passport-headerapikey strategy, same lookup', passportVerify))
const failures: Result[] = []
failures.push(await measure('keyward verify(): malformed key', () => cached.verify({ headers: malformed, ip: nextIp() })))
failures.push(await measure('keyward verify(): unknown well-formed key', () => cached.verify({ headers: unknownHeaders, ip: nextIp() })))
const hono: Result[] = []
// Interleaved: bare, bearerAuth, keyward, twice, keeping the better of each, so a noisy moment
// does not land on one case only.
const honoCases = [
  ['Hono app.request(): bare route', honoBare],
  ['Hono app.request(): bearerAuth({ verifyToken }), same lookup', honoBearer],
  ['Hono app.request(): keyward authenticate(), cached key', honoKeyward],
] as const
const best = new Map<string, Result>()
for (let pass = 0; pass < (smoke ? 1 : 2); pass++) {
  for (const [name, app] of honoCases) {
    const r = await measure(name, honoRequest(app), { rounds: 5 })
    const prev = best.get(name)
    if (prev === undefined || !(prev.opsPerSec >= r.opsPerSec)) best.set(name, r)
  }
}
for (const [name] of honoCases) hono.push(best.get(name)!)

const ops = (rs: Result[], name: string) => rs.find((r) => r.name === name)!.opsPerSec
const kwCached = ops(core, 'keyward verify(): valid key, cached')
const floor = ops(core, 'floor: SHA-256 (@noble/hashes) + Map lookup')
const targets: Target[] = smoke
  ? []
  : [
      {
        name: 'cached verify() ahead of passport-headerapikey doing the same lookup',
        met: kwCached > ops(core, 'passport-headerapikey strategy, same lookup'),
        detail:
          `${(kwCached / ops(core, 'passport-headerapikey strategy, same lookup')).toFixed(2)}× ` +
          `passport-headerapikey; ${(kwCached / floor).toFixed(2)}× the floor (a cached verify() hashes ` +
          'the key too, to compare it)',
      },
      {
        name: 'cached verify() within 1.1× the time of one SHA-256 (@noble/hashes) + Map lookup',
        met: floor / kwCached <= 1.1,
        detail:
          `${(floor / kwCached).toFixed(2)}× the floor's time per call ` +
          '(keyward hashes ASCII keys with its own SHA-256, src/internal/sha256.ts)',
      },
    ]

emit({
  id: 'verify',
  title: 'Core verification (no HTTP)',
  order: 10,
  note:
    'One key, in-memory store and limiter, lockout on (defaults), no rate limit on the key. The ' +
    'floor and the peers do no more than the lookup: no expiry, revocation, scope, origin, IP, ' +
    'lockout or rate-limit checks, which keyward runs on every call. A cached verify() still hashes ' +
    'the presented key to compare it in constant time, so the floor bounds it from above.',
  tables: [
    {
      title: 'Valid API key',
      unit: 'ops/s',
      reference: 'keyward verify(): valid key, cached',
      columns: ['ns/op'],
      rows: core.map((r) => opsRow(r)),
    },
    {
      title: 'Refusals',
      unit: 'ops/s',
      columns: ['ns/op'],
      note:
        'Each call from a new client address so lockout does not cut the work short. A malformed key is ' +
        'refused before any hashing or store access; an unknown id is hashed and compared against a ' +
        'dummy digest so its timing matches a wrong secret.',
      rows: failures.map((r) => opsRow(r)),
    },
    {
      title: 'Hono, in process (app.request())',
      unit: 'req/s',
      reference: 'Hono app.request(): bare route',
      columns: ['ns/op'],
      note: 'Best of two interleaved passes per case.',
      rows: hono.map((r) => opsRow(r)),
    },
  ],
  targets,
})
