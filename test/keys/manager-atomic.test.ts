import { describe, expect, it } from 'vitest'
import { KeywardError, MemoryTokenStore, type KeyRecord } from '../../src/index.js'
import { GatedStore } from '../support/gated-store.js'
import { setup } from '../support/setup.js'

// Each test holds one lifecycle write back (after its read), runs a whole second change, then lets
// the first write go: the interleaving a busy system produces by chance, forced every time.

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown }
const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )

function code(result: Settled<unknown>): string {
  if (result.ok) return 'ok'
  expect(result.error).toBeInstanceOf(KeywardError)
  return (result.error as KeywardError).code
}

function gated() {
  const store = new GatedStore(new MemoryTokenStore())
  const h = setup({ store })
  const works = async (key: string) => (await h.kw.verify({ headers: h.bearer(key) })).ok
  const records = async (): Promise<KeyRecord[]> => await store.listByOrg('org_1', { includeRevoked: true })
  // The keys rotated from `id` that are neither revoked nor expired.
  const liveSuccessors = async (id: string) =>
    (await records()).filter((r) => r.rotatedFrom === id && r.revokedAt === null && (r.expiresAt === null || r.expiresAt > h.clock.now()))
  return { ...h, store, works, records, liveSuccessors }
}

describe('atomic lifecycle writes: every interleaving of two changes to one key', () => {
  it('rotate / rotate: exactly one wins, the loser is not_found and its successor never works', async () => {
    const { kw, store, mint, works, liveSuccessors } = gated()
    const old = await mint()
    const held = store.holdNextUpdate()
    const first = settle(kw.keys.rotate(old.info.id))
    await held.reached
    const second = await kw.keys.rotate(old.info.id)
    held.release()
    expect(code(await first)).toBe('not_found')
    expect((await liveSuccessors(old.info.id)).map((r) => r.id)).toStrictEqual([second.info.id])
    expect(await works(second.key)).toBe(true)
    expect(await works(old.key)).toBe(false)
    expect((await kw.keys.get(old.info.id))?.rotatedTo).toBe(second.info.id)
  })

  it('rotate with grace / update lifting the expiry (update held): the rotated-out key still dies after the grace period', async () => {
    const { kw, store, mint, works, clock } = gated()
    const old = await mint()
    const held = store.holdNextUpdate()
    const lift = settle(kw.keys.update(old.info.id, { expiresAt: null }))
    await held.reached
    await kw.keys.rotate(old.info.id, { gracePeriodMs: 60_000 })
    held.release()
    expect(code(await lift)).toBe('not_found')
    expect((await kw.keys.get(old.info.id))?.expiresAt?.getTime()).toBe(clock.now() + 60_000)
    clock.advance(60_000)
    expect(await works(old.key)).toBe(false)
  })

  it('rotate with grace (held) / update lifting the expiry: the rotation is redone on the updated key, one successor', async () => {
    const { kw, store, mint, works, clock, liveSuccessors } = gated()
    const old = await mint({ expiresAt: Date.UTC(2027, 0, 1), scopes: ['write'] })
    const held = store.holdNextUpdate()
    const rotation = settle(kw.keys.rotate(old.info.id, { gracePeriodMs: 60_000 }))
    await held.reached
    await kw.keys.update(old.info.id, { expiresAt: null, scopes: ['read'] })
    held.release()
    const rotated = await rotation
    expect(rotated.ok).toBe(true)
    if (!rotated.ok) return
    // The successor carries the settings as they are after the update, not as the rotation first read them.
    expect(rotated.value.info).toMatchObject({ expiresAt: null, scopes: ['read'] })
    expect((await liveSuccessors(old.info.id)).map((r) => r.id)).toStrictEqual([rotated.value.info.id])
    clock.advance(60_000)
    expect(await works(old.key)).toBe(false)
    expect(await works(rotated.value.key)).toBe(true)
  })

  it('rotate (held) / revoke: the rotation loses; a revoked key gets no working successor', async () => {
    const { kw, store, mint, works, liveSuccessors } = gated()
    const old = await mint()
    const held = store.holdNextUpdate()
    const rotation = settle(kw.keys.rotate(old.info.id, { gracePeriodMs: 60_000 }))
    await held.reached
    await kw.keys.revoke(old.info.id)
    held.release()
    expect(code(await rotation)).toBe('not_found')
    expect(await liveSuccessors(old.info.id)).toStrictEqual([])
    expect(await works(old.key)).toBe(false)
    expect((await kw.keys.get(old.info.id))?.rotatedTo).toBeNull()
  })

  it('revoke (held) / rotate: the revocation still lands on the rotated-out key', async () => {
    const { kw, store, mint, works } = gated()
    const old = await mint()
    const held = store.holdNextUpdate()
    const revocation = settle(kw.keys.revoke(old.info.id))
    await held.reached
    const fresh = await kw.keys.rotate(old.info.id, { gracePeriodMs: 60_000 })
    held.release()
    expect(code(await revocation)).toBe('ok')
    expect(await works(old.key)).toBe(false)
    // Plain revoke keeps its meaning: the successor is not touched.
    expect(await works(fresh.key)).toBe(true)
  })

  it('update (held) / revoke: the update loses with not_found and the key stays revoked', async () => {
    const { kw, store, mint, works } = gated()
    const old = await mint()
    const held = store.holdNextUpdate()
    const update = settle(kw.keys.update(old.info.id, { name: 'Renamed', expiresAt: null }))
    await held.reached
    await kw.keys.revoke(old.info.id)
    held.release()
    expect(code(await update)).toBe('not_found')
    expect(await kw.keys.get(old.info.id)).toMatchObject({ name: 'Test key' })
    expect(await works(old.key)).toBe(false)
  })

  it('revoke (held) / update: the revocation lands after the update', async () => {
    const { kw, store, mint, works } = gated()
    const old = await mint()
    const held = store.holdNextUpdate()
    const revocation = settle(kw.keys.revoke(old.info.id))
    await held.reached
    await kw.keys.update(old.info.id, { name: 'Renamed' })
    held.release()
    expect(code(await revocation)).toBe('ok')
    expect(await kw.keys.get(old.info.id)).toMatchObject({ name: 'Renamed' })
    expect(await works(old.key)).toBe(false)
  })

  it('update (held) / update: both apply, one after the other, the later one last', async () => {
    const { kw, store, mint } = gated()
    const old = await mint()
    const held = store.holdNextUpdate()
    const first = settle(kw.keys.update(old.info.id, { name: 'First' }))
    await held.reached
    await kw.keys.update(old.info.id, { name: 'Second', description: 'kept' })
    held.release()
    expect(code(await first)).toBe('ok')
    expect(await kw.keys.get(old.info.id)).toMatchObject({ name: 'First', description: 'kept' })
  })

  it('revoke / revoke: both answer the revoked key, one revocation time', async () => {
    const { kw, store, mint, clock } = gated()
    const old = await mint()
    const held = store.holdNextUpdate()
    const first = settle(kw.keys.revoke(old.info.id))
    await held.reached
    const second = await kw.keys.revoke(old.info.id)
    clock.advance(5)
    held.release()
    const settled = await first
    expect(settled.ok).toBe(true)
    if (settled.ok) expect(settled.value.revokedAt).toStrictEqual(second.revokedAt)
  })

  it('two rotations in the same tick on the memory store: one wins', async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const { kw, mint, works, liveSuccessors } = gated()
      const old = await mint()
      const results = await Promise.all([settle(kw.keys.rotate(old.info.id)), settle(kw.keys.rotate(old.info.id))])
      const winners = results.filter((r) => r.ok)
      expect(winners).toHaveLength(1)
      expect(results.map(code).sort()).toStrictEqual(['not_found', 'ok'])
      expect(await liveSuccessors(old.info.id)).toHaveLength(1)
      if (winners[0]?.ok) expect(await works(winners[0].value.key)).toBe(true)
    }
  })
})
