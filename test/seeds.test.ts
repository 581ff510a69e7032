/**
 * Three example products' requirements (project scoping and domain restrictions; origins, IPs,
 * an hourly rate limit and lockout; prefixes and scope levels), each expressed with keyward.
 */
import { describe, expect, it } from 'vitest'
import { setup } from './support/setup.js'

describe('Bklit: project scoping and domain restrictions', () => {
  it('example.com allows https://example.com and http://example.com, refuses www. and app.', async () => {
    const { kw, bearer } = setup({ prefix: 'bk' })
    const { key } = await kw.keys.create({
      name: 'Production Website Token',
      orgId: 'org_1',
      projects: ['prod-website'],
      allowedOrigins: ['example.com'],
      scopes: ['write'],
    })
    expect(key.startsWith('bk_live_')).toBe(true)
    for (const origin of ['https://example.com', 'http://example.com']) {
      expect((await kw.verify({ headers: bearer(key, { origin }), project: 'prod-website' })).ok).toBe(true)
    }
    for (const origin of ['https://www.example.com', 'https://app.example.com']) {
      const r = await kw.verify({ headers: bearer(key, { origin }), project: 'prod-website' })
      expect(r.ok === false && [r.error.status, r.error.message]).toEqual([403, 'Domain not allowed for this token'])
    }
  })

  it('a multi-project token reaches both projects and no other; unrestricted domains when the list is empty', async () => {
    const { kw, bearer } = setup({ prefix: 'bk' })
    const { key } = await kw.keys.create({ name: 'Dev', orgId: 'org_1', projects: ['staging', 'development'] })
    expect((await kw.verify({ headers: bearer(key, { origin: 'https://anything.test' }), project: 'staging' })).ok).toBe(true)
    expect((await kw.verify({ headers: bearer(key), project: 'development' })).ok).toBe(true)
    const r = await kw.verify({ headers: bearer(key), project: 'production' })
    expect(r.ok === false && r.error.message).toBe('Token does not have access to this project')
  })

  it('deleting a token revokes access immediately; an expired token stops working', async () => {
    const { kw, bearer, clock } = setup({ prefix: 'bk' })
    const a = await kw.keys.create({ name: 'A', orgId: 'org_1', projects: ['p'] })
    const b = await kw.keys.create({ name: 'B', orgId: 'org_1', projects: ['p'], expiresAt: clock.now() + 30 * 86_400_000 })
    expect((await kw.verify({ headers: bearer(a.key) })).ok).toBe(true)
    await kw.keys.revoke(a.info.id)
    const deleted = await kw.verify({ headers: bearer(a.key) })
    expect(deleted.ok === false && [deleted.error.status, deleted.error.message]).toEqual([401, 'Invalid API token'])
    clock.advance(30 * 86_400_000)
    const expired = await kw.verify({ headers: bearer(b.key) })
    expect(expired.ok === false && expired.error.status).toBe(401)
  })

  it('localhost and 127.0.0.1 development origins', async () => {
    const { kw, bearer } = setup({ prefix: 'bk' })
    const { key } = await kw.keys.create({ name: 'Local', orgId: 'o', projects: ['dev'], allowedOrigins: ['localhost', '127.0.0.1'] })
    expect((await kw.verify({ headers: bearer(key, { origin: 'http://localhost:3000' }) })).ok).toBe(true)
    expect((await kw.verify({ headers: bearer(key, { origin: 'http://127.0.0.1:5173' }) })).ok).toBe(true)
  })
})

describe('TokenKit: origins, IPs, hourly rate limit, lockout', () => {
  const tokenkit = () => setup({ prefix: 'tk', credentialHeaders: ['api-key'], originHeaders: ['origin', 'x-origin'] })

  it('a frontend key is locked to its origins; a server key to its IPs', async () => {
    const { kw } = tokenkit()
    const front = await kw.keys.create({
      name: 'my-app-prod',
      orgId: 'u1',
      projects: ['api'],
      allowedOrigins: ['https://app.example.io', 'https://www.example.io'],
      rateLimit: { limit: 5000, windowMs: 3_600_000 },
    })
    const server = await kw.keys.create({
      name: 'indexer-cron',
      orgId: 'u1',
      projects: ['api'],
      allowedIps: ['203.0.113.10'],
      rateLimit: { limit: 10_000, windowMs: 3_600_000 },
    })
    expect((await kw.verify({ headers: { 'api-key': front.key, origin: 'https://app.example.io' } })).ok).toBe(true)
    expect((await kw.verify({ headers: { 'api-key': front.key, 'x-origin': 'https://www.example.io' } })).ok).toBe(true)
    expect((await kw.verify({ headers: { 'api-key': front.key, origin: 'https://evil.io' } })).ok).toBe(false)
    expect((await kw.verify({ headers: { 'api-key': server.key }, ip: '203.0.113.10' })).ok).toBe(true)
    const r = await kw.verify({ headers: { 'api-key': server.key }, ip: '198.51.100.2' })
    expect(r.ok === false && r.error.status).toBe(403)
  })

  it('an open key (both lists empty) passes from anywhere', async () => {
    const { kw } = tokenkit()
    const open = await kw.keys.create({ name: 'open', orgId: 'u1', projects: ['api'] })
    expect((await kw.verify({ headers: { 'api-key': open.key, origin: 'https://anywhere.example' }, ip: '192.0.2.99' })).ok).toBe(true)
  })

  it('successful calls per hour cannot exceed rate_limit_per_hour', async () => {
    const { kw } = tokenkit()
    const { key } = await kw.keys.create({ name: 'n', orgId: 'u1', projects: ['api'], rateLimit: { limit: 50, windowMs: 3_600_000 } })
    let allowed = 0
    for (let i = 0; i < 60; i++) if ((await kw.verify({ headers: { 'api-key': key } })).ok) allowed++
    expect(allowed).toBe(50)
  })

  it('ten failures from one IP in 5 minutes block it from further key attempts', async () => {
    const { kw, clock } = tokenkit()
    const server = await kw.keys.create({ name: 'cron', orgId: 'u1', projects: ['api'], allowedIps: ['203.0.113.10'] })
    for (let i = 0; i < 10; i++) {
      clock.advance(20_000)
      const r = await kw.verify({ headers: { 'api-key': server.key }, ip: '198.51.100.66' })
      expect(r.ok === false && r.error.status).toBe(403)
    }
    const blocked = await kw.verify({ headers: { 'api-key': server.key }, ip: '198.51.100.66' })
    expect(blocked.ok === false && [blocked.error.status, blocked.error.code]).toEqual([429, 'ip_blocked'])
    expect((await kw.verify({ headers: { 'api-key': server.key }, ip: '203.0.113.10' })).ok).toBe(true)
  })

  it('a deleted key gets 401', async () => {
    const { kw } = tokenkit()
    const k = await kw.keys.create({ name: 'n', orgId: 'u1', projects: ['api'] })
    await kw.keys.revoke(k.info.id)
    const r = await kw.verify({ headers: { 'api-key': k.key } })
    expect(r.ok === false && r.error.status).toBe(401)
  })
})

describe('ByteStack: bsk_live_/bsk_test_ prefixes and read/write/admin scopes', () => {
  it('live and test keys are kept apart', async () => {
    const live = setup({ prefix: 'bsk', environment: 'live' })
    const test = setup({ prefix: 'bsk', environment: 'test', store: live.store })
    const l = await live.kw.keys.create({ name: 'production-backend', orgId: 'acme', projects: ['main'] })
    const t = await test.kw.keys.create({ name: 'ci-pipeline', orgId: 'acme', projects: ['main'] })
    expect(l.key.startsWith('bsk_live_')).toBe(true)
    expect(t.key.startsWith('bsk_test_')).toBe(true)
    expect((await live.kw.verify({ headers: live.bearer(t.key) })).ok).toBe(false)
    expect((await test.kw.verify({ headers: test.bearer(l.key) })).ok).toBe(false)
    expect((await test.kw.verify({ headers: test.bearer(t.key) })).ok).toBe(true)
  })

  it('read < write < admin', async () => {
    const { kw, bearer } = setup()
    const keys = {
      read: (await kw.keys.create({ name: 'dashboard', orgId: 'acme', projects: ['main'], scopes: ['read'] })).key,
      write: (await kw.keys.create({ name: 'backend', orgId: 'acme', projects: ['main'], scopes: ['write'] })).key,
      admin: (await kw.keys.create({ name: 'infra', orgId: 'acme', projects: ['main'], scopes: ['admin'] })).key,
    }
    const table: Array<[keyof typeof keys, string, boolean]> = [
      ['read', 'read', true],
      ['read', 'write', false],
      ['read', 'admin', false],
      ['write', 'read', true],
      ['write', 'write', true],
      ['write', 'admin', false],
      ['admin', 'read', true],
      ['admin', 'write', true],
      ['admin', 'admin', true],
    ]
    for (const [holder, needed, expected] of table) {
      const r = await kw.verify({ headers: bearer(keys[holder]), scopes: [needed] })
      expect([holder, needed, r.ok]).toEqual([holder, needed, expected])
      if (!r.ok) expect(r.error.headers['www-authenticate']).toContain(`scope="${needed}"`)
    }
  })
})
