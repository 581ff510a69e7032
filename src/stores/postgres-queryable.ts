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
