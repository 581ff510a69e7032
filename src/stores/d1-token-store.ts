import { checkedElsewhere, checkOptions, integer, type OptionRules } from '../internal/options.js'
import { withTimeout } from '../internal/timers.js'
import {
  checkFamilyId,
  checkFamilyTime,
  checkRefreshFamilyRecord,
  checkRotation,
  rotationOutcome,
  type RefreshFamilyRecord,
  type RefreshRotation,
} from '../jwt/refresh-family.js'
import type { KeyRecord } from '../types.js'
import { D1_KEY_COLUMNS, d1InsertKeyRecord, d1PatchAssignments, d1RowToKeyRecord } from './d1-record.js'
import { d1CreditsStatements, d1SchemaStatements, resolveD1TableNames } from './d1-schema.js'
import type { D1DatabaseLike, D1PreparedStatementLike } from './d1-types.js'
import type { KeyRecordPatch, ListOptions, TokenStore, UpdateCondition } from './token-store.js'

/**
 * Options of {@link D1TokenStore}.
 *
 * @example
 * ```ts
 * new D1TokenStore(env.DB, { table: 'api_keys', queryTimeoutMs: 2_000 })
 * ```
 */
export interface D1TokenStoreOptions {
  /** The key table. Default `keyward_keys`. */
  table?: string
  /** The refresh-family table. Default `keyward_refresh_families`. */
  refreshFamilyTable?: string
  /** A query taking longer rejects (keyward answers 503). Default 2,000 ms: D1 may be far from the Worker. */
  queryTimeoutMs?: number
}

const D1_OPTIONS: OptionRules = {
  table: checkedElsewhere,
  refreshFamilyTable: checkedElsewhere,
  queryTimeoutMs: integer({ min: 1, message: 'must be a positive integer (ms)' }),
}

const FAMILY_COLUMNS = 'id, subject, org_id, current_jti, expires_at, revoked_at, created_at'

/**
 * A {@link TokenStore} on Cloudflare D1 (SQLite), for Workers: key records and refresh-token
 * families shared by every isolate and location. Conditional writes are one `UPDATE ... WHERE
 * version = ?` (D1 runs one statement at a time), a refresh rotation is one `batch()` (a
 * transaction). D1 announces nothing: another isolate sees a change when its key cache entry
 * expires (`cache.ttlMs`, default 30 s; see docs/runtimes.md).
 *
 * @example
 * ```ts
 * import { createKeyward, type Keyward } from 'keyward'
 * import { D1TokenStore } from 'keyward/cloudflare'
 *
 * let kw: Keyward | undefined // one per isolate, built at the first request (bindings come with it)
 * export default {
 *   async fetch(request: Request, env: { DB: D1Database }) {
 *     kw ??= createKeyward({ prefix: 'bsk', store: new D1TokenStore(env.DB), cache: { ttlMs: 5_000 } })
 *     // ...
 *   },
 * }
 * ```
 */
export class D1TokenStore implements TokenStore {
  readonly #db: D1DatabaseLike
  readonly #table: string
  readonly #families: string
  readonly #timeoutMs: number

  constructor(db: D1DatabaseLike, options: D1TokenStoreOptions = {}) {
    if (db === null || typeof db !== 'object' || typeof db.prepare !== 'function' || typeof db.batch !== 'function') {
      throw new TypeError('keyward: D1TokenStore needs a D1 database binding (env.DB, with prepare() and batch())')
    }
    checkOptions(options, D1_OPTIONS, { notObject: 'D1TokenStore options must be an object' })
    const names = resolveD1TableNames({
      ...(options.table === undefined ? {} : { table: options.table }),
      ...(options.refreshFamilyTable === undefined ? {} : { refreshFamilyTable: options.refreshFamilyTable }),
    })
    this.#db = db
    this.#table = names.table
    this.#families = names.refreshFamilyTable
    this.#timeoutMs = options.queryTimeoutMs ?? 2_000
  }

  /**
   * Creates the tables and indexes when missing, and adds the credits column when missing
   * (idempotent). Or apply `sql/d1/0001_keyward.sql` and `0002_keyward_credits.sql` with wrangler.
   *
   * @example
   * ```ts
   * await new D1TokenStore(env.DB).migrate()
   * ```
   */
  async migrate(): Promise<void> {
    const statements = d1SchemaStatements({ table: this.#table, refreshFamilyTable: this.#families })
    await this.#timed(this.#db.batch(statements.map((sql) => this.#db.prepare(sql))))
    const columns = await this.#all(`PRAGMA table_info(${this.#table})`, [])
    if (columns.some((column) => (column as { name?: unknown } | null)?.name === 'credits')) return
    try {
      await this.#all(d1CreditsStatements({ table: this.#table })[0]!, [])
    } catch (error) {
      // Another instance added it between the look and the ALTER.
      if (!/duplicate column/i.test(String((error as Error | null)?.message))) throw error
    }
  }

  async findById(id: string): Promise<KeyRecord | null> {
    const rows = await this.#all(`SELECT ${D1_KEY_COLUMNS} FROM ${this.#table} WHERE id = ?1`, [id])
    return rows.length === 0 ? null : d1RowToKeyRecord(rows[0])
  }

  async insert(record: KeyRecord): Promise<boolean> {
    const { sql, params } = d1InsertKeyRecord(this.#table, record)
    return (await this.#all(sql, params)).length === 1
  }

  async update(id: string, patch: KeyRecordPatch, condition?: UpdateCondition): Promise<KeyRecord | null> {
    const params: unknown[] = [id, condition === undefined ? null : condition.ifVersion]
    const sets = ['version = version + 1', ...d1PatchAssignments(patch, params)]
    // One statement: D1 runs statements one at a time, so the version check, the patch and the
    // bump are one step, and of two writers conditioned on one version only the first matches.
    const rows = await this.#all(
      `UPDATE ${this.#table} SET ${sets.join(', ')} WHERE id = ?1 AND (?2 IS NULL OR version = ?2) RETURNING ${D1_KEY_COLUMNS}`,
      params,
    )
    return rows.length === 0 ? null : d1RowToKeyRecord(rows[0])
  }

  async listByOrg(orgId: string, options: ListOptions = {}): Promise<KeyRecord[]> {
    const rows = await this.#all(
      `SELECT ${D1_KEY_COLUMNS} FROM ${this.#table} ` +
        'WHERE org_id = ?1 AND (?2 = 1 OR revoked_at IS NULL) AND (?3 IS NULL OR id > ?3) ORDER BY id LIMIT ?4',
      [orgId, options.includeRevoked === true ? 1 : 0, options.after ?? null, options.limit ?? -1],
    )
    return rows.map(d1RowToKeyRecord)
  }

  async touch(entries: ReadonlyArray<{ id: string; lastUsedAt: number }>): Promise<void> {
    if (entries.length === 0) return
    const latest = new Map<string, number>()
    for (const { id, lastUsedAt } of entries) latest.set(id, Math.max(latest.get(id) ?? -Infinity, lastUsedAt))
    // One statement and one parameter for the whole batch (D1 allows 100 per statement); a time
    // never moves backwards; unknown ids match nothing.
    await this.#all(
      `UPDATE ${this.#table} SET last_used_at = u.at FROM ` +
        "(SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS at FROM json_each(?1)) AS u " +
        `WHERE ${this.#table}.id = u.id AND (${this.#table}.last_used_at IS NULL OR ${this.#table}.last_used_at < u.at)`,
      [JSON.stringify([...latest])],
    )
  }

  async insertRefreshFamily(record: RefreshFamilyRecord): Promise<boolean> {
    const r = checkRefreshFamilyRecord(record)
    const rows = await this.#all(
      `INSERT INTO ${this.#families} (${FAMILY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [r.id, r.subject, r.orgId, r.current, r.expiresAt, r.revokedAt, r.createdAt],
    )
    return rows.length === 1
  }

  async rotateRefreshFamily(id: string, presented: string, next: string, expiresAt: number, now: number): Promise<RefreshRotation> {
    checkRotation(id, presented, next, expiresAt, now)
    const t = this.#families
    // One batch is one transaction: the state read first is the one the UPDATE changes.
    const [before] = await this.#timed(
      this.#db.batch([
        this.#db.prepare(`SELECT current_jti, expires_at, revoked_at FROM ${t} WHERE id = ?1 AND expires_at > ?2`).bind(id, now),
        this.#db
          .prepare(
            `UPDATE ${t} SET
  current_jti = CASE WHEN current_jti = ?2 THEN ?3 ELSE current_jti END,
  expires_at = CASE WHEN current_jti = ?2 THEN ?4 ELSE expires_at END,
  revoked_at = CASE WHEN current_jti <> ?2 THEN ?5 ELSE revoked_at END
WHERE id = ?1 AND expires_at > ?5 AND revoked_at IS NULL`,
          )
          .bind(id, presented, next, expiresAt, now),
      ]),
    )
    const row = before?.results[0] as Record<string, unknown> | undefined
    return rotationOutcome(row === undefined ? null : familyState(row), presented, now)
  }

  async revokeRefreshFamily(id: string, now: number): Promise<boolean> {
    checkFamilyId(id, 'id')
    checkFamilyTime(now, 'now')
    const rows = await this.#all(
      `UPDATE ${this.#families} SET revoked_at = ?2 WHERE id = ?1 AND expires_at > ?2 AND revoked_at IS NULL RETURNING id`,
      [id, now],
    )
    return rows.length === 1
  }

  async findRefreshFamily(id: string, now: number = Date.now()): Promise<RefreshFamilyRecord | null> {
    checkFamilyId(id, 'id')
    checkFamilyTime(now, 'now')
    const rows = await this.#all(`SELECT ${FAMILY_COLUMNS} FROM ${this.#families} WHERE id = ?1 AND expires_at > ?2`, [id, now])
    if (rows.length === 0) return null
    const r = rows[0] as Record<string, unknown>
    return {
      id: text(r.id, 'id'),
      subject: text(r.subject, 'subject'),
      orgId: text(r.org_id, 'org_id'),
      ...familyState(r),
      createdAt: time(r.created_at, 'created_at'),
    }
  }

  async purgeExpiredRefreshFamilies(now: number): Promise<number> {
    checkFamilyTime(now, 'now')
    return (await this.#all(`DELETE FROM ${this.#families} WHERE expires_at <= ?1 RETURNING 1`, [now])).length
  }

  async #all(sql: string, params: unknown[]): Promise<unknown[]> {
    const statement: D1PreparedStatementLike = this.#db.prepare(sql).bind(...params)
    const result = await this.#timed(statement.all())
    if (result === null || typeof result !== 'object' || !Array.isArray(result.results)) {
      throw new TypeError('keyward: D1 answered without results')
    }
    return result.results
  }

  #timed<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, this.#timeoutMs, 'D1 query')
  }
}

function malformed(column: string): never {
  throw new TypeError(`keyward: D1 returned a malformed ${column}`)
}

function time(value: unknown, column: string): number {
  return Number.isSafeInteger(value) ? (value as number) : malformed(column)
}

function text(value: unknown, column: string): string {
  return typeof value === 'string' ? value : malformed(column)
}

function familyState(r: Record<string, unknown>): Pick<RefreshFamilyRecord, 'current' | 'expiresAt' | 'revokedAt'> {
  return {
    current: text(r.current_jti, 'current_jti'),
    expiresAt: time(r.expires_at, 'expires_at'),
    revokedAt: r.revoked_at === null ? null : time(r.revoked_at, 'revoked_at'),
  }
}
