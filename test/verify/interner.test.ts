import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { digestToHex } from '../../src/keys/hashing.js'
import { buildCachedKey } from '../../src/verify/cached-key.js'
import { Interner } from '../../src/verify/interner.js'
import type { KeyRecord } from '../../src/types.js'

const record = (over: Partial<KeyRecord> = {}): KeyRecord => ({
  id: 'k0000001',
  prefix: 'bsk',
  environment: 'live',
  hash: 'ab'.repeat(32),
  orgId: 'org_1',
  name: 'n',
  description: null,
  projects: ['site'],
  scopes: ['read'],
  allowedOrigins: [],
  allowedIps: [],
  rateLimit: [],
  metadata: { team: 'a' },
  expiresAt: null,
  createdAt: 1,
  updatedAt: 1,
  lastUsedAt: null,
  revokedAt: null,
  rotatedFrom: null,
  rotatedTo: null,
  version: 0,
  rootId: null,
  credits: null,
  ...over,
})
const settings = { expandScopes: (s: readonly string[]) => [...s], defaultRateLimit: [] }

describe('Interner', () => {
  it('hands out one frozen list per distinct value', () => {
    const interner = new Interner(10)
    const a = interner.list(['read', 'write'])
    expect(interner.list(['read', 'write'])).toBe(a)
    expect(Object.isFrozen(a)).toBe(true)
    expect(interner.list(['write', 'read'])).not.toBe(a)
  })

  it('never shares lists whose joined text is the same (a scope must not appear from a comma)', () => {
    const interner = new Interner(10)
    expect(interner.list(['a,b'])).toEqual(['a,b'])
    expect(interner.list(['a', 'b'])).toEqual(['a', 'b'])
    expect(interner.list(['a\u0000b'])).toEqual(['a\u0000b'])
  })

  it('stays bounded: a full table starts over, and what it handed out stays intact', () => {
    const interner = new Interner(2)
    const first = interner.list(['x'])
    for (let i = 0; i < 10; i++) interner.list([`s${i}`])
    expect(first).toEqual(['x'])
    expect(interner.list(['x'])).not.toBe(first)
  })
})

describe('buildCachedKey with an interner', () => {
  it('shares the lists of two keys, and each auth still reads its own key lazily, frozen', () => {
    const interner = new Interner(100)
    const a = buildCachedKey(settings, record(), interner)
    const b = buildCachedKey(settings, record({ id: 'k0000002', name: 'other' }), interner)
    expect(b.auth.scopes).toBe(a.auth.scopes)
    expect(b.auth.projects).toBe(a.auth.projects)
    expect(Object.isFrozen(a.auth)).toBe(true)
    expect(Object.keys(a.auth)).toEqual(['type', 'keyId', 'org', 'scopes', 'projects', 'environment', 'key'])
    const key = a.auth.type === 'api_key' ? a.auth.key : undefined
    expect(key?.name).toBe('n')
    expect(key?.metadata).toEqual({ team: 'a' })
    expect(b.auth.type === 'api_key' ? b.auth.key.name : undefined).toBe('other')
    // Read twice, the same frozen object.
    expect(a.auth.type === 'api_key' ? a.auth.key : undefined).toBe(key)
    expect(Object.isFrozen(key)).toBe(true)
    expect(() => {
      ;(a.auth as { keyId: string }).keyId = 'x'
    }).toThrow(TypeError)
  })
})

describe('digestToHex', () => {
  it('writes the same hex as noble, for every byte value', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(digestToHex(bytes)).toBe(bytesToHex(bytes))
  })
})
