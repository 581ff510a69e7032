import { describe, expect, it } from 'vitest'
import type { RefreshFamilyRecord, RefreshRotation } from '../src/jwt/refresh-family.js'
import type { TokenStore } from '../src/stores/token-store.js'
import { familyRecord } from './records.js'

/** Races of hundreds of calls against a real server: bounded by CPU, so a loaded machine needs room. */
const CONCURRENCY_TIMEOUT_MS = 60_000

type FamilyStore = Required<Pick<TokenStore, 'insertRefreshFamily' | 'rotateRefreshFamily' | 'revokeRefreshFamily' | 'findRefreshFamily'>> &
  TokenStore

const DAY = 86_400_000

/**
 * `store` with its refresh-family methods checked present (an assertion naming the missing one),
 * typed as having them. Not part of the entry's exports; keyward's own fault tests use it.
 *
 * @example
 * ```ts
 * await families(store).insertRefreshFamily(familyRecord())
 * ```
 */
export function families(store: TokenStore): FamilyStore {
  for (const method of ['insertRefreshFamily', 'rotateRefreshFamily', 'revokeRefreshFamily', 'findRefreshFamily'] as const) {
    expect(typeof store[method], `${method} must be implemented`).toBe('function')
  }
  return store as FamilyStore
}

function count(outcomes: RefreshRotation[]): Record<RefreshRotation, number> {
  const counts = { rotated: 0, reused: 0, revoked: 0, unknown: 0 }
  for (const outcome of outcomes) counts[outcome] += 1
  return counts
}

/**
 * The refresh-family half of the TokenStore contract, for stores that back refresh tokens
 * (`insertRefreshFamily` and the rest). `describeTokenStoreConformance` runs it when the store
 * has those methods; call it yourself only to run it alone. `current` gives the test's store and,
 * where the backend can be shared, a second instance of it.
 *
 * @example
 * ```ts
 * describeRefreshFamilyConformance(() => ({ store, peer: harness.peer }))
 * ```
 */
export function describeRefreshFamilyConformance(current: () => { store: TokenStore; peer?: () => Promise<TokenStore> }): void {
  describe('refresh families', () => {
    const store = () => families(current().store)

    it('stores a family and finds an exact copy; refuses a taken id, storing nothing', async () => {
      const record = familyRecord()
      const original = { ...record }
      expect(await store().insertRefreshFamily(record)).toBe(true)
      const found = await store().findRefreshFamily(record.id)
      expect(found).toStrictEqual(original)
      // Copies in and out: mutating either changes nothing stored.
      found!.current = 'mutated'
      record.subject = 'mutated'
      expect(await store().findRefreshFamily(record.id)).toStrictEqual(original)
      const taken = familyRecord({ id: record.id, subject: 'someone else', current: 'other_jti' })
      expect(await store().insertRefreshFamily(taken)).toBe(false)
      expect(await store().findRefreshFamily(record.id)).toStrictEqual(original)
    })

    it('keeps a revoked family as inserted and finds nothing for an unknown id', async () => {
      const record = familyRecord({ revokedAt: Date.now() - 5 })
      expect(await store().insertRefreshFamily(record)).toBe(true)
      expect(await store().findRefreshFamily(record.id)).toStrictEqual(record)
      expect(await store().findRefreshFamily('no-such-family')).toBeNull()
    })

    it('rotates: the presented current jti gives way to the next one, with the new expiry', async () => {
      const record = familyRecord()
      await store().insertRefreshFamily(record)
      const now = Date.now()
      expect(await store().rotateRefreshFamily(record.id, record.current, 'jti_b', now + 8 * DAY, now)).toBe('rotated')
      expect(await store().findRefreshFamily(record.id)).toStrictEqual({ ...record, current: 'jti_b', expiresAt: now + 8 * DAY })
      expect(await store().rotateRefreshFamily(record.id, 'jti_b', 'jti_c', now + 9 * DAY, now + 1)).toBe('rotated')
      expect(await store().findRefreshFamily(record.id)).toStrictEqual({ ...record, current: 'jti_c', expiresAt: now + 9 * DAY })
    })

    it('detects reuse: a retired jti presented again revokes the whole family, even its current token', async () => {
      const record = familyRecord()
      await store().insertRefreshFamily(record)
      const now = Date.now()
      await store().rotateRefreshFamily(record.id, record.current, 'jti_b', now + 7 * DAY, now)
      expect(await store().rotateRefreshFamily(record.id, record.current, 'jti_x', now + 7 * DAY, now + 10)).toBe('reused')
      const revoked = { ...record, current: 'jti_b', expiresAt: now + 7 * DAY, revokedAt: now + 10 }
      expect(await store().findRefreshFamily(record.id)).toStrictEqual(revoked)
      // The thief's (or the user's) current token is dead too, and nothing moves any more.
      expect(await store().rotateRefreshFamily(record.id, 'jti_b', 'jti_y', now + 7 * DAY, now + 20)).toBe('revoked')
      expect(await store().rotateRefreshFamily(record.id, record.current, 'jti_z', now + 7 * DAY, now + 30)).toBe('revoked')
      expect(await store().findRefreshFamily(record.id)).toStrictEqual(revoked)
    })

    it('treats a jti the family never had like a retired one: reused, family revoked', async () => {
      const record = familyRecord()
      await store().insertRefreshFamily(record)
      const now = Date.now()
      expect(await store().rotateRefreshFamily(record.id, 'never_issued', 'jti_b', now + DAY, now)).toBe('reused')
      expect((await store().findRefreshFamily(record.id))?.revokedAt).toBe(now)
    })

    it('answers revoked for a family inserted revoked, changing nothing', async () => {
      const record = familyRecord({ revokedAt: Date.now() - 1 })
      await store().insertRefreshFamily(record)
      expect(await store().rotateRefreshFamily(record.id, record.current, 'jti_b', Date.now() + DAY, Date.now())).toBe('revoked')
      expect(await store().findRefreshFamily(record.id)).toStrictEqual(record)
    })

    it('treats a family at or past its expiry as absent: unknown, not revocable, not found', async () => {
      const record = familyRecord()
      await store().insertRefreshFamily(record)
      const at = record.expiresAt
      // One millisecond before the expiry it is alive...
      expect(await store().findRefreshFamily(record.id, at - 1)).toStrictEqual(record)
      // ...from the expiry on it is gone (a store may delete it then, so time only moves forward here).
      expect(await store().rotateRefreshFamily(record.id, record.current, 'jti_b', at + DAY, at)).toBe('unknown')
      expect(await store().rotateRefreshFamily(record.id, record.current, 'jti_b', at + DAY, at + 1)).toBe('unknown')
      expect(await store().revokeRefreshFamily(record.id, at)).toBe(false)
      expect(await store().findRefreshFamily(record.id, at)).toBeNull()
    })

    it('rotates up to the last millisecond before the expiry', async () => {
      const record = familyRecord()
      await store().insertRefreshFamily(record)
      const at = record.expiresAt
      expect(await store().rotateRefreshFamily(record.id, record.current, 'jti_b', at + DAY, at - 1)).toBe('rotated')
      // The new expiry counts from then on.
      expect(await store().findRefreshFamily(record.id, at)).toStrictEqual({ ...record, current: 'jti_b', expiresAt: at + DAY })
    })

    it('answers unknown for an id it never stored, creating nothing', async () => {
      expect(await store().rotateRefreshFamily('no-such-family', 'jti_a', 'jti_b', Date.now() + DAY, Date.now())).toBe('unknown')
      expect(await store().revokeRefreshFamily('no-such-family', Date.now())).toBe(false)
      expect(await store().findRefreshFamily('no-such-family')).toBeNull()
    })

    it('revokes (logout): revokedAt keeps its first time, a second revoke answers false; rotation is refused after', async () => {
      const record = familyRecord()
      await store().insertRefreshFamily(record)
      const now = Date.now()
      expect(await store().revokeRefreshFamily(record.id, now)).toBe(true)
      expect(await store().revokeRefreshFamily(record.id, now + 50)).toBe(false)
      expect(await store().findRefreshFamily(record.id)).toStrictEqual({ ...record, revokedAt: now })
      expect(await store().rotateRefreshFamily(record.id, record.current, 'jti_b', now + DAY, now + 60)).toBe('revoked')
      expect(await store().findRefreshFamily(record.id)).toStrictEqual({ ...record, revokedAt: now })
    })

    it(
      'lets exactly one of 200 concurrent rotations of one jti succeed; the race revokes the family',
      async () => {
        const record = familyRecord()
        await store().insertRefreshFamily(record)
        const now = Date.now()
        const outcomes = await Promise.all(
          Array.from({ length: 200 }, (_, i) => store().rotateRefreshFamily(record.id, record.current, `next_${i}`, now + DAY, now)),
        )
        // Linearizable: one wins, the first loser presents a retired jti (reuse), the rest find it revoked.
        expect(count(outcomes)).toStrictEqual({ rotated: 1, reused: 1, revoked: 198, unknown: 0 })
        const winner = outcomes.indexOf('rotated')
        expect(await store().findRefreshFamily(record.id)).toStrictEqual({
          ...record,
          current: `next_${winner}`,
          expiresAt: now + DAY,
          revokedAt: now,
        })
      },
      CONCURRENCY_TIMEOUT_MS,
    )

    it(
      'lets exactly one rotation win when two store instances race on the same jti',
      async () => {
        const peer = current().peer
        const record = familyRecord()
        await store().insertRefreshFamily(record)
        const other = families(peer === undefined ? current().store : await peer())
        const now = Date.now()
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? store() : other).rotateRefreshFamily(record.id, record.current, `next_${i}`, now + DAY, now),
          ),
        )
        expect(count(outcomes)).toStrictEqual({ rotated: 1, reused: 1, revoked: 48, unknown: 0 })
        expect((await other.findRefreshFamily(record.id))?.current).toBe(`next_${outcomes.indexOf('rotated')}`)
      },
      CONCURRENCY_TIMEOUT_MS,
    )

    describe('refuses bad input with a TypeError and stores nothing', () => {
      const bad: Array<[string, Partial<Record<keyof RefreshFamilyRecord, unknown>>]> = [
        ['an empty id', { id: '' }],
        ['an id over 64 characters', { id: 'f'.repeat(65) }],
        ['an id with a control character', { id: 'fam\u0000ily' }],
        ['a numeric id', { id: 42 }],
        ['an empty subject', { subject: '' }],
        ['a missing org', { orgId: undefined }],
        ['an empty current jti', { current: '' }],
        ['a current jti over 64 characters', { current: 'j'.repeat(65) }],
        ['a fractional expiry', { expiresAt: Date.now() + 0.5 }],
        ['an expiry as a string', { expiresAt: String(Date.now() + DAY) }],
        ['a NaN creation time', { createdAt: Number.NaN }],
        ['an infinite creation time', { createdAt: Number.POSITIVE_INFINITY }],
        ['a revocation time as a Date', { revokedAt: new Date() }],
        ['an undefined revocation time', { revokedAt: undefined }],
      ]
      it.each(bad)('insert with %s', async (_, change) => {
        const record = { ...familyRecord(), ...change } as RefreshFamilyRecord
        await expect(store().insertRefreshFamily(record)).rejects.toThrow(TypeError)
        if (typeof record.id === 'string' && record.id !== '' && record.id.length <= 64 && !record.id.includes('\u0000')) {
          expect(await store().findRefreshFamily(record.id)).toBeNull()
        }
      })

      it('insert of something that is not a record', async () => {
        await expect(store().insertRefreshFamily(null as unknown as RefreshFamilyRecord)).rejects.toThrow(TypeError)
      })

      it('rotate and revoke with bad arguments, leaving the family as it was', async () => {
        const record = familyRecord()
        await store().insertRefreshFamily(record)
        const now = Date.now()
        const calls: Array<[unknown, unknown, unknown, unknown, unknown]> = [
          ['', record.current, 'n', now + DAY, now],
          [record.id, '', 'n', now + DAY, now],
          [record.id, record.current, '', now + DAY, now],
          [record.id, record.current, 'n'.repeat(65), now + DAY, now],
          [record.id, record.current, record.current, now + DAY, now],
          [record.id, record.current, 'n', now + 0.5, now],
          [record.id, record.current, 'n', now + DAY, Number.NaN],
          [record.id, record.current, 'n', now + DAY, String(now)],
          [record.id, 'wrong\njti', 'n', now + DAY, now],
        ]
        for (const args of calls) {
          await expect(store().rotateRefreshFamily(...(args as [string, string, string, number, number]))).rejects.toThrow(TypeError)
        }
        await expect(store().revokeRefreshFamily(record.id, Number.NaN)).rejects.toThrow(TypeError)
        await expect(store().revokeRefreshFamily('', now)).rejects.toThrow(TypeError)
        await expect(store().findRefreshFamily('x'.repeat(65))).rejects.toThrow(TypeError)
        expect(await store().findRefreshFamily(record.id)).toStrictEqual(record)
      })
    })

    it('purges expired families when the store offers it', async ({ skip }) => {
      const purge = current().store.purgeExpiredRefreshFamilies?.bind(current().store)
      if (purge === undefined) return skip('this store expires families on its own')
      const now = Date.now()
      const old = familyRecord({ expiresAt: now + 1000 })
      const live = familyRecord({ expiresAt: now + DAY })
      await store().insertRefreshFamily(old)
      await store().insertRefreshFamily(live)
      expect(await purge(now + 1000)).toBe(1)
      expect(await store().findRefreshFamily(old.id, now)).toBeNull()
      expect(await store().findRefreshFamily(live.id, now)).toStrictEqual(live)
      await expect(purge(Number.NaN)).rejects.toThrow(TypeError)
    })
  })
}
