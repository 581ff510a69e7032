/**
 * The schema of {@link PostgresTokenStore}: the keys table, keyed by key id, with an index on org
 * (`sql/keyward-001.sql`), the refresh-family table (`sql/keyward-002.sql`), and the keys
 * table's `version` and `root_id` columns (`sql/keyward-003.sql`), and its `credits` column
 * (`sql/keyward-004.sql`). The files hold
 * the same text for users who run migrations with their own tool; `store.migrate()` runs these
 * statements. Both are idempotent.
 *
 * Choices, so that a row converts to a `KeyRecord` without loss:
 * - times are `bigint` epoch milliseconds, exactly the numbers keyward uses (no time zone, no
 *   microsecond rounding, no `Date` parsing);
 * - `id` is `COLLATE "C"`: byte order, the order JavaScript sorts base62 ids in, so listing and
 *   keyset pagination agree with the memory store whatever the database's default collation;
 * - lists are `text[]`, `metadata` and `rate_limit` are `jsonb`;
 * - revocation is soft: `revoked_at` is set and the row is kept for audit.
 */

/** Names validated by {@link postgresSchemaSql}: lowercase SQL identifiers, never quoted. */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/

/**
 * Where the table lives. Both names are plain lowercase identifiers.
 *
 * @example
 * ```ts
 * const where: PostgresTableName = { schema: 'auth', table: 'api_keys' }
 * ```
 */
export interface PostgresTableName {
  /** Default: none, the connection's `search_path` decides. */
  schema?: string
  /** Default `keyward_keys`. */
  table?: string
}

/** Validates the names and returns the qualified table name and the bare table name. */
export function resolveTableName(names: PostgresTableName = {}): { qualified: string; table: string } {
  const table = names.table ?? 'keyward_keys'
  if (typeof table !== 'string' || !IDENTIFIER.test(table) || table.length > 50) {
    throw new TypeError('keyward: table must be a lowercase SQL identifier ([a-z_][a-z0-9_]*) of at most 50 characters')
  }
  const schema = names.schema
  if (schema !== undefined && (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.length > 63)) {
    throw new TypeError('keyward: schema must be a lowercase SQL identifier ([a-z_][a-z0-9_]*) of at most 63 characters')
  }
  return { qualified: schema === undefined ? table : `${schema}.${table}`, table }
}

/**
 * The migration's statements for a table name, in order. Each is one statement, safe to run again.
 *
 * @example
 * ```ts
 * for (const statement of postgresSchemaStatements({ schema: 'auth' })) await pool.query(statement)
 * ```
 */
export function postgresSchemaStatements(names: PostgresTableName = {}): string[] {
  const { qualified, table } = resolveTableName(names)
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified} (
  id              text COLLATE "C" PRIMARY KEY,
  prefix          text NOT NULL,
  environment     text NOT NULL CHECK (environment IN ('live', 'test')),
  hash            text NOT NULL,
  org_id          text NOT NULL,
  name            text NOT NULL,
  description     text,
  projects        text[] NOT NULL DEFAULT '{}',
  scopes          text[] NOT NULL DEFAULT '{}',
  allowed_origins text[] NOT NULL DEFAULT '{}',
  allowed_ips     text[] NOT NULL DEFAULT '{}',
  rate_limit      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(rate_limit) = 'array'),
  metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  expires_at      bigint,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL,
  last_used_at    bigint,
  revoked_at      bigint,
  rotated_from    text,
  rotated_to      text
);`,
    `CREATE INDEX IF NOT EXISTS ${table}_org_id_idx ON ${qualified} (org_id, id);`,
  ]
}

/**
 * The whole migration as one SQL text, with a header comment: what `sql/keyward-001.sql` holds
 * for the default names.
 *
 * @example
 * ```ts
 * // Hand the SQL to your own migration tool, e.g. as the body of a migration file:
 * const sql = postgresSchemaSql({ schema: 'auth' })
 * ```
 */
export function postgresSchemaSql(names: PostgresTableName = {}): string {
  const header = [
    '-- keyward 001: the table PostgresTokenStore reads and writes. Idempotent: safe to run again.',
    '-- Times are epoch milliseconds (bigint). Revocation is soft: revoked_at is set, the row is kept.',
    '-- id is COLLATE "C" so that listing order and keyset pagination follow byte order.',
  ].join('\n')
  return `${header}\n\n${postgresSchemaStatements(names).join('\n\n')}\n`
}

/**
 * `sql/keyward-001.sql`: the migration for the default table `keyward_keys`.
 *
 * @example
 * ```ts
 * await pool.query(KEYWARD_POSTGRES_SCHEMA) // pg runs several statements in one simple query
 * ```
 */
export const KEYWARD_POSTGRES_SCHEMA: string = postgresSchemaSql()

/**
 * The refresh-family migration's statements (`sql/keyward-002.sql`), in order: the table
 * `keyward_refresh_families` (or `table`) in `schema`, and an index on `expires_at` for purging.
 * Each is one statement, safe to run again.
 *
 * @example
 * ```ts
 * for (const statement of postgresRefreshFamilyStatements({ schema: 'auth' })) await pool.query(statement)
 * ```
 */
export function postgresRefreshFamilyStatements(names: PostgresTableName = {}): string[] {
  const { qualified, table } = resolveTableName({ ...names, table: names.table ?? 'keyward_refresh_families' })
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified} (
  id          text COLLATE "C" PRIMARY KEY,
  subject     text NOT NULL,
  org_id      text NOT NULL,
  current_jti text COLLATE "C" NOT NULL,
  expires_at  bigint NOT NULL,
  revoked_at  bigint,
  created_at  bigint NOT NULL
);`,
    `CREATE INDEX IF NOT EXISTS ${table}_expires_idx ON ${qualified} (expires_at);`,
  ]
}

/**
 * The refresh-family migration as one SQL text with a header comment: what
 * `sql/keyward-002.sql` holds for the default names.
 *
 * @example
 * ```ts
 * const sql = postgresRefreshFamilySql({ schema: 'auth' }) // for your own migration tool
 * ```
 */
export function postgresRefreshFamilySql(names: PostgresTableName = {}): string {
  const header = [
    '-- keyward 002: refresh-token families (one row per login session) for JWT refresh rotation.',
    '-- Idempotent: safe to run again. Times are epoch milliseconds (bigint). A family at or past',
    '-- expires_at is dead; the index lets a periodic DELETE ... WHERE expires_at <= now purge them.',
  ].join('\n')
  return `${header}\n\n${postgresRefreshFamilyStatements(names).join('\n\n')}\n`
}

/**
 * `sql/keyward-002.sql`: the refresh-family migration for the default table
 * `keyward_refresh_families`. Run it after `sql/keyward-001.sql`.
 *
 * @example
 * ```ts
 * await pool.query(KEYWARD_POSTGRES_REFRESH_FAMILY_SCHEMA)
 * ```
 */
export const KEYWARD_POSTGRES_REFRESH_FAMILY_SCHEMA: string = postgresRefreshFamilySql()

/**
 * The lifecycle migration's statements (`sql/keyward-003.sql`) for the keys table: a `version`
 * column every update bumps and every lifecycle change is conditioned on, and `root_id`, the
 * first key of a rotation chain, under which the chain's quota is counted. Rows written before
 * it get version 0 and no root (their own id), and keep working. Each statement is safe to run again.
 *
 * @example
 * ```ts
 * for (const statement of postgresLifecycleStatements({ schema: 'auth' })) await pool.query(statement)
 * ```
 */
export function postgresLifecycleStatements(names: PostgresTableName = {}): string[] {
  const { qualified } = resolveTableName(names)
  return [
    `ALTER TABLE ${qualified} ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;`,
    `ALTER TABLE ${qualified} ADD COLUMN IF NOT EXISTS root_id text;`,
  ]
}

/**
 * The lifecycle migration as one SQL text with a header comment: what `sql/keyward-003.sql`
 * holds for the default names.
 *
 * @example
 * ```ts
 * const sql = postgresLifecycleSql({ schema: 'auth' }) // for your own migration tool
 * ```
 */
export function postgresLifecycleSql(names: PostgresTableName = {}): string {
  const header = [
    '-- keyward 003: conditional lifecycle writes and one quota per rotation chain. Run after 001.',
    '-- Idempotent: safe to run again. Every update bumps version; rotate, update and revoke write',
    '-- only over the version they read. root_id is the first key of a rotation chain (NULL: the',
    "-- row's own id). Existing rows get version 0 and no root, and keep working.",
  ].join('\n')
  return `${header}\n\n${postgresLifecycleStatements(names).join('\n\n')}\n`
}

/**
 * `sql/keyward-003.sql`: the lifecycle migration for the default table `keyward_keys`.
 *
 * @example
 * ```ts
 * await pool.query(KEYWARD_POSTGRES_LIFECYCLE_SCHEMA)
 * ```
 */
export const KEYWARD_POSTGRES_LIFECYCLE_SCHEMA: string = postgresLifecycleSql()

/**
 * The credits migration's statements (`sql/keyward-004.sql`) for the keys table: a nullable
 * `credits` jsonb column, a key's configured usage credits (`{ remaining, refill, epoch }`; the
 * running balance lives in the limiter). Rows from before it have no credits. Safe to run again.
 *
 * @example
 * ```ts
 * for (const statement of postgresCreditsStatements({ schema: 'auth' })) await pool.query(statement)
 * ```
 */
export function postgresCreditsStatements(names: PostgresTableName = {}): string[] {
  const { qualified } = resolveTableName(names)
  return [`ALTER TABLE ${qualified} ADD COLUMN IF NOT EXISTS credits jsonb CHECK (credits IS NULL OR jsonb_typeof(credits) = 'object');`]
}

/**
 * The credits migration as one SQL text with a header comment: what `sql/keyward-004.sql` holds
 * for the default names.
 *
 * @example
 * ```ts
 * const sql = postgresCreditsSql({ schema: 'auth' }) // for your own migration tool
 * ```
 */
export function postgresCreditsSql(names: PostgresTableName = {}): string {
  const header = [
    '-- keyward 004: usage credits. Run after 003. Idempotent: safe to run again. credits holds a',
    "-- key's configured credits as JSON { remaining, refill, epoch }, or NULL for a key without;",
    '-- the running balance lives in the rate limiter. Existing rows get NULL and keep working.',
  ].join('\n')
  return `${header}\n\n${postgresCreditsStatements(names).join('\n\n')}\n`
}

/**
 * `sql/keyward-004.sql`: the credits migration for the default table `keyward_keys`.
 *
 * @example
 * ```ts
 * await pool.query(KEYWARD_POSTGRES_CREDITS_SCHEMA)
 * ```
 */
export const KEYWARD_POSTGRES_CREDITS_SCHEMA: string = postgresCreditsSql()
