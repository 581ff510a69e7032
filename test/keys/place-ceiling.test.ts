/**
 * The grant ceiling on places, checked against verify()'s own rule (placeRefusal): whenever the
 * ceiling lets a caller grant a key, every request that key admits, the caller's key admits too.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseCidr, parseIp } from '../../src/http/ip.js'
import { ParseMemo, placeRefusal, type PlaceRules, type RestrictionMode } from '../../src/http/restrictions.js'
import { placeIssues, type PlaceLists } from '../../src/keys/place-ceiling.js'

const NETWORKS = ['10.0.0.0/8', '10.2.0.0/16', '10.2.3.4', '192.0.2.0/24', '0.0.0.0/0', '2001:db8::/32', '::/0']
const ORIGINS = ['a.example', 'b.example', 'c.example']
const CLIENTS = ['10.2.3.4', '10.9.9.9', '192.0.2.5', '198.51.100.7', '2001:db8::1', '2001:db9::1', undefined]
const REQUEST_ORIGINS = [undefined, 'https://a.example', 'https://b.example', 'https://c.example', 'null']

const memo = new ParseMemo()
const rules = (lists: PlaceLists): PlaceRules => ({
  allowedOrigins: lists.allowedOrigins,
  networks: lists.allowedIps.map((n) => parseCidr(n)!),
  hasIpRules: lists.allowedIps.length > 0,
})
const admits = (lists: PlaceLists, mode: RestrictionMode, ip: string | undefined, origin: string | undefined) =>
  placeRefusal(rules(lists), origin === undefined ? {} : { origin }, ['origin'], ip === undefined ? null : memo.address(ip), memo, mode) ===
  null

const lists = fc.record({
  allowedIps: fc.subarray(NETWORKS),
  allowedOrigins: fc.subarray(ORIGINS),
})

describe('place ceiling', () => {
  it('the addresses used here parse', () => {
    for (const n of NETWORKS) expect(parseCidr(n)).not.toBeNull()
    for (const ip of CLIENTS) if (ip !== undefined) expect(parseIp(ip)).not.toBeNull()
  })

  for (const mode of ['strict', 'origin-or-ip'] as const) {
    it(`${mode}: a key the ceiling allows admits no request the caller's key refuses`, () => {
      fc.assert(
        fc.property(lists, lists, (caller, granted) => {
          if (placeIssues(granted, caller, mode).length > 0) return
          for (const ip of CLIENTS)
            for (const origin of REQUEST_ORIGINS)
              if (admits(granted, mode, ip, origin)) expect(admits(caller, mode, ip, origin), `${ip} ${origin}`).toBe(true)
        }),
        { numRuns: 2000 },
      )
    })

    it(`${mode}: a caller may always grant its own lists (the ceiling is not stricter than itself)`, () => {
      fc.assert(
        fc.property(lists, (caller) => {
          expect(placeIssues(caller, caller, mode)).toEqual([])
        }),
      )
    })
  }
})
