/**
 * The endpoint as deployed: two instances over one Redis store, sharing the replay guard the docs
 * show (Redis SET NX PX), and mounted in Express the way docs/leaked-keys.md mounts it, over HTTP.
 */
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, createSecretScanningHandler, MemoryTokenStore, type ReplayGuard } from '../../src/index.js'
import { RedisTokenStore } from '../../src/redis.js'
import { CI, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'
import { makeSigningKey, sign, startKeyServer, type KeyServer } from './key-server.js'

const host = makeSigningKey('k1')
let keyServer: KeyServer
beforeAll(async () => {
  keyServer = await startKeyServer([host])
})
afterAll(() => keyServer.close())

function signed(url: string, tokens: object[]): Request {
  const body = JSON.stringify(tokens)
  return new Request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'github-public-key-identifier': host.id,
      'github-public-key-signature': sign(host, body),
    },
    body,
  })
}

const available = await redisAnswers()
if (!available) warnSkipped(`Redis on ${REDIS.host}:${REDIS.port}`, 'the shared secret-scanning tests')

describe('secret scanning across instances (Redis)', () => {
  const RUN = `kwtest:scan:${randomUUID()}`
  let redis: Redis
  beforeAll(() => {
    if (available) redis = new Redis({ ...REDIS, maxRetriesPerRequest: 1 })
  })
  afterAll(async () => {
    if (!available) return
    const keys = await redis.keys(`${RUN}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  it('a delivery replayed to another instance is refused; the key is revoked for both', async ({ skip }) => {
    if (!available && !CI) return skip('no Redis server; skipped outside CI')
    expect(available, 'Redis must answer in CI').toBe(true)
    const replayGuard: ReplayGuard = {
      claim: async (digest, ttlMs) => (await redis.set(`${RUN}:leak:${digest}`, '1', 'PX', ttlMs, 'NX')) === 'OK',
      release: async (digest) => void (await redis.del(`${RUN}:leak:${digest}`)),
    }
    const instances = [0, 1].map(() => {
      const store = new RedisTokenStore(redis, { prefix: `${RUN}:keys`, listen: false })
      const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, cache: false })
      return { kw, handle: createSecretScanningHandler(kw, { keysUrl: keyServer.url, replayGuard }) }
    })
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]]
    const { key } = await a.kw.keys.create({ name: 'n', orgId: 'o', projects: ['p'] })
    const tokens = [{ token: key, type: 't' }]
    expect((await a.handle(signed('http://a/leaks', tokens))).status).toBe(200)
    expect((await b.handle(signed('http://b/leaks', tokens))).status).toBe(409)
    for (const { kw } of instances)
      expect((await kw.verify({ headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.9' })).ok).toBe(false)
  })
})

describe('mounted in Express as docs/leaked-keys.md shows', () => {
  it('serves the raw body to the handler and its answer back, over HTTP', async () => {
    const kw = createKeyward({ prefix: 'bsk', store: new MemoryTokenStore(), usageFlushMs: false })
    const { key, info } = await kw.keys.create({ name: 'n', orgId: 'o', projects: ['p'] })
    const scanning = createSecretScanningHandler(kw, { keysUrl: keyServer.url })
    const app = express()
    app.post('/security/leaks', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
      const headers = new Headers()
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
      const body = Buffer.isBuffer(req.body) ? new Uint8Array(req.body) : new Uint8Array(0)
      const response = await scanning(new Request(`http://localhost${req.originalUrl}`, { method: req.method, headers, body }))
      res
        .status(response.status)
        .set(Object.fromEntries(response.headers))
        .send(Buffer.from(await response.arrayBuffer()))
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/security/leaks`
      // Spacing a JSON parser would not keep: the signature is over these exact bytes.
      const body = `[ {"token": "${key}",  "type": "t"} ]`
      const headers = {
        'content-type': 'application/json',
        'github-public-key-identifier': host.id,
        'github-public-key-signature': sign(host, body),
      }
      const response = await fetch(url, { method: 'POST', headers, body })
      expect(response.status).toBe(200)
      expect((await response.json())[0].label).toBe('true_positive')
      expect((await kw.keys.get(info.id))?.revokedAt).not.toBeNull()
      const forged = await fetch(url, { method: 'POST', headers, body: body.replace('"t"', '"u"') })
      expect(forged.status).toBe(401)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
