import type { CreditsInfo, KeyCredits, KeyInfo, KeyRecord, RateLimitRule } from '../types.js'
import type { Environment } from './format.js'

/**
 * What each kind of {@link KeyRecord} field holds once decoded. Every codec (Postgres rows,
 * Redis hashes, the memory store's copies, the record shape check) is written per kind, so a
 * new field of an existing kind is one line in {@link KEY_RECORD_FIELDS}.
 *
 * @example
 * ```ts
 * const revokedAt: RecordKindValue['nullableEpochMs'] = null
 * ```
 */
export interface RecordKindValue {
  string: string
  nullableString: string | null
  environment: Environment
  stringList: string[]
  ruleList: RateLimitRule[]
  /** A JSON object (never an array or null). */
  jsonObject: Record<string, unknown>
  epochMs: number
  nullableEpochMs: number | null
  integer: number
  /** A key's credits (`{ remaining, refill, epoch }`) or null. */
  credits: KeyCredits | null
}

/**
 * The kind of a {@link KeyRecord} field.
 *
 * @example
 * ```ts
 * const kind: RecordFieldKind = KEY_RECORD_FIELDS.expiresAt.kind // 'nullableEpochMs'
 * ```
 */
export type RecordFieldKind = keyof RecordKindValue

/**
 * How one {@link KeyRecord} field is stored and who may change it.
 *
 * @example
 * ```ts
 * const spec: RecordFieldSpec = { kind: 'stringList', column: 'allowed_ips', patch: true, info: true, setting: true }
 * ```
 */
export interface RecordFieldSpec {
  readonly kind: RecordFieldKind
  /** The PostgreSQL column (`sql/` and `src/stores/postgres-schema.ts` create it). */
  readonly column: string
  /** Whether {@link TokenStore.update} may set it (`KeyRecordPatch`). */
  readonly patch: boolean
  /** Whether {@link KeyInfo} shows it (times as `Date`). */
  readonly info: boolean
  /**
   * Whether the key's owner chooses it: taken from the validated input on create (empty when
   * omitted) and carried over to the successor on rotation, so a rotated key keeps every
   * restriction of the old one.
   */
  readonly setting: boolean
  /**
   * The value of a record written before the field existed: a store that finds the field absent
   * reads this instead of refusing the record. Absent: the field is required.
   */
  readonly legacy?: null | number
}

/**
 * Every {@link KeyRecord} field, in the order stores write them. The one list to extend when a
 * key gains a field: the Postgres column list and row decoding, the Redis hash encoding, the
 * memory store's copies, `KeyRecordPatch`, `toKeyInfo` and the record shape check derive from it
 * (the SQL migrations in `sql/` are written by hand, checked against it by a test).
 *
 * @example
 * ```ts
 * for (const [field, spec] of Object.entries(KEY_RECORD_FIELDS)) console.log(field, spec.column)
 * ```
 */
export const KEY_RECORD_FIELDS = {
  id: { kind: 'string', column: 'id', patch: false, info: true, setting: false },
  prefix: { kind: 'string', column: 'prefix', patch: false, info: false, setting: true },
  environment: { kind: 'environment', column: 'environment', patch: false, info: true, setting: true },
  hash: { kind: 'string', column: 'hash', patch: true, info: false, setting: false },
  orgId: { kind: 'string', column: 'org_id', patch: false, info: true, setting: true },
  name: { kind: 'string', column: 'name', patch: true, info: true, setting: true },
  description: { kind: 'nullableString', column: 'description', patch: true, info: true, setting: true },
  projects: { kind: 'stringList', column: 'projects', patch: true, info: true, setting: true },
  scopes: { kind: 'stringList', column: 'scopes', patch: true, info: true, setting: true },
  allowedOrigins: { kind: 'stringList', column: 'allowed_origins', patch: true, info: true, setting: true },
  allowedIps: { kind: 'stringList', column: 'allowed_ips', patch: true, info: true, setting: true },
  rateLimit: { kind: 'ruleList', column: 'rate_limit', patch: true, info: true, setting: true },
  metadata: { kind: 'jsonObject', column: 'metadata', patch: true, info: true, setting: true },
  expiresAt: { kind: 'nullableEpochMs', column: 'expires_at', patch: true, info: true, setting: true },
  createdAt: { kind: 'epochMs', column: 'created_at', patch: false, info: true, setting: false },
  updatedAt: { kind: 'epochMs', column: 'updated_at', patch: true, info: true, setting: false },
  lastUsedAt: { kind: 'nullableEpochMs', column: 'last_used_at', patch: true, info: true, setting: false },
  revokedAt: { kind: 'nullableEpochMs', column: 'revoked_at', patch: true, info: true, setting: false },
  rotatedFrom: { kind: 'nullableString', column: 'rotated_from', patch: true, info: true, setting: false },
  rotatedTo: { kind: 'nullableString', column: 'rotated_to', patch: true, info: true, setting: false },
  // Added by sql/keyward-003.sql: records from before read as version 0 with no root.
  version: { kind: 'integer', column: 'version', patch: false, info: false, legacy: 0, setting: false },
  rootId: { kind: 'nullableString', column: 'root_id', patch: false, info: false, legacy: null, setting: false },
  // Added by sql/keyward-004.sql. A setting: a rotated key keeps its credits, and with the same
  // epoch it keeps spending the chain's running balance (counted under rootId like the quota).
  credits: { kind: 'credits', column: 'credits', patch: true, info: true, legacy: null, setting: true },
} as const satisfies { readonly [F in keyof KeyRecord]: RecordFieldSpec }

type Fields = typeof KEY_RECORD_FIELDS

/**
 * A field name of {@link KeyRecord}.
 *
 * @example
 * ```ts
 * const field: KeyRecordField = 'allowedIps'
 * ```
 */
export type KeyRecordField = keyof Fields

/**
 * The fields {@link TokenStore.update} may set (`patch: true` in {@link KEY_RECORD_FIELDS}).
 *
 * @example
 * ```ts
 * const field: PatchableField = 'revokedAt'
 * ```
 */
export type PatchableField = { [F in KeyRecordField]: Fields[F]['patch'] extends true ? F : never }[KeyRecordField]

/**
 * The fields a key's owner chooses (`setting: true`): what create takes and rotate carries over.
 *
 * @example
 * ```ts
 * const field: SettingField = 'allowedIps'
 * ```
 */
export type SettingField = { [F in KeyRecordField]: Fields[F]['setting'] extends true ? F : never }[KeyRecordField]

/** The fields {@link KeyInfo} shows. */
type InfoField = { [F in KeyRecordField]: Fields[F]['info'] extends true ? F : never }[KeyRecordField]

/**
 * Every field name, in table order.
 *
 * @example
 * ```ts
 * KEY_RECORD_FIELD_NAMES.includes('rootId') // true
 * ```
 */
export const KEY_RECORD_FIELD_NAMES: readonly KeyRecordField[] = Object.keys(KEY_RECORD_FIELDS) as KeyRecordField[]

/**
 * The fields a patch may set, in table order.
 *
 * @example
 * ```ts
 * PATCHABLE_FIELDS.includes('orgId') // false: a key never changes organization
 * ```
 */
export const PATCHABLE_FIELDS: readonly PatchableField[] = KEY_RECORD_FIELD_NAMES.filter(
  (field): field is PatchableField => KEY_RECORD_FIELDS[field].patch,
)

/**
 * The fields a key's owner chooses, in table order.
 *
 * @example
 * ```ts
 * SETTING_FIELDS.includes('allowedIps') // true: a rotated key keeps its IP rules
 * ```
 */
export const SETTING_FIELDS: readonly SettingField[] = KEY_RECORD_FIELD_NAMES.filter(
  (field): field is SettingField => KEY_RECORD_FIELDS[field].setting,
)

// Compile-time checks: the table decodes to exactly KeyRecord, and its `info` fields (times as
// Dates) plus `displayPrefix` are exactly KeyInfo. A field added to one and not the other, or
// declared with the wrong kind, fails `npm run typecheck` here.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
type Assert<T extends true> = T
type Decoded = { -readonly [F in KeyRecordField]: RecordKindValue[Fields[F]['kind']] }
type AsInfo<V> = V extends number ? Date : V extends KeyCredits ? CreditsInfo : V
type InfoOf = { displayPrefix: string } & { [F in InfoField]: AsInfo<KeyRecord[F]> }
type Flat<T> = { [K in keyof T]: T[K] }
export type _RecordMatchesTable = Assert<Same<Decoded, Flat<KeyRecord>>>
export type _InfoMatchesTable = Assert<Same<Flat<InfoOf>, Flat<KeyInfo>>>
