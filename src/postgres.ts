/**
 * `keyward/postgres`: the PostgreSQL token store (a pg Pool, a postgres.js client, or PGlite
 * in-process) and its schema.
 * Imports no driver: pass your own client.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { PostgresTokenStore } from 'keyward/postgres'
 *
 * const store = new PostgresTokenStore(new pg.Pool({ connectionString: process.env.DATABASE_URL }))
 * await store.migrate()
 * ```
 */
export {
  PostgresTokenStore,
  type PostgresQueryable,
  type PostgresListenConnection,
  type PostgresListenerClient,
  type PostgresTokenStoreOptions,
} from './stores/postgres-token-store.js'
export type { PostgresJsClient } from './stores/postgres-js.js'
export {
  KEYWARD_POSTGRES_SCHEMA,
  KEYWARD_POSTGRES_LIFECYCLE_SCHEMA,
  KEYWARD_POSTGRES_CREDITS_SCHEMA,
  postgresCreditsSql,
  postgresCreditsStatements,
  postgresLifecycleSql,
  postgresLifecycleStatements,
  postgresSchemaSql,
  postgresSchemaStatements,
  type PostgresTableName,
} from './stores/postgres-schema.js'
