import type { RefreshFamilyRecord } from '../jwt/refresh-family.js'
import { malformed, toText, toTime, toTimeOrNull } from './postgres-values.js'

const COLUMNS = 'id, subject, org_id, current_jti, expires_at, revoked_at, created_at'

/**
 * The SQL of the refresh-family operations on `table` (qualified, already validated). Each is
 * one statement, so each is atomic on its own.
 *
 * @example
 * ```ts
 * const sql = refreshFamilySql('auth.keyward_refresh_families')
 * await pool.query(sql.find, [id, Date.now()])
 * ```
 */
export function refreshFamilySql(table: string) {
  return {
    /** $1..$7: the record. Returns a row when stored, none when the id is taken. */
    insert:
      `INSERT INTO ${table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7::bigint) ` +
      'ON CONFLICT (id) DO NOTHING RETURNING id',
    /**
     * $1 id, $2 presented, $3 next, $4 expiresAt, $5 now. Returns the family's state before the
     * change (no row: absent or expired). The sub-select locks the row (FOR UPDATE), so a
     * concurrent rotation waits, then reads the version the winner committed: the decision and
     * the change are made on the same, latest state. The CASEs apply exactly what
     * `rotationOutcome` decides from the returned state.
     */
    rotate: `UPDATE ${table} AS f SET
  current_jti = CASE WHEN old.revoked_at IS NULL AND old.current_jti = $2 THEN $3 ELSE old.current_jti END,
  expires_at = CASE WHEN old.revoked_at IS NULL AND old.current_jti = $2 THEN $4::bigint ELSE old.expires_at END,
  revoked_at = CASE WHEN old.revoked_at IS NULL AND old.current_jti <> $2 THEN $5::bigint ELSE old.revoked_at END
FROM (SELECT id, current_jti, expires_at, revoked_at FROM ${table} WHERE id = $1 AND expires_at > $5::bigint FOR UPDATE) AS old
WHERE f.id = old.id
RETURNING old.current_jti, old.expires_at, old.revoked_at`,
    /** $1 id, $2 now. Returns a row only when this statement revoked a live family: of concurrent calls, one. */
    revoke: `UPDATE ${table} SET revoked_at = $2::bigint WHERE id = $1 AND expires_at > $2::bigint AND revoked_at IS NULL RETURNING id`,
    /** $1 id, $2 now. */
    find: `SELECT ${COLUMNS} FROM ${table} WHERE id = $1 AND expires_at > $2::bigint`,
    /** $1 now. Returns the count deleted. */
    purge: `WITH gone AS (DELETE FROM ${table} WHERE expires_at <= $1::bigint RETURNING 1) SELECT count(*)::int AS purged FROM gone`,
  }
}

/**
 * The parameters of {@link refreshFamilySql}'s `insert`, in order.
 *
 * @example
 * ```ts
 * await pool.query(sql.insert, familyParams(record))
 * ```
 */
export function familyParams(record: RefreshFamilyRecord): unknown[] {
  return [record.id, record.subject, record.orgId, record.current, record.expiresAt, record.revokedAt, record.createdAt]
}

/**
 * A family row, checked column by column.
 *
 * @example
 * ```ts
 * const family = toFamily(rows[0])
 * ```
 */
export function toFamily(row: unknown): RefreshFamilyRecord {
  if (row === null || typeof row !== 'object') malformed('row')
  const r = row as Record<string, unknown>
  return {
    id: toText(r.id, 'id'),
    subject: toText(r.subject, 'subject'),
    orgId: toText(r.org_id, 'org_id'),
    current: toText(r.current_jti, 'current_jti'),
    expiresAt: toTime(r.expires_at, 'expires_at'),
    revokedAt: toTimeOrNull(r.revoked_at, 'revoked_at'),
    createdAt: toTime(r.created_at, 'created_at'),
  }
}

/**
 * The pre-rotation state `rotate` returns, checked.
 *
 * @example
 * ```ts
 * rotationOutcome(rows.length === 0 ? null : toRotationState(rows[0]), presented, now)
 * ```
 */
export function toRotationState(row: unknown): Pick<RefreshFamilyRecord, 'current' | 'expiresAt' | 'revokedAt'> {
  if (row === null || typeof row !== 'object') malformed('row')
  const r = row as Record<string, unknown>
  return {
    current: toText(r.current_jti, 'current_jti'),
    expiresAt: toTime(r.expires_at, 'expires_at'),
    revokedAt: toTimeOrNull(r.revoked_at, 'revoked_at'),
  }
}
