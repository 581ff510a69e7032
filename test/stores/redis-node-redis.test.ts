/**
 * RedisTokenStore on node-redis (`createClient`), against the real Redis: the whole conformance
 * suite (records, conditional writes, listing, refresh families, announcements, a second process).
 */
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { describeTokenStoreConformance } from '../../testing/index.js'
import { CI, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'
import { deleteKeys, redisKindHarness } from './redis-harness.js'

const RUN = `kwtest:node-redis:${randomUUID()}`
const available = await redisAnswers()
if (!available) warnSkipped(`Redis on ${REDIS.host}:${REDIS.port}`, 'the RedisTokenStore tests on node-redis')

describe('Redis server for the node-redis store tests', () => {
  it(`answers on ${REDIS.host}:${REDIS.port}`, ({ skip }) => {
    if (!available && !CI) return skip('no Redis server; skipped outside CI')
    expect(available, `Redis must answer on ${REDIS.host}:${REDIS.port} in CI`).toBe(true)
  })
})

afterAll(async () => {
  if (available) await deleteKeys([REDIS], false, `${RUN}:*`)
})

if (available)
  describeTokenStoreConformance('RedisTokenStore on node-redis (createClient)', () => redisKindHarness('node-redis', [REDIS], RUN))
