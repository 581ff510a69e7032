import { describe, expect, it } from 'vitest'
import { createKeyward } from '../../src/index.js'
import { toKeyInfo } from '../../src/keys/info.js'
import { checkRecordShape, copyKeyRecord, decodeKeyRecord, isKeyRecord, keySettings } from '../../src/keys/record-codec.js'
import { KEY_RECORD_FIELDS, KEY_RECORD_FIELD_NAMES, PATCHABLE_FIELDS, SETTING_FIELDS } from '../../src/keys/record-fields.js'
import { KEY_COLUMNS } from '../../src/stores/postgres-record.js'
import { postgresCreditsStatements, postgresLifecycleStatements, postgresSchemaStatements } from '../../src/stores/postgres-schema.js'
import { bareRecord, fullRecord } from '../../testing/records.js'

/** The columns the migrations create, read from their SQL (the table is declared by hand there). */
function schemaColumns(): string[] {
  const [create] = postgresSchemaStatements()
  const columns = [...create!.matchAll(/^ {2}([a-z_]+)\s/gm)].map((m) => m[1]!)
  for (const statement of [...postgresLifecycleStatements(), ...postgresCreditsStatements()])
    columns.push(/ADD COLUMN IF NOT EXISTS ([a-z_]+)/.exec(statement)![1]!)
  return columns
}

describe('KEY_RECORD_FIELDS', () => {
  it('names every field of a stored record, and nothing else', () => {
    expect([...KEY_RECORD_FIELD_NAMES].sort()).toStrictEqual(Object.keys(fullRecord()).sort())
  })

  it('maps each field to a column the SQL migrations create, one to one', () => {
    const columns = KEY_RECORD_FIELD_NAMES.map((field) => KEY_RECORD_FIELDS[field].column)
    expect([...columns].sort()).toStrictEqual(schemaColumns().sort())
    expect(KEY_COLUMNS.split(', ')).toStrictEqual(columns)
  })

  it('lets a patch set none of id, prefix, environment, org, creation time, version or root', () => {
    for (const field of ['id', 'prefix', 'environment', 'orgId', 'createdAt', 'version', 'rootId'] as const)
      expect(PATCHABLE_FIELDS).not.toContain(field)
    expect(PATCHABLE_FIELDS).toContain('revokedAt')
  })
})

describe('isKeyRecord / checkRecordShape', () => {
  it('accepts full and bare records, and records written before version and rootId existed', () => {
    expect(isKeyRecord(fullRecord())).toBe(true)
    expect(isKeyRecord(bareRecord())).toBe(true)
    const { version: _v, rootId: _r, ...legacy } = fullRecord()
    expect(isKeyRecord(legacy)).toBe(true)
    const { credits: _c, ...beforeCredits } = fullRecord()
    expect(isKeyRecord(beforeCredits)).toBe(true)
  })

  // Each would fail open if decided on: a time as text never expires, a list as text matches substrings.
  const malformed: Array<[string, Record<string, unknown>]> = [
    ['expiry as an ISO string', { expiresAt: '2026-01-01T00:00:00Z' }],
    ['revocation as a Date', { revokedAt: new Date() }],
    ['creation time as a fraction', { createdAt: 1.5 }],
    ['projects as text', { projects: 'prod-site' }],
    ['a scope that is not a string', { scopes: [1] }],
    ['origins missing', { allowedOrigins: undefined }],
    ['a rule with a text limit', { rateLimit: [{ limit: '5', windowMs: 1000 }] }],
    ['a rule with a zero limit', { rateLimit: [{ limit: 0, windowMs: 1000 }] }],
    ['a rule with a negative window', { rateLimit: [{ limit: 5, windowMs: -1 }] }],
    ['metadata as an array', { metadata: [] }],
    ['an unknown environment', { environment: 'prod' }],
    ['no hash', { hash: undefined }],
    ['a version that is not an integer', { version: '3' }],
    ['a root id that is not a string', { rootId: 7 }],
    // A balance made of text or NaN would never run out: the record is refused (503) instead.
    ['credits as text', { credits: '100' }],
    ['a negative credit balance', { credits: { remaining: -1, refill: null, epoch: 1 } }],
    ['a fractional credit balance', { credits: { remaining: 1.5, refill: null, epoch: 1 } }],
    ['credits without an epoch', { credits: { remaining: 5, refill: null } }],
    ['a removal marker that is not true', { credits: { remaining: 5, refill: null, epoch: 2, removed: 'yes' } }],
    ['a refill of a zero interval', { credits: { remaining: 5, refill: { amount: 5, intervalMs: 0 }, epoch: 1 } }],
    ['a refill with a text amount', { credits: { remaining: 5, refill: { amount: '5', intervalMs: 60_000 }, epoch: 1 } }],
  ]
  for (const [what, change] of malformed) {
    it(`refuses ${what}`, () => {
      const record = { ...fullRecord(), ...change }
      expect(isKeyRecord(record)).toBe(false)
      expect(() => checkRecordShape(record)).toThrow(new TypeError('keyward: the store returned a malformed key record'))
    })
  }

  it('refuses what is not an object', () => {
    for (const value of [null, undefined, 'record', 42, []]) expect(isKeyRecord(value)).toBe(false)
  })
})

describe('decodeKeyRecord', () => {
  it('names the first malformed field through the store callback, and copies lists', () => {
    const source = fullRecord()
    const read = (change: Record<string, unknown>) => (field: string) => (({ ...source, ...change }) as Record<string, unknown>)[field]
    const refuse = (field: string): never => {
      throw new TypeError(`bad ${field}`)
    }
    const decoded = decodeKeyRecord(read({}), refuse)
    expect(decoded).toStrictEqual(source)
    expect(decoded.projects).not.toBe(source.projects)
    expect(() => decodeKeyRecord(read({ lastUsedAt: '5' }), refuse)).toThrow('bad lastUsedAt')
  })
})

describe('copyKeyRecord', () => {
  it('shares nothing mutable with the original and keeps only table fields', () => {
    const record = fullRecord()
    const copy = copyKeyRecord({ ...record, extra: 'x' } as typeof record)
    expect(copy).toStrictEqual(record)
    copy.projects.push('other')
    copy.rateLimit[0]!.limit = 1
    ;(copy.metadata.nested as { list: unknown[] }).list.push('y')
    expect(record).toStrictEqual(fullRecord({ id: record.id }))
  })

  it('leaves a field absent when the record has none (written before it existed)', () => {
    const { rootId: _, ...legacy } = bareRecord()
    expect('rootId' in copyKeyRecord(legacy as ReturnType<typeof bareRecord>)).toBe(false)
  })
})

describe('toKeyInfo', () => {
  it('shows the table fields marked info, times as Dates, the display prefix right after the id', () => {
    const record = fullRecord()
    const info = toKeyInfo(record)
    expect(Object.keys(info)).toStrictEqual([
      'id',
      'displayPrefix',
      ...KEY_RECORD_FIELD_NAMES.filter((f) => KEY_RECORD_FIELDS[f].info && f !== 'id'),
    ])
    expect(info).not.toHaveProperty('hash')
    expect(info.displayPrefix).toBe(`bsk_live_${record.id}`)
    expect(info.createdAt).toStrictEqual(new Date(record.createdAt))
    expect(info.expiresAt).toStrictEqual(new Date(record.expiresAt!))
    expect(toKeyInfo(bareRecord()).revokedAt).toBeNull()
    info.scopes.push('admin')
    expect(record.scopes).toStrictEqual(['write', 'billing:read'])
  })
})

describe('keySettings', () => {
  it('takes exactly the owner-chosen fields, empty when optional and omitted', () => {
    const record = fullRecord()
    expect(Object.keys(keySettings(record))).toStrictEqual([...SETTING_FIELDS])
    const { description: _d, allowedIps: _i, rateLimit: _r, metadata: _m, expiresAt: _e, ...required } = record
    expect(keySettings(required)).toMatchObject({
      description: null,
      allowedIps: [],
      rateLimit: [],
      metadata: {},
      expiresAt: null,
      name: record.name,
    })
  })

  it('refuses a key without a required setting rather than storing undefined', () => {
    const { orgId: _, ...orphan } = fullRecord()
    expect(() => keySettings(orphan)).toThrow(TypeError)
  })

  it('carries every setting over to the successor on rotation', async () => {
    const kw = createKeyward({ prefix: 'bsk' })
    const { info } = await kw.keys.create({
      name: 'All settings',
      description: 'd',
      orgId: 'org_1',
      projects: ['p1', 'p2'],
      scopes: ['write'],
      allowedOrigins: ['example.com'],
      allowedIps: ['10.0.0.0/8'],
      rateLimit: { limit: 5, windowMs: 1000 },
      expiresAt: new Date(Date.UTC(2100, 0, 1)),
      metadata: { team: 'web' },
    })
    const rotated = await kw.keys.rotate(info.id)
    for (const field of SETTING_FIELDS) {
      if (field === 'prefix') continue // not in KeyInfo; the display prefix shows it
      expect(rotated.info[field], field).toStrictEqual(info[field])
    }
    expect(rotated.info.displayPrefix.startsWith('bsk_live_')).toBe(true)
  })
})
