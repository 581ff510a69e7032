import { describe, expect, it } from 'vitest'
import { createKeyward, KeywardError, MemoryTokenStore, type KeywardEvent } from '../../src/index.js'
import { generateKey } from '../../src/keys/format.js'

function setup() {
  const events: KeywardEvent[] = []
  const store = new MemoryTokenStore()
  const kw = createKeyward({ prefix: 'bsk', store, onEvent: (e) => void events.push(e), usageFlushMs: false })
  return { kw, store, events }
}
const input = { name: 'n', orgId: 'org_1', projects: ['p'] }

describe('kw.keys.reportLeaked()', () => {
  it('revokes only the key by default; with successors, the keys rotated from it too', async () => {
    const { kw } = setup()
    const first = await kw.keys.create(input)
    const second = await kw.keys.rotate(first.info.id, { gracePeriodMs: 60_000 })
    const alone = await kw.keys.reportLeaked(first.key)
    expect(alone).toMatchObject({ ours: true, action: 'revoked' })
    expect((await kw.keys.get(second.info.id))?.revokedAt).toBeNull()

    const other = setup()
    const a = await other.kw.keys.create(input)
    const b = await other.kw.keys.rotate(a.info.id, { gracePeriodMs: 60_000 })
    await other.kw.keys.reportLeaked(a.key, { successors: true })
    expect((await other.kw.keys.get(b.info.id))?.revokedAt).not.toBeNull()
  })

  it('with successors, walks the chain of an already-revoked key (grace 0 rotation, revoke then report)', async () => {
    const { kw, events } = setup()
    const leaked = await kw.keys.create(input)
    // Rotated with no grace period: the leaked key is revoked at once, its successor is live.
    const successor = await kw.keys.rotate(leaked.info.id, { gracePeriodMs: 0 })
    const report = await kw.keys.reportLeaked(leaked.key, { successors: true })
    expect(report).toMatchObject({ ours: true, action: 'already_revoked', info: { id: leaked.info.id } })
    expect((await kw.keys.get(successor.info.id))?.revokedAt).not.toBeNull()
    expect((await kw.verify({ headers: { authorization: `Bearer ${successor.key}` } })).ok).toBe(false)
    expect(events.filter((e) => e.type === 'key.revoked').map((e) => e.keyId)).toContain(successor.info.id)

    const other = setup()
    const a = await other.kw.keys.create(input)
    const b = await other.kw.keys.rotate(a.info.id, { gracePeriodMs: 60_000 })
    await other.kw.keys.revoke(a.info.id)
    expect(await other.kw.keys.reportLeaked(a.key, { successors: true })).toMatchObject({ ours: true, action: 'already_revoked' })
    expect((await other.kw.keys.get(b.info.id))?.revokedAt).not.toBeNull()
    // Without successors, or with revoke: false, nothing is written.
    const third = setup()
    const c = await third.kw.keys.create(input)
    const d = await third.kw.keys.rotate(c.info.id, { gracePeriodMs: 0 })
    await third.kw.keys.reportLeaked(c.key)
    await third.kw.keys.reportLeaked(c.key, { successors: true, revoke: false })
    expect((await third.kw.keys.get(d.info.id))?.revokedAt).toBeNull()
  })

  it('is not ours for anything but one of our keys, without a store read when it does not parse', async () => {
    const { kw, store } = setup()
    const { info } = await kw.keys.create(input)
    let reads = 0
    const findById = store.findById.bind(store)
    store.findById = (id) => {
      reads++
      return findById(id)
    }
    for (const token of ['', 'bsk_live_short', generateKey('xyz', 'live').key, 42 as unknown as string])
      expect(await kw.keys.reportLeaked(token)).toEqual({ ours: false })
    expect(reads).toBe(0)
    expect(await kw.keys.reportLeaked(generateKey('bsk', 'live', info.id).key)).toEqual({ ours: false })
    expect(reads).toBe(1)
  })

  it('refuses bad options before anything happens', async () => {
    const { kw } = setup()
    const { key, info } = await kw.keys.create(input)
    for (const bad of [{ revoke: 'no' }, { url: 1 }, { source: 'x'.repeat(3000) }, { revokee: false }, []])
      await expect(kw.keys.reportLeaked(key, bad as never)).rejects.toBeInstanceOf(KeywardError)
    expect((await kw.keys.get(info.id))?.revokedAt).toBeNull()
  })

  it('a store failure rejects with 503, never "not ours"', async () => {
    const { kw, store } = setup()
    const { key } = await kw.keys.create(input)
    store.findById = () => Promise.reject(new Error('down'))
    await expect(kw.keys.reportLeaked(key)).rejects.toMatchObject({ code: 'store_unavailable', status: 503 })
  })

  it('passes the context into the events', async () => {
    const { kw, events } = setup()
    const { key, info } = await kw.keys.create(input)
    await kw.keys.reportLeaked(key, { url: 'https://example.com/x' }, { actor: { type: 'app', subject: 'support' }, ip: '203.0.113.5' })
    expect(events.find((e) => e.type === 'key.leaked')).toMatchObject({
      keyId: info.id,
      actor: { type: 'app', subject: 'support' },
      ip: '203.0.113.5',
      leak: { action: 'revoked', url: 'https://example.com/x' },
    })
    expect(events.find((e) => e.type === 'key.revoked')?.actor).toEqual({ type: 'app', subject: 'support' })
  })
})
