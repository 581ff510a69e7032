/**
 * Issue 4, item 6, the lockout half: two server processes sharing PostgreSQL (the keys) and Redis
 * (quotas and lockout). A lockout earned on one process holds on the other, and a key's quota is
 * one quota across both. The revocation half is in test/stores/postgres.test.ts; the same tests on
 * Redis Cluster are in test/limiters/redis-cluster.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { CI, POSTGRES, REDIS, postgresAnswers, redisAnswers, warnSkipped } from '../support/servers.js'
import { describeTwoProcesses } from './two-processes.js'

const PG = POSTGRES
const [pgUp, redisUp] = await Promise.all([postgresAnswers(), redisAnswers()])
const up = pgUp && redisUp
if (!up) {
  const missing = [pgUp ? null : `PostgreSQL on ${PG.host}:${PG.port}`, redisUp ? null : `Redis on ${REDIS.host}:${REDIS.port}`]
    .filter((m) => m !== null)
    .join(' and ')
  warnSkipped(missing, 'the two-process Redis lockout tests')
}

describe('PostgreSQL and Redis for the two-process tests', () => {
  it.runIf(CI)('answer (required in CI)', () => {
    expect(pgUp, `PostgreSQL must answer on ${PG.host}:${PG.port} in CI`).toBe(true)
    expect(redisUp, `Redis must answer on ${REDIS.host}:${REDIS.port} in CI`).toBe(true)
  })
})

if (up || CI) describeTwoProcesses('Redis', { nodes: [REDIS], cluster: false })
