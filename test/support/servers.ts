/**
 * The real servers the integration tests talk to, and the one rule for when they are missing:
 * locally the tests skip with a loud banner; in CI (CI=true) a missing server fails the run.
 */
import Redis from 'ioredis'
import pg from 'pg'

export const CI = process.env.CI === 'true'
export const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' }
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
  const probe = new Redis({ ...REDIS, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
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

/** The loud local banner for skipped integration tests (`missing`: what did not answer). */
export function warnSkipped(missing: string, tests: string): void {
  if (CI) return
  console.warn(`\n${'!'.repeat(78)}\n!! ${missing} does not answer: ${tests} are SKIPPED.\n!! Start it to run them. In CI (CI=true) this is a failure.\n${'!'.repeat(78)}\n`)
}
