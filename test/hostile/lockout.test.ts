/**
 * Lockout through each adapter over real HTTP: spoofed forwarding headers and fresh addresses
 * inside one IPv6 /64 do not escape it, and a block refuses valid keys too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward, generateKey, type Keyward } from 'keyward'
import { ADAPTERS, serve, type Served } from './support/apps.js'
import { rawRequest } from './support/raw-http.js'
import { RecordingStore } from './support/recording-store.js'

describe.each(ADAPTERS)('lockout through %s over HTTP', (_name, build) => {
  const store = new RecordingStore()
  let kw: Keyward
  let key: string
  const servers: Served[] = []

  beforeAll(async () => {
    kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, lockout: { maxFailures: 5, windowMs: 60_000 } })
    key = (await kw.keys.create({ name: 'lockout', orgId: 'org_1', projects: ['prod-site'], scopes: ['read'] })).key
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  const get = (server: Served, credential: string, forwardedFor: string) =>
    rawRequest(server.url, '/api/projects/prod-site/data', [
      ['X-API-Key', credential],
      ['X-Forwarded-For', forwardedFor],
    ])

  it('no proxy trusted: a new spoofed X-Forwarded-For on every attempt does not escape the block', async () => {
    const server = await serve(build, kw)
    servers.push(server)
    const before = await store.snapshot()
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await get(server, generateKey('bsk', 'live').key, `198.51.100.${i}`)).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401])
    const blocked = await get(server, key, '203.0.113.99')
    expect([blocked.status, blocked.body.code]).toEqual([429, 'ip_blocked'])
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0)
    expect(await store.snapshot()).toEqual(before)
  })

  it('behind a trusted proxy: rotating addresses within one IPv6 /64 does not escape the block', async () => {
    const server = await serve(build, kw, ['127.0.0.1'])
    servers.push(server)
    for (let i = 1; i <= 5; i++) expect((await get(server, generateKey('bsk', 'live').key, `2001:db8:5:6::${i.toString(16)}`)).status).toBe(401)
    const blocked = await get(server, key, '2001:db8:5:6:ffff::1')
    expect([blocked.status, blocked.body.code]).toEqual([429, 'ip_blocked'])
    // Another /64 is another subscriber.
    expect((await get(server, key, '2001:db8:5:7::1')).status).toBe(200)
  })
})
