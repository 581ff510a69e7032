// Column values as the Postgres stores read them: checked, so keyward only ever sees numbers for
// times and strings for text, whatever the client's type parsers do.

/**
 * Throws the TypeError of a row whose `column` is not what the schema says.
 *
 * @example
 * ```ts
 * if (!Array.isArray(row.scopes)) malformed('scopes')
 * ```
 */
export function malformed(column: string): never {
  throw new TypeError(`keyward: Postgres returned a malformed ${column}`)
}

/**
 * A bigint column as epoch ms: a string from pg, a number from PGlite, a bigint from custom
 * parsers; anything else, or beyond a safe integer, is malformed.
 *
 * @example
 * ```ts
 * toTime(row.created_at, 'created_at') // 1700000000000
 * ```
 */
export function toTime(value: unknown, column: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'bigint'
        ? Number(value)
        : typeof value === 'string' && /^-?\d+$/.test(value)
          ? Number(value)
          : NaN
  if (!Number.isSafeInteger(n)) malformed(column)
  return n
}

/**
 * {@link toTime}, or null for SQL NULL.
 *
 * @example
 * ```ts
 * toTimeOrNull(row.revoked_at, 'revoked_at') // null or epoch ms
 * ```
 */
export function toTimeOrNull(value: unknown, column: string): number | null {
  return value === null ? null : toTime(value, column)
}

/**
 * A text column; anything but a string is malformed.
 *
 * @example
 * ```ts
 * toText(row.org_id, 'org_id')
 * ```
 */
export function toText(value: unknown, column: string): string {
  if (typeof value !== 'string') malformed(column)
  return value
}

/**
 * {@link toText}, or null for SQL NULL.
 *
 * @example
 * ```ts
 * toTextOrNull(row.description, 'description')
 * ```
 */
export function toTextOrNull(value: unknown, column: string): string | null {
  return value === null ? null : toText(value, column)
}
