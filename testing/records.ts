import type { RefreshFamilyRecord } from '../src/jwt/refresh-family.js'
import type { KeyRecord } from '../src/types.js'

/** The suites' fixed instant: times in records are this, give or take milliseconds. */
export const T0 = Date.UTC(2026, 10, 22, 12, 0, 0, 123)

// A random tag per run (and per process): records of two runs, or of the two processes of one
// run, never share an id on a backend that outlives a test (Redis, a real database).
const RUN = Math.floor(Math.random() * 36 ** 4)
  .toString(36)
  .padStart(4, '0')
let counter = 0
/** A fresh 8-character base62 id, distinct within a run. */
function nextId(): string {
  counter += 1
  return `k${counter.toString(36).padStart(7, '0')}`
}

/**
 * A key record with every field populated with something a backend could get wrong: quotes,
 * backslashes, commas and braces in strings, non-ASCII, `NULL` and `''` as projects, nested JSON
 * metadata, millisecond times. The one place the suites build full records: a new `KeyRecord`
 * field gets its value here.
 *
 * @example
 * ```ts
 * const record = fullRecord({ orgId: 'org_2' })
 * expect(await store.insert(record)).toBe(true)
 * ```
 */
export function fullRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: nextId(),
    prefix: 'bsk',
    environment: 'live',
    hash: 'a'.repeat(64),
    orgId: 'org_1',
    name: 'Production Website Token',
    description: 'Token for tracking events: "quoted", \\backslash\\, comma, {braces}, é ✓',
    projects: ['prod-site', 'a"b', 'c,d', 'x\\y', '{}', 'NULL', ''],
    scopes: ['write', 'billing:read'],
    allowedOrigins: ['example.com', 'xn--bcher-kva.example'],
    allowedIps: ['203.0.113.10', '10.0.0.0/8', '2001:db8::/32'],
    rateLimit: [
      { limit: 5000, windowMs: 3_600_000, name: 'hourly' },
      { limit: 10, windowMs: 1000 },
    ],
    metadata: {
      team: 'web',
      n: 3,
      ratio: 0.5,
      flag: false,
      none: null,
      nested: { list: [1, 'x', true, null], deep: { é: '✓' } },
      quote: `"'\\`,
    },
    expiresAt: Date.UTC(2100, 0, 1, 0, 0, 0, 999),
    createdAt: T0,
    updatedAt: T0 + 1,
    lastUsedAt: T0 + 2,
    revokedAt: T0 + 3,
    rotatedFrom: 'Zz000001',
    rotatedTo: 'Zz000002',
    version: 7,
    rootId: 'Zz000000',
    credits: { remaining: 9_007_199_254, refill: { amount: 1000, intervalMs: 86_400_000 }, epoch: T0 + 4 },
    ...overrides,
  }
}

/**
 * A key record with every optional field empty or null.
 *
 * @example
 * ```ts
 * await store.insert(bareRecord({ id: 'AbCd1234' }))
 * ```
 */
export function bareRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: nextId(),
    prefix: 'bsk',
    environment: 'test',
    hash: 'b'.repeat(64),
    orgId: 'org_1',
    name: 'Bare',
    description: null,
    projects: ['p'],
    scopes: ['read'],
    allowedOrigins: [],
    allowedIps: [],
    rateLimit: [],
    metadata: {},
    expiresAt: null,
    createdAt: T0,
    updatedAt: T0,
    lastUsedAt: null,
    revokedAt: null,
    rotatedFrom: null,
    rotatedTo: null,
    version: 0,
    rootId: null,
    credits: null,
    ...overrides,
  }
}

const DAY = 86_400_000

/**
 * A refresh-token family created now (the real clock: Redis expires keys on its own clock),
 * alive for 7 days, with an id no other run or process uses.
 *
 * @example
 * ```ts
 * expect(await store.insertRefreshFamily!(familyRecord())).toBe(true)
 * ```
 */
export function familyRecord(overrides: Partial<RefreshFamilyRecord> = {}): RefreshFamilyRecord {
  counter += 1
  const now = Date.now()
  return {
    id: `fam${RUN}x${counter.toString(36).padStart(6, '0')}AbCdEfGhIj`.slice(0, 22),
    subject: 'user_é ✓ "1"',
    orgId: 'org_1',
    current: `jti_${counter}_0`,
    expiresAt: now + 7 * DAY,
    revokedAt: null,
    createdAt: now,
    ...overrides,
  }
}
