// The parts of Cloudflare's D1 binding keyward uses, as structural types: keyward imports no
// Cloudflare package, so any object with this shape (the real binding, miniflare's) will do.

/**
 * A prepared D1 statement, as `D1Database.prepare()` returns it.
 *
 * @example
 * ```ts
 * const row = await db.prepare('SELECT 1 AS one').first<{ one: number }>()
 * ```
 */
export interface D1PreparedStatementLike {
  bind(...values: unknown[]): D1PreparedStatementLike
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>
  first<T = Record<string, unknown>>(): Promise<T | null>
  run(): Promise<unknown>
}

/**
 * The D1 database binding (`env.DB` in a Worker) as keyward uses it: `prepare` and `batch`, which
 * runs its statements in one transaction.
 *
 * @example
 * ```ts
 * const store = new D1TokenStore(env.DB)
 * ```
 */
export interface D1DatabaseLike {
  prepare(query: string): D1PreparedStatementLike
  batch<T = Record<string, unknown>>(statements: D1PreparedStatementLike[]): Promise<Array<{ results: T[] }>>
}
