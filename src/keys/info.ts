import { displayPrefix } from './format.js'
import { copyFieldValue } from './record-codec.js'
import { KEY_RECORD_FIELDS, KEY_RECORD_FIELD_NAMES } from './record-fields.js'
import type { KeyInfo, KeyRecord } from '../types.js'

// The fields KeyInfo shows (`info: true` in KEY_RECORD_FIELDS), in table order.
const INFO_FIELDS = KEY_RECORD_FIELD_NAMES.filter((field) => KEY_RECORD_FIELDS[field].info)

/**
 * The public view of a stored record: everything but the hash. Always a fresh object.
 *
 * @example
 * ```ts
 * const info = toKeyInfo(record) // no `hash` field
 * ```
 */
export function toKeyInfo(record: KeyRecord): KeyInfo {
  const info: Record<string, unknown> = {}
  for (const field of INFO_FIELDS) {
    const { kind } = KEY_RECORD_FIELDS[field]
    const value = record[field]
    // Times are epoch ms in a record and Dates in what callers see.
    info[field] = kind === 'epochMs' || kind === 'nullableEpochMs' ? (value === null ? null : new Date(value as number)) : copyFieldValue(kind, value)
    // Right after the id, where dashboards and JSON output have always had it.
    if (field === 'id') info.displayPrefix = displayPrefix(record.prefix, record.environment, record.id)
  }
  return info as unknown as KeyInfo
}
