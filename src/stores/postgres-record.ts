import { decodeKeyRecord } from '../keys/record-codec.js'
import { KEY_RECORD_FIELDS, KEY_RECORD_FIELD_NAMES, PATCHABLE_FIELDS, type RecordFieldKind } from '../keys/record-fields.js'
import type { KeyRecord } from '../types.js'
import { malformed, toTime } from './postgres-values.js'
import type { KeyRecordPatch } from './token-store.js'

// How a KeyRecord maps onto the keys table, derived from KEY_RECORD_FIELDS: the column list,
// the parameters of an INSERT and an UPDATE, and the decoding of a row.

type Cast = 'text' | 'text[]' | 'jsonb' | 'bigint'

const CASTS: { readonly [K in RecordFieldKind]: Cast } = {
  string: 'text',
  nullableString: 'text',
  environment: 'text',
  stringList: 'text[]',
  ruleList: 'jsonb',
  jsonObject: 'jsonb',
  epochMs: 'bigint',
  nullableEpochMs: 'bigint',
  integer: 'bigint',
  credits: 'jsonb',
}

/**
 * Every column of the keys table, in table order, as a SELECT or RETURNING list.
 *
 * @example
 * ```ts
 * await client.query(`SELECT ${KEY_COLUMNS} FROM keyward_keys WHERE id = $1`, [id])
 * ```
 */
export const KEY_COLUMNS: string = KEY_RECORD_FIELD_NAMES.map((field) => KEY_RECORD_FIELDS[field].column).join(', ')

/** The placeholder with a cast both pg and PGlite serialize alike (jsonb travels as JSON text). */
function placeholder(n: number, cast: Cast): string {
  if (cast === 'jsonb') return `$${n}::text::jsonb`
  return `$${n}::${cast}`
}

function param(value: unknown, cast: Cast): unknown {
  // A key without credits is SQL NULL, not JSON null: the column's CHECK wants an object or nothing.
  if (cast === 'jsonb') return value === null || value === undefined ? null : JSON.stringify(value)
  return value
}

/**
 * An INSERT of a whole record that does nothing when the id is taken (no row returned then).
 *
 * @example
 * ```ts
 * const { text, params } = insertKeyRecord('keyward_keys', record)
 * const inserted = (await client.query(text, params)).rows.length === 1
 * ```
 */
export function insertKeyRecord(table: string, record: KeyRecord): { text: string; params: unknown[] } {
  const params: unknown[] = []
  const values: string[] = []
  for (const field of KEY_RECORD_FIELD_NAMES) {
    const cast = CASTS[KEY_RECORD_FIELDS[field].kind]
    params.push(param(record[field], cast))
    values.push(placeholder(params.length, cast))
  }
  return { text: `INSERT INTO ${table} (${KEY_COLUMNS}) VALUES (${values.join(', ')}) ON CONFLICT (id) DO NOTHING RETURNING id`, params }
}

/**
 * The `column = $n` assignments of a patch, numbered after the `params` already there (which it
 * extends). Fields a patch may not set, and undefined values, are skipped.
 *
 * @example
 * ```ts
 * const params: unknown[] = [id]
 * const sets = patchAssignments({ revokedAt: now }, params) // ['revoked_at = $2::bigint']
 * ```
 */
export function patchAssignments(patch: KeyRecordPatch, params: unknown[]): string[] {
  const sets: string[] = []
  for (const field of PATCHABLE_FIELDS) {
    const value = patch[field]
    if (value === undefined) continue
    const { column, kind } = KEY_RECORD_FIELDS[field]
    const cast = CASTS[kind]
    params.push(param(value, cast))
    sets.push(`${column} = ${placeholder(params.length, cast)}`)
  }
  return sets
}

/** jsonb arrives parsed from pg and PGlite; a client with custom type parsers may hand text. */
function toJson(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value
}

/**
 * A row, checked column by column: keyward only ever sees numbers for times and arrays for
 * lists. A bigint arrives as text from pg, a number from PGlite; both become numbers.
 *
 * @example
 * ```ts
 * const record = rowToKeyRecord((await client.query(`SELECT ${KEY_COLUMNS} FROM keyward_keys`)).rows[0])
 * ```
 */
export function rowToKeyRecord(row: unknown): KeyRecord {
  if (row === null || typeof row !== 'object') malformed('row')
  const r = row as Record<string, unknown>
  return decodeKeyRecord(
    (_, { column, kind }) => {
      const value = r[column]
      const cast = CASTS[kind]
      if (cast === 'bigint') return kind === 'nullableEpochMs' && value === null ? null : toTime(value, column)
      if (cast === 'jsonb') return toJson(value)
      return value
    },
    (field) => malformed(KEY_RECORD_FIELDS[field].column),
  )
}
