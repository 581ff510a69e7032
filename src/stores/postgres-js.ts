import type { PostgresQueryable } from './postgres-queryable.js'

// Structural types only: this file must not import `postgres` (an optional peer).

/**
 * What the store needs of a postgres.js client (`postgres(url)`): `unsafe()` for its queries,
 * `listen()` for other instances' announcements.
 *
 * @example
 * ```ts
 * import postgres from 'postgres'
 * const sql: PostgresJsClient = postgres(process.env.DATABASE_URL!)
 * ```
 */
export interface PostgresJsClient {
  unsafe(text: string, params?: unknown[]): PromiseLike<unknown[]>
  /** Resolves once LISTEN is active; `onlisten` runs then and again after each reconnection. */
  listen(channel: string, onnotify: (payload: string) => void, onlisten?: () => void): Promise<{ unlisten(): Promise<unknown> }>
}

/**
 * True for a postgres.js client: a function (the tagged template) with `unsafe` and `listen`.
 *
 * @example
 * ```ts
 * if (isPostgresJs(client)) client.unsafe('SELECT 1')
 * ```
 */
export function isPostgresJs(client: unknown): client is PostgresJsClient {
  const candidate = client as Partial<PostgresJsClient> | null
  return typeof client === 'function' && typeof candidate?.unsafe === 'function' && typeof candidate.listen === 'function'
}

/**
 * The postgres.js client as the `query(text, params)` the store speaks. Every query is one
 * statement; `unsafe` with parameters uses the extended protocol, so values are never spliced in.
 *
 * @example
 * ```ts
 * const client = postgresJsQueryable(sql)
 * await client.query('SELECT 1 AS one', [])
 * ```
 */
export function postgresJsQueryable(sql: PostgresJsClient): PostgresQueryable {
  return {
    query: async (text, params) => ({ rows: [...(await (params === undefined ? sql.unsafe(text) : sql.unsafe(text, params)))] }),
  }
}
