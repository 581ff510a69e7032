/**
 * verify() on the in-memory defaults, beside one SHA-256 of a key (the floor of any design that
 * stores hashes). Run: `npm run bench` (BENCH_SMOKE=1 for a quick run).
 */
import { cpus } from 'node:os'
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8ToBytes } from '@noble/hashes/utils.js'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore } from '../src/index.js'
import { measure, smoke, table, type Result } from './harness.js'

const store = new MemoryTokenStore()
const cached = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
const uncached = createKeyward({ prefix: 'bsk', store, cache: false, usageFlushMs: false })
const { key } = await cached.keys.create({ name: 'bench', orgId: 'org_1', projects: ['prod-site'], scopes: ['write'], allowedOrigins: ['example.com'] })
const unknown = (await createKeyward({ prefix: 'bsk' }).keys.create({ name: 'x', orgId: 'o', projects: ['p'] })).key
const valid = { headers: { authorization: `Bearer ${key}`, origin: 'https://example.com' }, ip: '203.0.113.10', project: 'prod-site', scopes: 'read' }
// Distinct addresses per call for failures, so lockout never kicks in and the failure path itself is timed.
let n = 0
const nextIp = () => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n++ & 255}`
const malformed = { authorization: 'Bearer bsk_live_not-a-real-key' }
const unknownHeaders = { authorization: `Bearer ${unknown}` }

for (const r of [await cached.verify(valid), await uncached.verify(valid)]) if (!r.ok) throw new Error(`bench setup: ${r.error.code}`)

const limiter = new MemoryRateLimiter()
const rules = [{ limit: 1_000_000_000, windowMs: 3_600_000 }]
let clock = Date.now()
const keyBytes = () => utf8ToBytes(key)

const results: Result[] = []
results.push(await measure('SHA-256 of one key (@noble/hashes)', () => sha256(keyBytes())))
results.push(await measure('verify(): valid key, cached', () => cached.verify(valid)))
results.push(await measure('verify(): valid key, uncached (memory store)', () => uncached.verify(valid)))
results.push(await measure('verify(): malformed key', () => cached.verify({ headers: malformed, ip: nextIp() })))
results.push(await measure('verify(): unknown well-formed key', () => cached.verify({ headers: unknownHeaders, ip: nextIp() })))
results.push(await measure('MemoryRateLimiter.limit() (async, as a custom caller sees it)', () => limiter.limit({ key: 'AbCd1234', rules, now: clock++ })))
results.push(await measure('MemoryRateLimiter.limitSync() (what verify() calls)', () => limiter.limitSync({ key: 'AbCd1234', rules, now: clock++ })))

const [sha, hit] = results
console.log(`keyward verify benchmark — ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}${smoke ? ' (smoke run)' : ''}\n`)
console.log(table(results))
if (!smoke) console.log(`\ncached verify() costs ${(sha!.opsPerSec / hit!.opsPerSec).toFixed(2)}x one SHA-256`)
