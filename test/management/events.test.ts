import { describe, expect, it } from 'vitest'
import type { KeywardEvent } from 'keyward'
import { setup } from '../support/setup.js'

function recorder() {
  const events: KeywardEvent[] = []
  const errors: unknown[] = []
  return {
    events,
    errors,
    options: { onEvent: (e: KeywardEvent) => void events.push(e), onBackgroundError: (e: unknown) => void errors.push(e) },
  }
}

describe('onEvent audit hook', () => {
  it('kw.keys.* changes report their event with the context given, after the change is stored', async () => {
    const r = recorder()
    const { kw, mint, clock } = setup(r.options)
    const { info } = await mint()
    const actor = { type: 'app', subject: 'alice', org: 'org_1' }
    await kw.keys.update(info.id, { name: 'Renamed' }, { actor, ip: '203.0.113.10' })
    const rotated = await kw.keys.rotate(info.id, {}, { actor })
    await kw.keys.revoke(rotated.info.id)
    await kw.keys.revoke(rotated.info.id) // already revoked: nothing happened, nothing reported
    expect(r.events).toEqual([
      { type: 'key.created', keyId: info.id, org: 'org_1', at: new Date(clock.now()) },
      { type: 'key.updated', keyId: info.id, org: 'org_1', actor, ip: '203.0.113.10', at: new Date(clock.now()) },
      { type: 'key.rotated', keyId: info.id, rotatedTo: rotated.info.id, org: 'org_1', actor, at: new Date(clock.now()) },
      { type: 'key.revoked', keyId: rotated.info.id, org: 'org_1', at: new Date(clock.now()) },
    ])
  })

  it('a refused change reports nothing', async () => {
    const r = recorder()
    const { kw, mint } = setup(r.options)
    const { info } = await mint()
    r.events.length = 0
    await expect(kw.keys.update(info.id, { name: '' })).rejects.toMatchObject({ code: 'validation_failed' })
    await expect(kw.keys.create({ name: 'x' } as never)).rejects.toMatchObject({ code: 'validation_failed' })
    await expect(kw.keys.revoke('AAAAAAAA')).rejects.toMatchObject({ code: 'not_found' })
    expect(r.events).toEqual([])
  })

  it('verify.failed: the code, the client address, the key id when it parsed, never the key', async () => {
    const r = recorder()
    const { kw, mint, bearer } = setup(r.options)
    const { key, info } = await mint({ allowedIps: ['203.0.113.10'] })
    await kw.keys.revoke((await mint()).info.id)
    r.events.length = 0
    await kw.verify({ headers: {}, ip: '198.51.100.7' })
    await kw.verify({ headers: bearer('bsk_live_garbage'), ip: '198.51.100.7' })
    await kw.verify({ headers: bearer(key), ip: '198.51.100.7' })
    await kw.verify({ headers: bearer(key), ip: '203.0.113.10', scopes: 'admin' })
    expect((await kw.verify({ headers: bearer(key), ip: '203.0.113.10' })).ok).toBe(true)
    expect(r.events.map(({ type, code, keyId, ip }) => ({ type, code, keyId, ip }))).toEqual([
      { type: 'verify.failed', code: 'missing_credentials', keyId: undefined, ip: '198.51.100.7' },
      { type: 'verify.failed', code: 'invalid_token', keyId: undefined, ip: '198.51.100.7' },
      { type: 'verify.failed', code: 'ip_forbidden', keyId: info.id, ip: '198.51.100.7' },
      { type: 'verify.failed', code: 'insufficient_scope', keyId: info.id, ip: '203.0.113.10' },
    ])
    expect(JSON.stringify(r.events)).not.toContain(key)
  })

  it('a hook that throws or rejects changes no outcome; the error goes to onBackgroundError', async () => {
    const errors: unknown[] = []
    let calls = 0
    const boom = new Error('log sink down')
    const { kw, mint, bearer } = setup({
      onEvent: (event) => {
        calls++
        if (event.type === 'key.created') throw boom
        return Promise.reject(boom)
      },
      onBackgroundError: (e) => void errors.push(e),
    })
    const { key, info } = await mint()
    await kw.keys.revoke(info.id)
    const refused = await kw.verify({ headers: bearer(key) })
    expect(refused.ok).toBe(false)
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls).toBe(3)
    expect(errors).toEqual([boom, boom, boom])
    expect(await kw.keys.get(info.id)).toMatchObject({ revokedAt: expect.any(Date) })
  })

  it("an async hook's work on a refused verify() goes to the request's waitUntil (Workers), settled even if it rejects", async () => {
    const handed: Promise<unknown>[] = []
    let finish!: () => void
    const logged: string[] = []
    const errors: unknown[] = []
    const { kw, bearer } = setup({
      onEvent: async (event) => {
        await new Promise<void>((resolve) => (finish = resolve))
        logged.push(event.type)
        if (event.code === 'invalid_token') throw new Error('sink down')
      },
      onBackgroundError: (e) => void errors.push(e),
    })
    const waitUntil = (promise: Promise<unknown>) => void handed.push(promise)
    expect((await kw.verify({ headers: {}, waitUntil })).ok).toBe(false)
    expect(handed).toHaveLength(1)
    // Kept alive until the hook is done, not just started.
    let settled = false
    void handed[0]!.then(() => (settled = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(false)
    finish()
    await handed[0]
    expect(logged).toEqual(['verify.failed'])
    // A rejecting hook: the promise handed over still resolves; the error goes to onBackgroundError.
    expect((await kw.verify({ headers: bearer('bsk_live_not-a-key'), waitUntil })).ok).toBe(false)
    expect(handed).toHaveLength(2)
    finish()
    await expect(handed[1]).resolves.toBeUndefined()
    expect(errors).toHaveLength(1)
  })

  it('an onBackgroundError that throws is contained: no throw from verify(), no unhandled rejection', async () => {
    const { kw } = setup({
      onEvent: () => Promise.reject(new Error('sink down')),
      onBackgroundError: () => {
        throw new Error('logger down too')
      },
    })
    const handed: Promise<unknown>[] = []
    expect((await kw.verify({ headers: {}, waitUntil: (p) => void handed.push(p) })).ok).toBe(false)
    await expect(handed[0]).resolves.toBeUndefined()
  })

  it('a waitUntil that throws leaves the refusal as it is; the error goes to onBackgroundError', async () => {
    const errors: unknown[] = []
    const { kw } = setup({ onEvent: async () => {}, onBackgroundError: (e) => void errors.push(e) })
    const unbound = new Error('Illegal invocation')
    const result = await kw.verify({
      headers: {},
      waitUntil: () => {
        throw unbound
      },
    })
    expect(result.ok).toBe(false)
    expect(!result.ok && result.error.code).toBe('missing_credentials')
    expect(errors).toEqual([unbound])
  })

  it("key.* events: an async hook's work goes to context.waitUntil; a throwing waitUntil or error hook is contained", async () => {
    const handed: Promise<unknown>[] = []
    const errors: unknown[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const { kw, mint } = setup({
      onEvent: async (event) => {
        await gate
        if (event.type === 'key.revoked') throw new Error('sink down')
      },
      onBackgroundError: (e) => void errors.push(e),
    })
    const waitUntil = (promise: Promise<unknown>) => void handed.push(promise)
    const { info } = await kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['prod-site'] }, { waitUntil })
    await kw.keys.update(info.id, { name: 'Renamed' }, { waitUntil })
    const rotated = await kw.keys.rotate(info.id, {}, { waitUntil })
    await kw.keys.revoke(rotated.info.id, {}, { waitUntil })
    const leaked = await mint()
    await kw.keys.reportLeaked(leaked.key, {}, { waitUntil })
    // create, update, rotate, revoke, and the leak's revoke and key.leaked.
    expect(handed).toHaveLength(6)
    // Kept alive until the hook is done, and settled even when it rejects.
    let settled = 0
    for (const promise of handed) void promise.then(() => settled++)
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(0)
    release()
    await expect(Promise.all(handed)).resolves.toBeDefined()
    expect(errors).toHaveLength(2) // the two key.revoked
    // A waitUntil that throws (unbound), with an onBackgroundError that throws too: the change stands.
    const loud = setup({
      onEvent: async () => {},
      onBackgroundError: () => {
        throw new Error('logger down too')
      },
    })
    const unbound = () => {
      throw new TypeError('Illegal invocation')
    }
    const made = await loud.kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['prod-site'] }, { waitUntil: unbound })
    await expect(loud.kw.keys.revoke(made.info.id, {}, { waitUntil: unbound })).resolves.toMatchObject({ revokedAt: expect.any(Date) })
    // verify() too: its refusal stands.
    expect((await loud.kw.verify({ headers: {}, waitUntil: unbound })).ok).toBe(false)
  })

  it('a context.waitUntil that is not a function is a TypeError, nothing stored', async () => {
    const { kw, mint } = setup()
    const { info } = await mint()
    const bad = { waitUntil: 'later' as never }
    await expect(kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['prod-site'] }, bad)).rejects.toThrow(TypeError)
    await expect(kw.keys.update(info.id, { name: 'x' }, bad)).rejects.toThrow(TypeError)
    await expect(kw.keys.rotate(info.id, {}, bad)).rejects.toThrow(TypeError)
    await expect(kw.keys.revoke(info.id, {}, bad)).rejects.toThrow(TypeError)
    expect(await kw.keys.list({ orgId: 'org_1', includeRevoked: true })).toEqual([info])
  })

  it('refuses a hook that is not a function at start-up', () => {
    expect(() => setup({ onEvent: 'log' as never })).toThrow(/onEvent must be a function/)
  })
})
