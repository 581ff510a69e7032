/**
 * The real servers the integration tests talk to, and the one rule for when they are missing:
 * locally the tests skip with a loud banner; in CI (CI=true) a missing server fails the run.
 */
import Redis from 'ioredis'
import pg from 'pg'

export const CI = process.env.CI === 'true'

/**
 * The test database: KEYWARD_TEST_DATABASE_URL (e.g. `postgres://me:pw@localhost:5433/kwtest`),
 * default `postgres://postgres@127.0.0.1:5432/test`. Tests create their own schemas in it.
 */
export const POSTGRES_URL = process.env.KEYWARD_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
export const POSTGRES = postgresConfig(POSTGRES_URL)

/** `pg` connection settings from a URL, so tests can spread them into a Pool or name the server. */
function postgresConfig(url: string): { host: string; port: number; user: string; password?: string; database: string } {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error('KEYWARD_TEST_DATABASE_URL must be a postgres:// URL')
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new Error('KEYWARD_TEST_DATABASE_URL must be a postgres:// URL')
  const password = decodeURIComponent(parsed.password)
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username) || 'postgres',
    ...(password === '' ? {} : { password }),
    database: decodeURIComponent(parsed.pathname.slice(1)) || 'test',
  }
}
// The Redis port is overridable only to rehearse the missing-server paths (skip locally, fail in CI).
export const REDIS = { host: '127.0.0.1', port: Number(process.env.KEYWARD_TEST_REDIS_PORT ?? 6379) }

/** True when PostgreSQL answers a query within 3 s. */
export async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ ...POSTGRES, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** True when Redis answers PING within 1 s. */
export async function redisAnswers(): Promise<boolean> {
  const probe = new Redis({
    ...REDIS,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/**
 * The loud local banner for skipped integration tests (`missing`: what did not answer). The
 * `!! ... are SKIPPED.` line is also read by test/support/skipped-summary-reporter.ts, which
 * repeats every skipped group as the last lines of the run: keep its shape.
 */
export function warnSkipped(missing: string, tests: string): void {
  if (CI) return
  console.warn(
    `\n${'!'.repeat(78)}\n!! ${missing} does not answer: ${tests} are SKIPPED.\n` +
      `!! Start it to run them. In CI (CI=true) this is a failure.\n${'!'.repeat(78)}\n`,
  )
}
