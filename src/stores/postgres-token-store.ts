import type { KeyRecord } from '../types.js'
import { boolean, checkedElsewhere, checkOptions, func, integer, optionError, orFalse, type OptionRules } from '../internal/options.js'
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
import {
  postgresCreditsStatements,
  postgresLifecycleStatements,
  postgresRefreshFamilyStatements,
  postgresSchemaStatements,
  resolveTableName,
} from './postgres-schema.js'
import { familyParams, refreshFamilySql, toFamily, toRotationState } from './postgres-refresh-families.js'
import { insertKeyRecord, KEY_COLUMNS, patchAssignments, rowToKeyRecord } from './postgres-record.js'
import { toTime } from './postgres-values.js'
import type { PostgresQueryable } from './postgres-queryable.js'
import { isPostgresJs, postgresJsQueryable, type PostgresJsClient } from './postgres-js.js'
import type { InvalidationEvent, KeyRecordPatch, ListOptions, TokenStore, UpdateCondition } from './token-store.js'
import { InvalidationChannel } from './invalidation/channel.js'
import {
  pgliteTransport,
  postgresConnectionTransport,
  type PGliteListener,
  type PostgresListenConnection,
} from './invalidation/postgres-transport.js'
import type { InvalidationTransport } from './invalidation/transport.js'
import { postgresJsTransport } from './invalidation/postgres-js-transport.js'

export type { PostgresListenConnection } from './invalidation/postgres-transport.js'
export type { PostgresQueryable } from './postgres-queryable.js'

// Structural types only: this file must not import `pg` (an optional peer) nor anything Node-only.

interface PoolLike extends PostgresQueryable {
  connect(): Promise<PostgresListenConnection>
}

interface PGliteLike extends PostgresQueryable, PGliteListener {}

/** A `pg` Client the store LISTENs on (the `listener` option); it is connected and ended by the store. */
export interface PostgresListenerClient extends PostgresListenConnection {
  connect(): Promise<unknown>
  end(): Promise<unknown>
}

/** `pg`'s Client class, as a pg Pool exposes it (`pool.Client`). */
type ClientClass = new (config: unknown) => PostgresListenerClient

/**
 * Options of {@link PostgresTokenStore}.
 *
 * @example
 * ```ts
 * new PostgresTokenStore(pool, { schema: 'auth', queryTimeoutMs: 300, onError: console.error })
 * ```
 */
export interface PostgresTokenStoreOptions {
  /** Schema of the table. Default: none (the connection's `search_path`). */
  schema?: string
  /** Table name. Default `keyward_keys`. */
  table?: string
  /** Table of the refresh-token families, in the same schema. Default `keyward_refresh_families`. */
  refreshFamilyTable?: string
  /** NOTIFY/LISTEN channel, a lowercase identifier. Default: `<schema>_<table>`, or `<table>` without a schema. */
  channel?: string
  /** Every query rejects after this many ms (keyward answers 503). Default 500. `migrate()` allows at least 30 s. */
  queryTimeoutMs?: number
  /**
   * LISTEN for other instances' changes when the client can: a pg Pool (a dedicated connection
   * from `connect()`), postgres.js or PGlite (`listen()`). A single pg Client cannot: the store is
   * then degraded (`onError` once, `listening()` rejects, keys cached for `cache.degradedTtlMs`).
   * false: no LISTEN and no report, for a single instance; its changes reach this store's
   * subscribers only. Default true.
   */
  listen?: boolean
  /**
   * A direct connection to LISTEN on instead of one from the pool: a connection string or a `pg`
   * Client (not yet connected; keyward connects it, ends it on `close()`, and opens a new one
   * like it after a loss). For apps whose pool goes through a transaction-mode pooler (PgBouncer,
   * Supavisor, Neon's pooler), which silently drops LISTEN: give keyward this one direct
   * connection. A connection string needs a pg Pool as the store's client (its `Client` class is
   * used); with postgres.js, pass `postgres(directUrl)` (keyward calls its `listen()`, and never ends it).
   */
  listener?: string | PostgresListenerClient | PostgresJsClient
  /** First delay before re-establishing a lost LISTEN connection; doubles per failure up to 30 s. Default 250. */
  reconnectDelayMs?: number
  /**
   * How often the LISTEN connection is checked with `SELECT 1` (a silent network loss emits no
   * error), followed by the self-test. postgres.js and PGlite keep that connection to themselves:
   * there the self-test is the whole check, so with `selfTestMs: false` nothing is checked.
   * Default 10,000; false never.
   */
  heartbeatMs?: number | false
  /**
   * When listening starts and with each heartbeat, NOTIFY a nonce through the store's client and
   * wait this many ms to hear it on the LISTEN connection. Not heard (a transaction-mode pooler
   * delivers no notifications): `listening()` rejects, `onError` gets the reason, and subscribers
   * get `{ type: 'degraded' }`, so keyward's cache keeps keys for `cache.degradedTtlMs` only, until
   * it hears itself again. Default 1000; false skips the self-test.
   */
  selfTestMs?: number | false
  /** Receives errors of the background LISTEN connection (it is re-established on its own). Default: ignore. */
  onError?: (error: unknown) => void
}

const CANNOT_LISTEN =
  'keyward: PostgresTokenStore cannot LISTEN through this client (a single pg Client has no connection to spare), ' +
  "so other instances' revocations would not reach this one: cached keys live for cache.degradedTtlMs only. " +
  'Pass a pg Pool or a `listener` connection, or { listen: false } when this is the only instance'

/** unique_violation, duplicate_table, duplicate_object, duplicate_schema, duplicate_column. */
const RACED_CREATE: ReadonlySet<string> = new Set(['23505', '42P07', '42710', '42P06', '42701'])

const positiveMs = integer({ min: 1, message: 'must be a positive integer (ms)' })
const POSTGRES_OPTIONS: OptionRules = {
  // Identifiers: resolveTableName and the channel check below say what a valid one is.
  schema: checkedElsewhere,
  table: checkedElsewhere,
  refreshFamilyTable: checkedElsewhere,
  channel: checkedElsewhere,
  queryTimeoutMs: positiveMs,
  listen: boolean,
  listener: (value, path) => {
    const client = value as Partial<PostgresListenerClient> | null
    if ((typeof value === 'string' && value !== '') || isPostgresJs(value)) return
    if (client !== null && typeof client === 'object' && typeof client.connect === 'function' && typeof client.on === 'function') return
    optionError(`${path} must be a connection string, a pg Client or a postgres.js client`)
  },
  reconnectDelayMs: positiveMs,
  heartbeatMs: orFalse(positiveMs),
  selfTestMs: orFalse(positiveMs),
  onError: func('(error) => void'),
}

/**
 * Keys in PostgreSQL (or PGlite): shared by every instance of the server, revocations announced
 * to all of them through LISTEN/NOTIFY. Takes the client you already have; imports no driver.
 *
 * - Every query is a single statement (atomic), and rejects after `queryTimeoutMs` (default 500).
 * - `update` notifies `<channel>` with the key id in the same statement, so the announcement is
 *   sent exactly when the change commits. Other instances drop the key from their caches.
 * - `update` bumps `version`, and with `{ ifVersion }` carries the check in the same statement's
 *   WHERE clause: of concurrent writers that read one version, exactly one commits
 *   (`sql/keyward-003.sql` adds the column; rows from before read as version 0).
 * - `subscribe` LISTENs on a dedicated pooled connection (or PGlite's `listen()`); when that
 *   connection is lost it emits `{ type: 'flush' }`, re-establishes it with backoff, and emits
 *   `flush` again once listening, so nothing missed in between stays cached.
 * - `NOTIFY <channel>` with an empty payload (e.g. after editing the table by hand) flushes
 *   every instance's cache.
 * - Refresh-token families live in `keyward_refresh_families` (`sql/keyward-002.sql`); a
 *   rotation is one statement that locks the family's row, so of concurrent rotations of one
 *   token exactly one wins, whichever instance sends them. `purgeExpiredRefreshFamilies(now)`
 *   deletes dead families.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createKeyward } from 'keyward'
 * import { PostgresTokenStore } from 'keyward/postgres'
 *
 * const store = new PostgresTokenStore(new pg.Pool({ connectionString: process.env.DATABASE_URL }))
 * await store.migrate()
 * const kw = createKeyward({ prefix: 'bsk', store })
 * ```
 */
export class PostgresTokenStore implements TokenStore {
  readonly #client: PostgresQueryable
  readonly #table: string
  readonly #familyTable: string
  readonly #familySql: ReturnType<typeof refreshFamilySql>
  readonly #channel: string
  readonly #timeoutMs: number
  /** This process's subscribers, and (when the client can LISTEN) the subscription that hears other instances. */
  readonly #changes: InvalidationChannel

  constructor(client: PostgresQueryable | PostgresJsClient, options: PostgresTokenStoreOptions = {}) {
    const sql = isPostgresJs(client) ? client : undefined
    const queryable = sql === undefined ? (client as PostgresQueryable) : postgresJsQueryable(sql)
    if (queryable === null || typeof queryable !== 'object' || typeof queryable.query !== 'function') {
      throw new TypeError('keyward: PostgresTokenStore needs a client with query(text, params), such as a pg Pool or a PGlite instance')
    }
    checkOptions(options, POSTGRES_OPTIONS, { notObject: 'PostgresTokenStore options must be an object' })
    this.#client = queryable
    const names = {
      ...(options.schema === undefined ? {} : { schema: options.schema }),
      ...(options.table === undefined ? {} : { table: options.table }),
    }
    this.#table = resolveTableName(names).qualified
    const familyNames = {
      ...(options.schema === undefined ? {} : { schema: options.schema }),
      table: options.refreshFamilyTable ?? 'keyward_refresh_families',
    }
    this.#familyTable = resolveTableName(familyNames).qualified
    this.#familySql = refreshFamilySql(this.#familyTable)
    const channel = options.channel ?? this.#table.replace('.', '_')
    if (typeof channel !== 'string' || !/^[a-z_][a-z0-9_]*$/.test(channel) || channel.length > 63) {
      throw new TypeError('keyward: channel must be a lowercase SQL identifier ([a-z_][a-z0-9_]*) of at most 63 characters')
    }
    this.#channel = channel
    this.#timeoutMs = options.queryTimeoutMs ?? 500
    const listen = options.listen ?? true
    const transport = listen ? this.#transport(sql ?? queryable, options.listener) : undefined
    this.#changes = new InvalidationChannel(transport, {
      // Asked to listen (by default) but cannot: degraded and said so, never a silent full TTL.
      ...(listen && transport === undefined ? { cannotListen: CANNOT_LISTEN } : {}),
      timeoutMs: this.#timeoutMs,
      heartbeatName: 'Postgres heartbeat',
      reconnectDelayMs: options.reconnectDelayMs ?? 250,
      heartbeatMs: options.heartbeatMs ?? 10_000,
      selfTestMs: options.selfTestMs ?? 1000,
      onError: options.onError ?? (() => {}),
    })
  }

  /** The table name as queries use it (`schema.table` or `table`). */
  get table(): string {
    return this.#table
  }

  /** The NOTIFY/LISTEN channel. */
  get channel(): string {
    return this.#channel
  }

  /**
   * Creates the tables and their indexes when missing (`sql/keyward-001.sql`, then
   * `sql/keyward-002.sql`), and adds the lifecycle columns (`sql/keyward-003.sql`) and the
   * credits column (`sql/keyward-004.sql`). Idempotent, and safe when several instances start at once.
   */
  async migrate(): Promise<void> {
    const timeout = Math.max(this.#timeoutMs, 30_000)
    const statements = [
      ...postgresSchemaStatements(this.#names(this.#table)),
      ...postgresRefreshFamilyStatements(this.#names(this.#familyTable)),
    ]
    // ALTER TABLE takes the table's exclusive lock even when the column exists, and reads queue
    // behind it: only when a column is missing, so a routine start-up never stalls the hot path.
    const present = await withTimeout(
      this.#client.query(
        'SELECT count(*)::int AS n FROM pg_attribute ' +
          "WHERE attrelid = to_regclass($1) AND attname IN ('version', 'root_id', 'credits') AND NOT attisdropped",
        [this.#table],
      ),
      timeout,
      'Postgres migration',
    )
    if ((present.rows[0] as { n?: unknown } | undefined)?.n !== 3)
      statements.push(...postgresLifecycleStatements(this.#names(this.#table)), ...postgresCreditsStatements(this.#names(this.#table)))
    for (const statement of statements) {
      try {
        await withTimeout(this.#client.query(statement), timeout, 'Postgres migration')
      } catch (error) {
        // Two instances racing on CREATE ... IF NOT EXISTS: the loser sees a duplicate (which one
        // depends on where the catalogs collide: a unique index, the relation, its row type, the
        // schema); the uniqueness check waited for the winner's commit, so the object exists now.
        const code = (error as { code?: unknown } | null)?.code
        if (typeof code !== 'string' || !RACED_CREATE.has(code)) throw error
      }
    }
  }

  async findById(id: string): Promise<KeyRecord | null> {
    const rows = await this.#query(`SELECT ${KEY_COLUMNS} FROM ${this.#table} WHERE id = $1`, [id])
    return rows.length === 0 ? null : rowToKeyRecord(rows[0])
  }

  async insert(record: KeyRecord): Promise<boolean> {
    const { text, params } = insertKeyRecord(this.#table, record)
    const rows = await this.#query(text, params)
    return rows.length === 1
  }

  async update(id: string, patch: KeyRecordPatch, condition?: UpdateCondition): Promise<KeyRecord | null> {
    const params: unknown[] = [id, this.#channel, condition === undefined ? null : condition.ifVersion]
    const sets = ['version = version + 1', ...patchAssignments(patch, params)]
    // One statement: the version check, the change and the notification happen in the same
    // transaction. UPDATE locks the row and re-checks the WHERE clause against the latest
    // committed version, so of two writers conditioned on one version only one matches; other
    // instances hear of it exactly when (and only if) the change commits.
    const rows = await this.#query(
      `WITH changed AS (UPDATE ${this.#table} SET ${sets.join(', ')} ` +
        `WHERE id = $1 AND ($3::bigint IS NULL OR version = $3::bigint) RETURNING ${KEY_COLUMNS}) ` +
        'SELECT changed.*, pg_notify($2::text, changed.id) AS notified FROM changed',
      params,
    )
    if (rows.length === 0) return null
    const record = rowToKeyRecord(rows[0])
    // Without an active LISTEN of our own, our subscribers would not hear of our own change.
    if (!this.#changes.hearing) this.#changes.emit({ type: 'key', id })
    return record
  }

  async listByOrg(orgId: string, options: ListOptions = {}): Promise<KeyRecord[]> {
    const rows = await this.#query(
      `SELECT ${KEY_COLUMNS} FROM ${this.#table} ` +
        'WHERE org_id = $1 AND ($2::boolean OR revoked_at IS NULL) AND ($3::text IS NULL OR id > $3::text) ' +
        'ORDER BY id LIMIT $4::bigint',
      [orgId, options.includeRevoked === true, options.after ?? null, options.limit ?? null],
    )
    return rows.map(rowToKeyRecord)
  }

  async touch(entries: ReadonlyArray<{ id: string; lastUsedAt: number }>): Promise<void> {
    if (entries.length === 0) return
    const latest = new Map<string, number>()
    for (const { id, lastUsedAt } of entries) latest.set(id, Math.max(latest.get(id) ?? -Infinity, lastUsedAt))
    // One statement for the whole batch; a time never moves backwards; unknown ids match nothing.
    await this.#query(
      `UPDATE ${this.#table} AS k SET last_used_at = u.at ` +
        'FROM unnest($1::text[], $2::bigint[]) AS u(id, at) ' +
        'WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)',
      [[...latest.keys()], [...latest.values()]],
    )
  }

  async insertRefreshFamily(record: RefreshFamilyRecord): Promise<boolean> {
    const rows = await this.#query(this.#familySql.insert, familyParams(checkRefreshFamilyRecord(record)))
    return rows.length === 1
  }

  async rotateRefreshFamily(id: string, presented: string, next: string, expiresAt: number, now: number): Promise<RefreshRotation> {
    checkRotation(id, presented, next, expiresAt, now)
    const rows = await this.#query(this.#familySql.rotate, [id, presented, next, expiresAt, now])
    if (rows.length > 1) throw new TypeError('keyward: Postgres rotated more than one refresh family')
    return rotationOutcome(rows.length === 0 ? null : toRotationState(rows[0]), presented, now)
  }

  async revokeRefreshFamily(id: string, now: number): Promise<boolean> {
    checkFamilyId(id, 'id')
    checkFamilyTime(now, 'now')
    const rows = await this.#query(this.#familySql.revoke, [id, now])
    return rows.length === 1
  }

  async findRefreshFamily(id: string, now: number = Date.now()): Promise<RefreshFamilyRecord | null> {
    checkFamilyId(id, 'id')
    checkFamilyTime(now, 'now')
    const rows = await this.#query(this.#familySql.find, [id, now])
    return rows.length === 0 ? null : toFamily(rows[0])
  }

  /** Deletes the families expired at `now` (one statement, using the `expires_at` index); resolves how many. Run it now and then. */
  async purgeExpiredRefreshFamilies(now: number): Promise<number> {
    checkFamilyTime(now, 'now')
    const rows = await this.#query(this.#familySql.purge, [now])
    return toTime((rows[0] as { purged?: unknown } | undefined)?.purged, 'purged')
  }

  subscribe(listener: (event: InvalidationEvent) => void): () => void {
    return this.#changes.subscribe(listener)
  }

  /**
   * Resolves once subscribers hear other instances' changes (LISTEN is active and heard its own
   * self-test), or at once when there is nobody to tell or no way to listen. Rejects while
   * degraded: LISTEN could not be established, or it does not hear its self-test (a pooler).
   * Tests and health checks wait on it.
   */
  listening(): Promise<void> {
    return this.#changes.listening()
  }

  /** Stops listening and drops every subscriber. Leaves the client (your pool) open; ends a `listener` Client. */
  close(): Promise<void> {
    return this.#changes.close()
  }

  #names(qualified: string): { schema?: string; table: string } {
    const [first, second] = qualified.split('.') as [string, string | undefined]
    return second === undefined ? { table: first } : { schema: first, table: second }
  }

  async #query(text: string, params: unknown[]): Promise<unknown[]> {
    const result = await withTimeout(this.#client.query(text, params), this.#timeoutMs, 'Postgres query')
    if (result === null || typeof result !== 'object' || !Array.isArray(result.rows))
      throw new TypeError('keyward: the Postgres client answered without rows')
    return result.rows
  }

  /** How this store LISTENs, or undefined when it cannot (a single pg Client with no `listener`). */
  #transport(
    client: PostgresQueryable | PostgresJsClient,
    listener: string | PostgresListenerClient | PostgresJsClient | undefined,
  ): InvalidationTransport | undefined {
    const channel = this.#channel
    const publish = (payload: string) => this.#query('SELECT pg_notify($1::text, $2::text)', [channel, payload])
    if (isPostgresJs(listener)) return postgresJsTransport(listener, channel, this.#timeoutMs, publish)
    if (isPostgresJs(client)) {
      if (listener !== undefined)
        throw new TypeError('keyward: with a postgres.js client, pass `listener` as a postgres.js client too: postgres(directUrl)')
      return postgresJsTransport(client, channel, this.#timeoutMs, publish)
    }
    if (typeof listener === 'string' && typeof (client as { Client?: unknown }).Client !== 'function') {
      throw new TypeError("keyward: a `listener` connection string needs a pg Pool as the store's client; pass a pg Client instead")
    }
    if (listener !== undefined)
      return postgresConnectionTransport(this.#listenerClients(client, listener), channel, this.#timeoutMs, publish)
    const candidate = client as Partial<PoolLike & PGliteLike>
    if (typeof candidate.listen === 'function') return pgliteTransport(candidate as PGliteLike, channel, this.#timeoutMs, publish)
    // A single pg Client (or a client checked out of a pool) is one connection: it cannot also
    // give out a dedicated one to LISTEN on. Changes are then announced in this process only.
    if ('connectionParameters' in client || typeof (client as { release?: unknown }).release === 'function') return undefined
    if (typeof candidate.connect !== 'function') return undefined
    const pool = candidate as PoolLike
    const connect = async () => {
      const connection = await pool.connect()
      if (connection === null || typeof connection !== 'object' || typeof connection.release !== 'function') {
        throw new TypeError(
          'keyward: PostgresTokenStore listens through a pool (pg Pool) or PGlite; with a single client, pass { listen: false }',
        )
      }
      return connection
    }
    return postgresConnectionTransport(connect, channel, this.#timeoutMs, publish)
  }

  /** Connected `listener` Clients: the one given first, then new ones like it (a pg Client connects only once). */
  #listenerClients(
    client: PostgresQueryable | PostgresJsClient,
    listener: string | PostgresListenerClient,
  ): () => Promise<PostgresListenConnection> {
    let given: PostgresListenerClient | undefined = typeof listener === 'string' ? undefined : listener
    const make = (): PostgresListenerClient => {
      if (given !== undefined) {
        const first = given
        given = undefined
        return first
      }
      if (typeof listener !== 'string') {
        const Client = listener.constructor as ClientClass
        return new Client((listener as { connectionParameters?: unknown }).connectionParameters)
      }
      const Client = (client as { Client?: unknown }).Client
      if (typeof Client !== 'function') {
        throw new TypeError("keyward: a `listener` connection string needs a pg Pool as the store's client; pass a pg Client instead")
      }
      return new (Client as ClientClass)(listener)
    }
    return async () => {
      const connection = make()
      // pg reports a failed connect() through 'error' too: never leave it unheard.
      connection.on('error', () => {})
      try {
        await connection.connect()
      } catch (error) {
        await connection.end().catch(() => {})
        throw error
      }
      return connection
    }
  }
}
