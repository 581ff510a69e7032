import { describe, expect, it } from 'vitest'
import { createManagementHandler, KeywardError, MemoryTokenStore, type KeywardEvent } from '../../src/index.js'
import { GatedStore } from '../support/gated-store.js'
import { setup } from '../support/setup.js'

async function rejection(promise: Promise<unknown>): Promise<KeywardError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeywardError)
  return error as KeywardError
}

function chain(options: Parameters<typeof setup>[0] = {}) {
  const h = setup(options)
  const works = async (key: string) => (await h.kw.verify({ headers: h.bearer(key) })).ok
  return { ...h, works }
}

describe('compromise recovery: revoke(id, { successors: true })', () => {
  it('revokes the key and every key rotated from it, to the end of the chain', async () => {
    const events: KeywardEvent[] = []
    const { kw, mint, works } = chain({ onEvent: (e) => void events.push(e) })
    const stolen = await mint()
    // The thief rotates the stolen key, then rotates again: two successors the owner never saw.
    const s1 = await kw.keys.rotate(stolen.info.id, { gracePeriodMs: 3_600_000 })
    const s2 = await kw.keys.rotate(s1.info.id, { gracePeriodMs: 3_600_000 })
    const bystander = await mint()
    for (const k of [stolen, s1, s2]) expect(await works(k.key)).toBe(true)
    const info = await kw.keys.revoke(stolen.info.id, { successors: true })
    expect(info.id).toBe(stolen.info.id)
    expect(info.revokedAt).not.toBeNull()
    for (const k of [stolen, s1, s2]) expect(await works(k.key)).toBe(false)
    expect(await works(bystander.key)).toBe(true)
    expect(events.filter((e) => e.type === 'key.revoked').map((e) => e.keyId)).toStrictEqual([stolen.info.id, s1.info.id, s2.info.id])
    // Again: already revoked, nothing new happens, nothing is reported.
    await kw.keys.revoke(stolen.info.id, { successors: true })
    expect(events.filter((e) => e.type === 'key.revoked')).toHaveLength(3)
  })

  it('follows the chain through keys already revoked by a rotation without grace', async () => {
    const { kw, mint, works } = chain()
    const stolen = await mint()
    const s1 = await kw.keys.rotate(stolen.info.id)
    const s2 = await kw.keys.rotate(s1.info.id)
    await kw.keys.revoke(stolen.info.id, { successors: true })
    expect(await works(s2.key)).toBe(false)
  })

  it('plain revoke keeps its meaning: the successors keep working', async () => {
    const { kw, mint, works } = chain()
    const old = await mint()
    const s1 = await kw.keys.rotate(old.info.id, { gracePeriodMs: 60_000 })
    await kw.keys.revoke(old.info.id)
    await kw.keys.revoke(old.info.id, { successors: false })
    expect(await works(old.key)).toBe(false)
    expect(await works(s1.key)).toBe(true)
  })

  it('a rotation landing while the chain is revoked is revoked too (revocation held)', async () => {
    const store = new GatedStore(new MemoryTokenStore())
    const { kw, mint, works } = chain({ store })
    const stolen = await mint()
    const held = store.holdNextUpdate()
    const recovery = kw.keys.revoke(stolen.info.id, { successors: true })
    await held.reached
    const s1 = await kw.keys.rotate(stolen.info.id, { gracePeriodMs: 60_000 })
    held.release()
    await recovery
    expect(await works(stolen.key)).toBe(false)
    expect(await works(s1.key)).toBe(false)
  })

  it('a rotation of a successor racing the recovery loses, and its new key never works (rotation held)', async () => {
    const store = new GatedStore(new MemoryTokenStore())
    const { kw, mint, works } = chain({ store })
    const stolen = await mint()
    const s1 = await kw.keys.rotate(stolen.info.id, { gracePeriodMs: 60_000 })
    const held = store.holdNextUpdate()
    const thief = kw.keys.rotate(s1.info.id).then(
      () => 'rotated',
      (e: unknown) => (e as KeywardError).code,
    )
    await held.reached
    await kw.keys.revoke(stolen.info.id, { successors: true })
    held.release()
    expect(await thief).toBe('not_found')
    expect(await works(s1.key)).toBe(false)
    const live = (await store.listByOrg('org_1')).map((r) => r.id)
    expect(live).toStrictEqual([])
  })

  it('still takes the audit context as its second argument (the former signature)', async () => {
    const events: KeywardEvent[] = []
    const { kw, mint } = chain({ onEvent: (e) => void events.push(e) })
    const k = await mint()
    await kw.keys.revoke(k.info.id, { actor: { type: 'cli' } })
    expect(events.at(-1)).toMatchObject({ type: 'key.revoked', keyId: k.info.id, actor: { type: 'cli' } })
    const j = await mint()
    await kw.keys.revoke(j.info.id, { successors: true }, { actor: { type: 'cli' } })
    expect(events.at(-1)).toMatchObject({ type: 'key.revoked', keyId: j.info.id, actor: { type: 'cli' } })
  })

  it('refuses bad options and changes nothing', async () => {
    const { kw, mint, works } = chain()
    const k = await mint()
    for (const bad of [{ successors: 'yes' }, { sucessors: true }, 'all', [true]]) {
      expect((await rejection(kw.keys.revoke(k.info.id, bad as never))).code).toBe('validation_failed')
    }
    expect(await works(k.key)).toBe(true)
  })

  it('DELETE /keys/:id?successors=true revokes the chain; plain DELETE only the key; a bad value is 400', async () => {
    const { kw, mint, works } = chain()
    const admin = (await mint({ scopes: ['admin'] })).key
    const handle = createManagementHandler(kw)
    const del = (id: string, query?: string) =>
      handle({
        method: 'DELETE',
        path: `/keys/${id}`,
        headers: { authorization: `Bearer ${admin}` },
        ...(query === undefined ? {} : { query }),
      })
    const a = await mint()
    const a1 = await kw.keys.rotate(a.info.id, { gracePeriodMs: 60_000 })
    expect((await del(a.info.id)).status).toBe(200)
    expect(await works(a1.key)).toBe(true)
    const b = await mint()
    const b1 = await kw.keys.rotate(b.info.id, { gracePeriodMs: 60_000 })
    for (const query of ['successors=maybe', 'successor=true', 'successors=true&successors=true']) {
      const reply = await del(b.info.id, query)
      expect(reply.status, query).toBe(400)
      expect(JSON.parse(reply.body).code).toBe('validation_failed')
    }
    expect(await works(b.key)).toBe(true)
    expect((await del(b.info.id, 'successors=true')).status).toBe(200)
    expect(await works(b.key)).toBe(false)
    expect(await works(b1.key)).toBe(false)
  })
})

describe('no fresh quota by rotation', () => {
  it('a successor is counted against its predecessor’s quota: exhausted, rotated, still refused until the window refills', async () => {
    const { kw, mint, bearer, clock } = chain()
    const old = await mint({ rateLimit: { limit: 3, windowMs: 60_000 } })
    for (let i = 0; i < 3; i++) expect((await kw.verify({ headers: bearer(old.key) })).ok).toBe(true)
    const refused = await kw.verify({ headers: bearer(old.key) })
    expect(refused.ok ? 200 : refused.error.code).toBe('rate_limited')
    const fresh = await kw.keys.rotate(old.info.id, { gracePeriodMs: 3_600_000 })
    const next = await kw.keys.rotate(fresh.info.id)
    for (const key of [old.key, next.key]) {
      const r = await kw.verify({ headers: bearer(key) })
      expect(r.ok ? 200 : r.error.code).toBe('rate_limited')
    }
    clock.advance(60_000)
    expect((await kw.verify({ headers: bearer(next.key) })).ok).toBe(true)
  })

  it('keys of different chains keep their own quotas', async () => {
    const { kw, mint, bearer } = chain()
    const a = await mint({ rateLimit: { limit: 1, windowMs: 60_000 } })
    const b = await mint({ rateLimit: { limit: 1, windowMs: 60_000 } })
    expect((await kw.verify({ headers: bearer(a.key) })).ok).toBe(true)
    expect((await kw.verify({ headers: bearer(b.key) })).ok).toBe(true)
  })
})
