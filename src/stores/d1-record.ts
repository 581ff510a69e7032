// How a KeyRecord maps onto a D1 (SQLite) row, derived from KEY_RECORD_FIELDS: lists, rules and
// metadata are JSON text, times integers. What D1 hands back is checked by the shared codec.

import { decodeKeyRecord } from '../keys/record-codec.js'
import { KEY_RECORD_FIELDS, KEY_RECORD_FIELD_NAMES, PATCHABLE_FIELDS, type RecordFieldKind } from '../keys/record-fields.js'
import type { KeyRecord } from '../types.js'
import type { KeyRecordPatch } from './token-store.js'

const JSON_KINDS: ReadonlySet<RecordFieldKind> = new Set(['stringList', 'ruleList', 'jsonObject', 'credits'])

/**
 * The key table's columns, in field order.
 *
 * @example
 * ```ts
 * db.prepare(`SELECT ${D1_KEY_COLUMNS} FROM keyward_keys WHERE id = ?1`)
 * ```
 */
export const D1_KEY_COLUMNS: string = KEY_RECORD_FIELD_NAMES.map((field) => KEY_RECORD_FIELDS[field].column).join(', ')

function toParam(kind: RecordFieldKind, value: unknown): unknown {
  // A key without credits is SQL NULL (also an absent legacy field), never the text 'null'.
  if (kind === 'credits' && (value === null || value === undefined)) return null
  if (JSON_KINDS.has(kind)) return JSON.stringify(value)
  // D1 binds undefined as an error: a legacy field absent from the record is stored as its legacy value.
  return value === undefined ? null : value
}

/**
 * The INSERT of a whole record (nothing stored when the id is taken) and its parameters.
 *
 * @example
 * ```ts
 * const { sql, params } = d1InsertKeyRecord('keyward_keys', record)
 * await db.prepare(sql).bind(...params).all()
 * ```
 */
export function d1InsertKeyRecord(table: string, record: KeyRecord): { sql: string; params: unknown[] } {
  const params = KEY_RECORD_FIELD_NAMES.map((field) => {
    const spec = KEY_RECORD_FIELDS[field]
    const value = record[field] ?? ('legacy' in spec ? spec.legacy : undefined)
    return toParam(spec.kind, value)
  })
  const marks = params.map((_, i) => `?${i + 1}`).join(', ')
  return { sql: `INSERT INTO ${table} (${D1_KEY_COLUMNS}) VALUES (${marks}) ON CONFLICT (id) DO NOTHING RETURNING id`, params }
}

/**
 * `column = ?n` for each field the patch sets, appending the values to `params`.
 *
 * @example
 * ```ts
 * const params: unknown[] = [id]
 * const sets = d1PatchAssignments({ name: 'Renamed' }, params) // ['name = ?2']
 * ```
 */
export function d1PatchAssignments(patch: KeyRecordPatch, params: unknown[]): string[] {
  const sets: string[] = []
  for (const field of PATCHABLE_FIELDS) {
    const value = patch[field]
    if (value === undefined) continue
    const { column, kind } = KEY_RECORD_FIELDS[field]
    params.push(toParam(kind, value))
    sets.push(`${column} = ?${params.length}`)
  }
  return sets
}

function malformed(column: string): never {
  throw new TypeError(`keyward: D1 returned a malformed ${column}`)
}

/**
 * A row back as a KeyRecord, every field checked (a malformed one is a TypeError).
 *
 * @example
 * ```ts
 * const record = d1RowToKeyRecord(await db.prepare(sql).bind(id).first())
 * ```
 */
export function d1RowToKeyRecord(row: unknown): KeyRecord {
  if (row === null || typeof row !== 'object') malformed('row')
  const r = row as Record<string, unknown>
  return decodeKeyRecord(
    (_, { column, kind }) => {
      const value = r[column]
      if (!JSON_KINDS.has(kind)) return value
      if (kind === 'credits' && value === null) return null
      if (typeof value !== 'string') malformed(column)
      try {
        return JSON.parse(value) as unknown
      } catch {
        return malformed(column)
      }
    },
    (field) => malformed(KEY_RECORD_FIELDS[field].column),
  )
}
