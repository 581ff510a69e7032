// The D1 (SQLite) tables D1TokenStore reads and writes, derived from the same column names as the
// PostgreSQL ones. Shipped as sql/d1/0001_keyward.sql for `wrangler d1 migrations apply`.

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/

/**
 * Table names of the D1 store.
 *
 * @example
 * ```ts
 * d1SchemaStatements({ table: 'api_keys', refreshFamilyTable: 'api_sessions' })
 * ```
 */
export interface D1TableNames {
  /** The key table. Default `keyward_keys`. */
  table?: string
  /** The refresh-family table. Default `keyward_refresh_families`. */
  refreshFamilyTable?: string
}

/**
 * Checks and defaults the table names; a bad one is a TypeError naming the option.
 *
 * @example
 * ```ts
 * resolveD1TableNames({ table: 'api_keys' }) // { table: 'api_keys', refreshFamilyTable: 'keyward_refresh_families' }
 * ```
 */
export function resolveD1TableNames(names: D1TableNames = {}): Required<D1TableNames> {
  const resolved = { table: names.table ?? 'keyward_keys', refreshFamilyTable: names.refreshFamilyTable ?? 'keyward_refresh_families' }
  for (const [option, value] of Object.entries(resolved)) {
    if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > 50) {
      throw new TypeError(`keyward: ${option} must be a lowercase SQL identifier ([a-z_][a-z0-9_]*) of at most 50 characters`)
    }
  }
  if (resolved.table === resolved.refreshFamilyTable) throw new TypeError('keyward: table and refreshFamilyTable must differ')
  return resolved
}

/**
 * The statements that create the D1 store's tables and indexes; idempotent (`IF NOT EXISTS`).
 * Lists are JSON arrays and metadata a JSON object, in TEXT columns; times are epoch ms.
 *
 * @example
 * ```ts
 * await db.batch(d1SchemaStatements().map((sql) => db.prepare(sql)))
 * ```
 */
export function d1SchemaStatements(names: D1TableNames = {}): string[] {
  const { table, refreshFamilyTable: families } = resolveD1TableNames(names)
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
  id              TEXT PRIMARY KEY,
  prefix          TEXT NOT NULL,
  environment     TEXT NOT NULL CHECK (environment IN ('live', 'test')),
  hash            TEXT NOT NULL,
  org_id          TEXT NOT NULL,
  name            TEXT NOT NULL,
  description     TEXT,
  projects        TEXT NOT NULL DEFAULT '[]' CHECK (json_type(projects) = 'array'),
  scopes          TEXT NOT NULL DEFAULT '[]' CHECK (json_type(scopes) = 'array'),
  allowed_origins TEXT NOT NULL DEFAULT '[]' CHECK (json_type(allowed_origins) = 'array'),
  allowed_ips     TEXT NOT NULL DEFAULT '[]' CHECK (json_type(allowed_ips) = 'array'),
  rate_limit      TEXT NOT NULL DEFAULT '[]' CHECK (json_type(rate_limit) = 'array'),
  metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_type(metadata) = 'object'),
  expires_at      INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  last_used_at    INTEGER,
  revoked_at      INTEGER,
  rotated_from    TEXT,
  rotated_to      TEXT,
  version         INTEGER NOT NULL DEFAULT 0,
  root_id         TEXT
);`,
    `CREATE INDEX IF NOT EXISTS ${table}_org_id_idx ON ${table} (org_id, id);`,
    `CREATE TABLE IF NOT EXISTS ${families} (
  id          TEXT PRIMARY KEY,
  subject     TEXT NOT NULL,
  org_id      TEXT NOT NULL,
  current_jti TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  created_at  INTEGER NOT NULL
);`,
    `CREATE INDEX IF NOT EXISTS ${families}_expires_idx ON ${families} (expires_at);`,
  ]
}

/**
 * The D1 migration as one SQL file's text (the content of `sql/d1/0001_keyward.sql`).
 *
 * @example
 * ```ts
 * writeFileSync('migrations/0001_keyward.sql', d1SchemaSql())
 * ```
 */
export function d1SchemaSql(names: D1TableNames = {}): string {
  const header = [
    '-- keyward D1 0001: the tables D1TokenStore reads and writes. Idempotent: safe to run again.',
    '-- Times are epoch milliseconds. Lists and metadata are JSON text. Revocation is soft.',
  ].join('\n')
  return `${header}\n\n${d1SchemaStatements(names).join('\n\n')}\n`
}

/**
 * The credits migration (`sql/d1/0002_keyward_credits.sql`): the key table's nullable `credits`
 * column, a key's configured usage credits as JSON. Not idempotent on its own (SQLite has no
 * `ADD COLUMN IF NOT EXISTS`): wrangler applies it once, and `D1TokenStore.migrate()` only when
 * the column is missing.
 *
 * @example
 * ```ts
 * await db.prepare(d1CreditsStatements()[0]!).run()
 * ```
 */
export function d1CreditsStatements(names: D1TableNames = {}): string[] {
  const { table } = resolveD1TableNames(names)
  return [`ALTER TABLE ${table} ADD COLUMN credits TEXT CHECK (credits IS NULL OR json_type(credits) = 'object');`]
}

/**
 * The credits migration as one SQL file's text (the content of `sql/d1/0002_keyward_credits.sql`).
 *
 * @example
 * ```ts
 * writeFileSync('migrations/0002_keyward_credits.sql', d1CreditsSql())
 * ```
 */
export function d1CreditsSql(names: D1TableNames = {}): string {
  const header = [
    "-- keyward D1 0002: usage credits. Apply once, after 0001. credits holds a key's configured credits",
    '-- as JSON { remaining, refill, epoch }, or NULL; the running balance lives in the rate limiter.',
  ].join('\n')
  return `${header}\n\n${d1CreditsStatements(names).join('\n\n')}\n`
}
