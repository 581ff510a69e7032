/**
 * Origin and IP rules in both restriction modes, every combination written out: key lists
 * (neither, origins only, IPs only, both) × request (Origin or X-Origin present and matching or
 * not, absent, `null`, no client address) × mode. The tables are the documented rules
 * (docs/origin-and-ip.md), not recomputed from the code under test.
 */
import { describe, expect, it } from 'vitest'
import type { KeywardOptions } from 'keyward'
import { setup } from '../support/setup.js'

const ORIGIN_OK = 'https://app.example.io'
const ORIGIN_BAD = 'https://evil.io'
const IP_OK = '203.0.113.10'
const IP_BAD = '198.51.100.7'

const REQUESTS = {
  'Origin ok, IP ok': { headers: { origin: ORIGIN_OK }, ip: IP_OK },
  'Origin ok, IP bad': { headers: { origin: ORIGIN_OK }, ip: IP_BAD },
  'Origin bad, IP ok': { headers: { origin: ORIGIN_BAD }, ip: IP_OK },
  'Origin bad, IP bad': { headers: { origin: ORIGIN_BAD }, ip: IP_BAD },
  'no Origin, IP ok': { headers: {}, ip: IP_OK },
  'no Origin, IP bad': { headers: {}, ip: IP_BAD },
  'X-Origin ok, IP bad': { headers: { 'x-origin': ORIGIN_OK }, ip: IP_BAD },
  'X-Origin bad, IP ok': { headers: { 'x-origin': ORIGIN_BAD }, ip: IP_OK },
  'Origin bad + X-Origin ok, IP ok': { headers: { origin: ORIGIN_BAD, 'x-origin': ORIGIN_OK }, ip: IP_OK },
  'Origin null, IP ok': { headers: { origin: 'null' }, ip: IP_OK },
  'no Origin, no address': { headers: {}, ip: undefined },
} as const
type RequestName = keyof typeof REQUESTS

const KEYS = {
  neither: {},
  'origins only': { allowedOrigins: ['app.example.io'] },
  'IPs only': { allowedIps: ['203.0.113.0/24'] },
  both: { allowedOrigins: ['app.example.io'], allowedIps: ['203.0.113.0/24'] },
} as const
type KeyName = keyof typeof KEYS

type Outcome = 'ok' | 'origin_forbidden' | 'ip_forbidden'
// Columns in the order of REQUESTS.
type Row = readonly [Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome]
const OK = 'ok'
const OF = 'origin_forbidden'
const IF = 'ip_forbidden'

const STRICT: Record<KeyName, Row> = {
  neither: [OK, OK, OK, OK, OK, OK, OK, OK, OK, OK, OK],
  'origins only': [OK, OK, OF, OF, OF, OF, OK, OF, OF, OF, OF],
  'IPs only': [OK, IF, OK, IF, OK, IF, IF, OK, OK, OK, IF],
  both: [OK, OK, OF, OF, OK, IF, OK, OF, OF, OF, IF],
}

const ORIGIN_OR_IP: Record<KeyName, Row> = {
  neither: [OK, OK, OK, OK, OK, OK, OK, OK, OK, OK, OK],
  // No Origin: the IP list decides, and it is empty.
  'origins only': [OK, OK, OF, OF, OK, OK, OK, OF, OF, OF, OK],
  // An Origin, any Origin: the origin list decides, and it is empty.
  'IPs only': [OK, OK, OK, OK, OK, IF, OK, OK, OK, OK, IF],
  both: [OK, OK, OF, OF, OK, IF, OK, OF, OF, OF, IF],
}

async function outcomes(options: Partial<KeywardOptions>): Promise<Record<KeyName, Outcome[]>> {
  // lockout off: forty refusals from two addresses would otherwise block them half-way.
  const { kw, bearer, mint } = setup({ originHeaders: ['origin', 'x-origin'], lockout: false, ...options })
  const result = {} as Record<KeyName, Outcome[]>
  for (const keyName of Object.keys(KEYS) as KeyName[]) {
    const { key } = await mint(KEYS[keyName])
    result[keyName] = []
    for (const requestName of Object.keys(REQUESTS) as RequestName[]) {
      const { headers, ip } = REQUESTS[requestName]
      const r = await kw.verify({ headers: bearer(key, headers), ip })
      result[keyName].push(r.ok ? 'ok' : (r.error.code as Outcome))
    }
  }
  return result
}

describe("restrictionMode: 'strict' (the default)", () => {
  it('an IP list binds whatever Origin is claimed; an origins-only key needs an Origin', async () => {
    const expected = Object.fromEntries(Object.entries(STRICT).map(([k, row]) => [k, [...row]]))
    expect(await outcomes({})).toEqual(expected)
    expect(await outcomes({ restrictionMode: 'strict' })).toEqual(expected)
  })
})

describe("restrictionMode: 'origin-or-ip' (TokenKit's rule)", () => {
  it('an Origin (or X-Origin) means the origin list only, none means the IP list only, an empty list passes', async () => {
    const expected = Object.fromEntries(Object.entries(ORIGIN_OR_IP).map(([k, row]) => [k, [...row]]))
    expect(await outcomes({ restrictionMode: 'origin-or-ip' })).toEqual(expected)
  })

  it('X-Origin counts as an Origin only when originHeaders lists it', async () => {
    const { kw, bearer, mint } = setup({ restrictionMode: 'origin-or-ip', lockout: false })
    const { key } = await mint({ allowedIps: ['203.0.113.10'] })
    // Not an origin header here: the request has no Origin, so the IP list decides.
    const r = await kw.verify({ headers: bearer(key, { 'x-origin': ORIGIN_OK }), ip: IP_BAD })
    expect(r.ok === false && r.error.code).toBe('ip_forbidden')
    expect((await kw.verify({ headers: bearer(key, { origin: ORIGIN_OK }), ip: IP_BAD })).ok).toBe(true)
  })

  it('its refusals count toward lockout like the strict ones', async () => {
    const { kw, bearer, mint } = setup({ restrictionMode: 'origin-or-ip', lockout: { maxFailures: 3, windowMs: 60_000 } })
    const { key } = await mint({ allowedOrigins: ['app.example.io'] })
    for (let i = 0; i < 3; i++) {
      const r = await kw.verify({ headers: bearer(key, { origin: ORIGIN_BAD }), ip: IP_BAD })
      expect(r.ok === false && r.error.code).toBe('origin_forbidden')
    }
    const blocked = await kw.verify({ headers: bearer(key, { origin: ORIGIN_OK }), ip: IP_BAD })
    expect(blocked.ok === false && blocked.error.code).toBe('ip_blocked')
  })

  it('is refused when misspelled', () => {
    expect(() => setup({ restrictionMode: 'origin_or_ip' as never })).toThrow(/restrictionMode must be 'strict' or 'origin-or-ip'/)
  })
})
