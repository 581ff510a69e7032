import { PostgresTokenStore } from '../stores/postgres-token-store.js'
import { RedisTokenStore } from '../stores/redis-token-store.js'
import type { TokenStore } from '../stores/token-store.js'

/**
 * Where the CLI keeps keys, from its flags and environment.
 *
 * @example
 * ```ts
 * const target: StoreTarget = { kind: 'postgres', url: process.env.DATABASE_URL!, schema: 'auth' }
 * ```
 */
export type StoreTarget = { kind: 'postgres'; url: string; schema?: string } | { kind: 'redis'; url: string; prefix?: string }

/**
 * A store the CLI opened, and how to let go of its connections.
 *
 * @example
 * ```ts
 * const { store, close } = await openStore(target)
 * try { ... } finally { await close() }
 * ```
 */
export interface OpenedStore {
  store: TokenStore
  close(): Promise<void>
}

/**
 * Thrown when a driver package is not installed: a usage problem, said plainly.
 *
 * @example
 * ```ts
 * if (error instanceof MissingDriverError) console.error(error.message) // '--database-url needs the pg package: npm install pg'
 * ```
 */
export class MissingDriverError extends Error {
  override readonly name = 'MissingDriverError'
}

async function load<T>(name: string, flag: string): Promise<T> {
  try {
    return (await import(name)) as T
  } catch {
    throw new MissingDriverError(`${flag} needs the ${name} package: npm install ${name}`)
  }
}

const TIMEOUT_MS = 10_000

/**
 * Connects to the store. PostgreSQL: the table is created when missing (`migrate()`). No
 * subscription is opened: the CLI only writes, and the stores announce its changes to servers.
 * Rejects when the server cannot be reached.
 *
 * @example
 * ```ts
 * const { store, close } = await openStore({ kind: 'redis', url: 'redis://127.0.0.1:6379' })
 * ```
 */
export async function openStore(target: StoreTarget): Promise<OpenedStore> {
  if (target.kind === 'postgres') {
    const pg = await load<{ default: typeof import('pg') }>('pg', '--database-url')
    const pool = new pg.default.Pool({ connectionString: target.url, max: 2, connectionTimeoutMillis: TIMEOUT_MS })
    // An idle client's error (the server going away) must not crash the command with an unhandled event.
    pool.on('error', () => {})
    const store = new PostgresTokenStore(pool, {
      ...(target.schema === undefined ? {} : { schema: target.schema }),
      listen: false,
      queryTimeoutMs: TIMEOUT_MS,
    })
    try {
      // The table is created when missing; so is a schema named with --schema.
      if (target.schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${target.schema}`)
      await store.migrate()
    } catch (error) {
      await pool.end().catch(() => {})
      throw error
    }
    return { store, close: () => store.close().then(() => pool.end()) }
  }
  const ioredis = await load<{ default: typeof import('ioredis').default }>('ioredis', '--redis-url')
  const client = new ioredis.default(target.url, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    client.disconnect()
    throw error
  }
  const store = new RedisTokenStore(client, {
    ...(target.prefix === undefined ? {} : { prefix: target.prefix }),
    listen: false,
    timeoutMs: TIMEOUT_MS,
  })
  return {
    store,
    async close() {
      await client.quit().catch(() => client.disconnect())
    },
  }
}
