import type { KeyRecord } from '../types.js'
import { boolean, checkedElsewhere, checkOptions, func, integer, orFalse, type OptionRules } from '../internal/options.js'
import { unrefTimer, withTimeout, type Timer } from '../internal/timers.js'
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
  postgresLifecycleStatements,
  postgresRefreshFamilyStatements,
  postgresSchemaStatements,
  resolveTableName,
} from './postgres-schema.js'
import { familyParams, refreshFamilySql, toFamily, toRotationState } from './postgres-refresh-families.js'
import { insertKeyRecord, KEY_COLUMNS, patchAssignments, rowToKeyRecord } from './postgres-record.js'
import { toTime } from './postgres-values.js'
import type { InvalidationEvent, KeyRecordPatch, ListOptions, TokenStore, UpdateCondition } from './token-store.js'

// Structural types only: this file must not import `pg` (an optional peer) nor anything Node-only.

/**
 * What the store needs of a client: a `pg` Pool, a PGlite instance, or anything with this method.
 *
 * @example
 * ```ts
 * const client: PostgresQueryable = new pg.Pool({ connectionString })
 * ```
 */
export interface PostgresQueryable {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>
}

/** A pooled connection as `pg` hands it out: the store LISTENs on one for its subscribers. */
export interface PostgresListenConnection {
  query(text: string): Promise<unknown>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches EventEmitter's signature
  on(event: string, listener: (...args: any[]) => void): unknown
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches EventEmitter's signature
  removeListener(event: string, listener: (...args: any[]) => void): unknown
  /** Back to the pool; an error (or true) destroys the connection instead. */
  release(destroy?: Error | boolean): void
}

interface PoolLike extends PostgresQueryable {
  connect(): Promise<PostgresListenConnection>
}

interface PGliteLike extends PostgresQueryable {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>
}

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
   * from `connect()`) or PGlite (`listen()`). A single pg Client cannot; its changes are then
   * announced to this store's subscribers only. Default true.
   */
  listen?: boolean
  /** First delay before re-establishing a lost LISTEN connection; doubles per failure up to 30 s. Default 250. */
  reconnectDelayMs?: number
  /** How often the LISTEN connection is checked with `SELECT 1` (a silent network loss emits no error). Default 10,000; false never. */
  heartbeatMs?: number | false
  /** Receives errors of the background LISTEN connection (it is re-established on its own). Default: ignore. */
  onError?: (error: unknown) => void
}

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
  reconnectDelayMs: positiveMs,
  heartbeatMs: orFalse(positiveMs),
  onError: func('(error) => void'),
}

/** One established LISTEN: how to end it. */
interface ListenSession {
  close(): Promise<void>
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
  readonly #listen: boolean
  readonly #reconnectDelayMs: number
  readonly #heartbeatMs: number | false
  readonly #onError: (error: unknown) => void
  readonly #listeners = new Set<(event: InvalidationEvent) => void>()
  /** Bumped whenever listening starts or stops; work of an older generation is dropped. */
  #generation = 0
  #session: ListenSession | undefined
  #closing: Promise<void> | undefined
  #retryTimer: Timer | undefined
  #waiters: Array<() => void> = []
  /** Set when the client turned out unable to LISTEN: changes are then announced in this process only. */
  #listenUnsupported = false

  constructor(client: PostgresQueryable, options: PostgresTokenStoreOptions = {}) {
    if (client === null || typeof client !== 'object' || typeof client.query !== 'function') {
      throw new TypeError('keyward: PostgresTokenStore needs a client with query(text, params), such as a pg Pool or a PGlite instance')
    }
    checkOptions(options, POSTGRES_OPTIONS, { notObject: 'PostgresTokenStore options must be an object' })
    this.#client = client
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
    this.#reconnectDelayMs = options.reconnectDelayMs ?? 250
    this.#heartbeatMs = options.heartbeatMs ?? 10_000
    this.#listen = options.listen ?? true
    // A single pg Client (or a client checked out of a pool) is one connection: it cannot also
    // give out a dedicated one to LISTEN on. Changes are then announced in this process only.
    this.#listenUnsupported =
      typeof (client as { listen?: unknown }).listen !== 'function' &&
      ('connectionParameters' in client || typeof (client as { release?: unknown }).release === 'function')
    this.#onError = options.onError ?? (() => {})
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
   * `sql/keyward-002.sql`), and adds the lifecycle columns (`sql/keyward-003.sql`). Idempotent, and
   * safe when several instances start at once.
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
          "WHERE attrelid = to_regclass($1) AND attname IN ('version', 'root_id') AND NOT attisdropped",
        [this.#table],
      ),
      timeout,
      'Postgres migration',
    )
    if ((present.rows[0] as { n?: unknown } | undefined)?.n !== 2) statements.push(...postgresLifecycleStatements(this.#names(this.#table)))
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
    if (this.#session === undefined) this.#emit({ type: 'key', id })
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
    this.#listeners.add(listener)
    if (this.#listeners.size === 1) this.#startListening()
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0) this.#stopListening()
    }
  }

  /**
   * Resolves once subscribers hear other instances' changes (LISTEN is active), or at once when
   * there is nobody to tell or no way to listen. Tests and health checks wait on it.
   */
  listening(): Promise<void> {
    if (this.#session !== undefined || this.#listeners.size === 0 || !this.#canListen()) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** Stops listening and drops every subscriber. Leaves the client (your pool) open. */
  async close(): Promise<void> {
    this.#listeners.clear()
    this.#stopListening()
    await this.#closing
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

  #emit(event: InvalidationEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event)
      } catch (error) {
        this.#onError(error)
      }
    }
  }

  #canListen(): boolean {
    const client = this.#client as Partial<PoolLike & PGliteLike>
    return this.#listen && !this.#listenUnsupported && (typeof client.listen === 'function' || typeof client.connect === 'function')
  }

  #startListening(): void {
    if (!this.#canListen()) return
    const generation = ++this.#generation
    this.#attempt(generation, 0)
  }

  #stopListening(): void {
    this.#generation += 1
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    const session = this.#session
    this.#session = undefined
    this.#wakeWaiters()
    if (session !== undefined) {
      const previous = this.#closing ?? Promise.resolve()
      this.#closing = previous.then(() => session.close()).catch((error: unknown) => this.#onError(error))
    }
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const resolve of waiters) resolve()
  }

  #attempt(generation: number, failures: number): void {
    const lost = (error: unknown) => {
      if (generation !== this.#generation) return
      this.#session = undefined
      this.#onError(error)
      // Changes may be announced while we are deaf: forget everything now, and again once back.
      this.#emit({ type: 'flush' })
      this.#schedule(generation, 0)
    }
    this.#open(generation, lost).then(
      (session) => {
        if (generation !== this.#generation) {
          session.close().catch((error: unknown) => this.#onError(error))
          return
        }
        this.#session = session
        // Anything cached before LISTEN took effect may have missed an announcement.
        this.#emit({ type: 'flush' })
        this.#wakeWaiters()
      },
      (error: unknown) => {
        if (generation !== this.#generation) return
        this.#onError(error)
        if (this.#listenUnsupported) this.#wakeWaiters()
        else this.#schedule(generation, failures + 1)
      },
    )
  }

  #schedule(generation: number, failures: number): void {
    const delay = Math.min(this.#reconnectDelayMs * 2 ** Math.min(failures, 16), 30_000)
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (generation === this.#generation) this.#attempt(generation, failures)
    }, delay)
    unrefTimer(this.#retryTimer)
  }

  #onPayload(generation: number, payload: string | undefined): void {
    if (generation !== this.#generation) return
    this.#emit(payload === undefined || payload === '' ? { type: 'flush' } : { type: 'key', id: payload })
  }

  async #open(generation: number, lost: (error: unknown) => void): Promise<ListenSession> {
    const client = this.#client as Partial<PoolLike & PGliteLike>
    const channel = this.#channel
    if (typeof client.listen === 'function') {
      const unlisten = await withTimeout(
        client.listen(channel, (payload) => this.#onPayload(generation, payload)),
        this.#timeoutMs,
        'Postgres LISTEN',
        (late) => void late().catch(() => {}),
      )
      return { close: () => withTimeout(unlisten(), this.#timeoutMs, 'Postgres UNLISTEN') }
    }
    const connection = await withTimeout(client.connect!(), this.#timeoutMs, 'Postgres connect', (late) => late?.release?.(true))
    if (
      connection === null ||
      typeof connection !== 'object' ||
      typeof connection.release !== 'function' ||
      typeof connection.on !== 'function'
    ) {
      // A single pg Client: its connect() hands out no pooled connection to LISTEN on.
      this.#listenUnsupported = true
      throw new TypeError(
        'keyward: PostgresTokenStore listens through a pool (pg Pool) or PGlite; with a single client, pass { listen: false }',
      )
    }
    let done = false
    let established = false
    let heartbeat: ReturnType<typeof setInterval> | undefined
    const onNotification = (message: { channel?: unknown; payload?: unknown }) => {
      if (message.channel === channel) this.#onPayload(generation, typeof message.payload === 'string' ? message.payload : undefined)
    }
    const detach = () => {
      done = true
      if (heartbeat !== undefined) clearInterval(heartbeat)
      connection.removeListener('notification', onNotification)
      connection.removeListener('end', onEnd)
      // The error listener stays: an error on a connection nobody listens to would crash the process.
    }
    const fail = (error: unknown) => {
      if (done) return
      detach()
      connection.release(error instanceof Error ? error : true)
      // Before LISTEN is established, the failing start itself reports (and retries).
      if (established) lost(error)
    }
    const onEnd = () => fail(new Error('keyward: the Postgres LISTEN connection ended'))
    connection.on('error', fail)
    connection.on('end', onEnd)
    connection.on('notification', onNotification)
    try {
      await withTimeout(connection.query(`LISTEN ${channel}`), this.#timeoutMs, 'Postgres LISTEN')
    } catch (error) {
      if (!done) {
        detach()
        connection.release(true)
      }
      throw error
    }
    if (done) throw new Error('keyward: the Postgres LISTEN connection was lost while starting')
    established = true
    if (this.#heartbeatMs !== false) {
      heartbeat = setInterval(() => {
        withTimeout(connection.query('SELECT 1'), this.#timeoutMs, 'Postgres heartbeat').catch(fail)
      }, this.#heartbeatMs)
      unrefTimer(heartbeat)
    }
    return {
      close: async () => {
        if (done) return
        detach()
        try {
          await withTimeout(connection.query(`UNLISTEN ${channel}`), this.#timeoutMs, 'Postgres UNLISTEN')
          connection.release()
        } catch (error) {
          connection.release(true)
          throw error
        }
      },
    }
  }
}
