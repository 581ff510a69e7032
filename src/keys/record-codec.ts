import { isKeyCredits } from '../limiters/credits.js'
import { RATE_LIMIT_ALGORITHMS } from '../limiters/quota-algorithms.js'
import type { KeyCredits, KeyRecord, RateLimitAlgorithm, RateLimitRule } from '../types.js'
import {
  KEY_RECORD_FIELDS,
  KEY_RECORD_FIELD_NAMES,
  PATCHABLE_FIELDS,
  SETTING_FIELDS,
  type KeyRecordField,
  type RecordFieldKind,
  type RecordFieldSpec,
  type RecordKindValue,
  type SettingField,
} from './record-fields.js'
import type { KeyRecordPatch } from '../stores/token-store.js'

// Codecs written once per kind of field, applied over KEY_RECORD_FIELDS: what a store reads back
// is checked here, so keyward only ever decides on numbers for times and arrays for lists.

const MALFORMED: unique symbol = Symbol('malformed')
type Checked<K extends RecordFieldKind> = RecordKindValue[K] | typeof MALFORMED

const isSafeInteger = (value: unknown): value is number => Number.isSafeInteger(value)

function checkRules(value: unknown): Checked<'ruleList'> {
  if (!Array.isArray(value)) return MALFORMED
  const rules: RateLimitRule[] = []
  for (const rule of value as unknown[]) {
    if (rule === null || typeof rule !== 'object') return MALFORMED
    const { limit, windowMs, name, algorithm } = rule as Record<string, unknown>
    if (!isSafeInteger(limit) || !isSafeInteger(windowMs) || (name !== undefined && typeof name !== 'string')) return MALFORMED
    // An algorithm keyward does not know would be counted as GCRA: refuse the record instead.
    if (algorithm !== undefined && !RATE_LIMIT_ALGORITHMS.includes(algorithm as RateLimitAlgorithm)) return MALFORMED
    const checked: RateLimitRule = { limit, windowMs }
    if (name !== undefined) checked.name = name
    if (algorithm !== undefined) checked.algorithm = algorithm as RateLimitAlgorithm
    rules.push(checked)
  }
  return rules
}

function copyCredits(v: KeyCredits): KeyCredits {
  const refill = v.refill === null ? null : { amount: v.refill.amount, intervalMs: v.refill.intervalMs }
  return v.removed === true
    ? { remaining: v.remaining, refill, epoch: v.epoch, removed: true }
    : { remaining: v.remaining, refill, epoch: v.epoch }
}

/** One check per kind: the value as keyward keeps it (lists and rules copied), or MALFORMED. */
const CHECKS: { readonly [K in RecordFieldKind]: (value: unknown) => Checked<K> } = {
  string: (v) => (typeof v === 'string' ? v : MALFORMED),
  nullableString: (v) => (v === null || typeof v === 'string' ? v : MALFORMED),
  environment: (v) => (v === 'live' || v === 'test' ? v : MALFORMED),
  stringList: (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? [...(v as string[])] : MALFORMED),
  ruleList: checkRules,
  jsonObject: (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : MALFORMED),
  epochMs: (v) => (isSafeInteger(v) ? v : MALFORMED),
  nullableEpochMs: (v) => (v === null || isSafeInteger(v) ? v : MALFORMED),
  integer: (v) => (isSafeInteger(v) ? v : MALFORMED),
  // Copied to exactly its three fields: a stray one from a store never reaches the limiter.
  credits: (v) => (v === null ? null : isKeyCredits(v) ? copyCredits(v) : MALFORMED),
}

/**
 * Builds a {@link KeyRecord} field by field from what a store read, checking each value against
 * its kind. `read` answers the field's value as plain JavaScript (a store converts its own
 * encodings first: JSON text, bigint text); `malformed` throws the store's error for a field.
 *
 * @example
 * ```ts
 * const record = decodeKeyRecord((field) => JSON.parse(hash[field]!), (field) => { throw new TypeError(`bad ${field}`) })
 * ```
 */
export function decodeKeyRecord(
  read: (field: KeyRecordField, spec: RecordFieldSpec) => unknown,
  malformed: (field: KeyRecordField) => never,
): KeyRecord {
  const record: Record<string, unknown> = {}
  for (const field of KEY_RECORD_FIELD_NAMES) {
    const spec: RecordFieldSpec = KEY_RECORD_FIELDS[field]
    const value = CHECKS[spec.kind](read(field, spec))
    if (value === MALFORMED) malformed(field)
    record[field] = value
  }
  return record as unknown as KeyRecord
}

/** A copy of one field value that shares nothing mutable with the original. */
function copyFieldValue(kind: RecordFieldKind, value: unknown): unknown {
  switch (kind) {
    case 'stringList':
      return [...(value as string[])]
    case 'ruleList':
      return (value as RateLimitRule[]).map((rule) => ({ ...rule }))
    case 'jsonObject':
      return structuredClone(value)
    case 'credits':
      return value === null ? null : structuredClone(value)
    default:
      return value
  }
}

/**
 * A deep copy of a record, every field of the table and nothing else: what the memory store keeps
 * and hands out, so no caller can change a stored key through a reference.
 *
 * @example
 * ```ts
 * const mine = copyKeyRecord(record) // mine.projects !== record.projects
 * ```
 */
export function copyKeyRecord(record: KeyRecord): KeyRecord {
  const copy: Record<string, unknown> = {}
  for (const field of KEY_RECORD_FIELD_NAMES) {
    const value = record[field]
    // Absent stays absent (a record from before a field existed), as structuredClone would keep it.
    if (value !== undefined) copy[field] = copyFieldValue(KEY_RECORD_FIELDS[field].kind, value)
  }
  return copy as unknown as KeyRecord
}

/**
 * `record` with `patch` applied: only the fields a patch may set, skipping undefined values,
 * each copied. The version is left to the store.
 *
 * @example
 * ```ts
 * const next = applyKeyRecordPatch(current, { revokedAt: now, updatedAt: now })
 * ```
 */
export function applyKeyRecordPatch(record: KeyRecord, patch: KeyRecordPatch): KeyRecord {
  const next = copyKeyRecord(record) as unknown as Record<string, unknown>
  for (const field of PATCHABLE_FIELDS) {
    const value = patch[field]
    if (value !== undefined) next[field] = copyFieldValue(KEY_RECORD_FIELDS[field].kind, value)
  }
  return next as unknown as KeyRecord
}

/**
 * Whether `value` has the shape of a {@link KeyRecord}: every field of the table with a value of
 * its kind (a field added after a store's records were written may be absent), and rate-limit
 * rules with positive limits and windows. A record from a custom store that fails it must not be
 * decided on: an ISO string for a time or a text for a list would fail open (`NaN <= now` is
 * false, `'prod-site'.includes('prod')` is true).
 *
 * @example
 * ```ts
 * if (!isKeyRecord(await store.findById(id))) throw new TypeError('malformed record')
 * ```
 */
export function isKeyRecord(value: unknown): value is KeyRecord {
  if (value === null || typeof value !== 'object') return false
  const record = value as Record<string, unknown>
  for (const field of KEY_RECORD_FIELD_NAMES) {
    const spec: RecordFieldSpec = KEY_RECORD_FIELDS[field]
    const v = record[field]
    if (v === undefined && spec.legacy !== undefined) continue
    if (CHECKS[spec.kind](v) === MALFORMED) return false
  }
  return (record.rateLimit as RateLimitRule[]).every((rule) => rule.limit > 0 && rule.windowMs > 0)
}

/**
 * Throws the TypeError of a malformed record unless {@link isKeyRecord} holds: a broken store
 * is a 503, never a pass.
 *
 * @example
 * ```ts
 * checkRecordShape(record) // record is a KeyRecord from here on
 * ```
 */
export function checkRecordShape(value: unknown): asserts value is KeyRecord {
  if (!isKeyRecord(value)) throw new TypeError('keyward: the store returned a malformed key record')
}

/** What an omitted setting starts as; undefined for the ones a key cannot do without. */
function emptyOf(kind: RecordFieldKind): unknown {
  switch (kind) {
    case 'nullableString':
    case 'nullableEpochMs':
    case 'credits':
      return null
    case 'stringList':
    case 'ruleList':
      return []
    case 'jsonObject':
      return {}
    default:
      return undefined
  }
}

/**
 * The owner-chosen fields (`setting: true`) of `source`: what a new key is created with, and
 * what rotation carries over to the successor. An omitted optional setting is empty (null, `[]`
 * or `{}`); an omitted required one (name, org, projects...) is a TypeError.
 *
 * @example
 * ```ts
 * const successor = { ...keySettings(old), rotatedFrom: old.id }
 * ```
 */
export function keySettings(source: Partial<KeyRecord>): Pick<KeyRecord, SettingField> {
  const settings: Record<string, unknown> = {}
  for (const field of SETTING_FIELDS) {
    const value = source[field] ?? emptyOf(KEY_RECORD_FIELDS[field].kind)
    if (value === undefined) throw new TypeError(`keyward: a key needs ${field}`)
    settings[field] = value
  }
  return settings as Pick<KeyRecord, SettingField>
}
