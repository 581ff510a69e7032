import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import { createKeyward } from '../src/keyward.js'
import type { InvalidationEvent, TokenStore } from '../src/stores/token-store.js'
import type { KeyRecord } from '../src/types.js'
import { bareRecord, familyRecord, fullRecord, T0 } from './records.js'
import { describeRefreshFamilyConformance } from './refresh-family-conformance.js'
import type { SecondProcess } from './second-process.js'

/**
 * What a backend's test file hands the suite: a fresh, empty store, and how to tear it down.
 * `peer` and `subscribed` are for backends that announce changes across instances;
 * `secondProcess` for the tests that need another server process.
 *
 * @example
 * ```ts
 * const harness: StoreHarness = { store: new MemoryTokenStore(), close: async () => {} }
 * ```
 */
export interface StoreHarness {
  store: TokenStore
  /** Closes the store, every peer made from it, and drops whatever the harness created. */
  close(): Promise<void>
  /**
   * Another store object on the same backend (its own connection), as a second server process
   * would have. Absent when the backend cannot be shared (memory).
   */
  peer?(): Promise<TokenStore>
  /**
   * Resolves once `store.subscribe` listeners receive announcements (e.g. LISTEN is active).
   * Absent: announcements flow as soon as `subscribe` returns.
   */
  subscribed?(store: TokenStore): Promise<void>
  /**
   * Starts another server process with its own store on this harness's backend (see
   * `startSecondProcess`). Absent: the cross-process tests are skipped (reported as skipped).
   */
  secondProcess?(): Promise<SecondProcess>
  /**
   * True for a deployment where other instances' announcements cannot arrive (e.g. LISTEN through
   * a transaction-mode pooler). The store must say so rather than fail silently: `subscribed`
   * rejects, listeners get `{ type: 'degraded' }`, and keyward then keeps a cached key no longer
   * than `cache.degradedTtlMs`, so a revocation elsewhere still lands within it. Default false.
   */
  deaf?: boolean
}

/**
 * Options of {@link describeTokenStoreConformance}.
 *
 * @example
 * ```ts
 * describeTokenStoreConformance('my store', makeHarness, { refreshFamilies: false })
 * ```
 */
export interface TokenStoreConformanceOptions {
  /**
   * `false` when the store does not back refresh tokens (no `insertRefreshFamily` and the rest):
   * the refresh-family tests are left out. Default `true`, and a missing method then fails.
   */
  refreshFamilies?: boolean
}

/** Checks the types verify's shape check and KeyInfo conversion rely on, beyond deep equality. */
function expectPlainTypes(record: KeyRecord): void {
  for (const field of ['createdAt', 'updatedAt'] as const) expect(typeof record[field]).toBe('number')
  for (const field of ['expiresAt', 'lastUsedAt', 'revokedAt'] as const) {
    expect(record[field] === null || typeof record[field] === 'number').toBe(true)
  }
  for (const field of ['projects', 'scopes', 'allowedOrigins', 'allowedIps', 'rateLimit'] as const) {
    expect(Array.isArray(record[field])).toBe(true)
  }
  expect(Object.getPrototypeOf(record.metadata)).toBe(Object.prototype)
}

/** Resolves with the first event `listener` sees that matches; the test's timeout bounds the wait. */
function waitForEvent(
  store: TokenStore,
  match: (event: InvalidationEvent) => boolean,
): { event: Promise<InvalidationEvent>; unsubscribe: () => void } {
  let unsubscribe: () => void = () => {}
  const event = new Promise<InvalidationEvent>((resolve) => {
    unsubscribe = store.subscribe!((e) => {
      if (match(e)) resolve(e)
    })
  })
  return { event, unsubscribe }
}

/** Waits for `harness.subscribed`; on a deaf deployment it must reject (the store says it cannot hear). */
async function settledSubscription(harness: StoreHarness, store: TokenStore): Promise<void> {
  if (harness.deaf === true) await expect(harness.subscribed!(store)).rejects.toThrow()
  else await harness.subscribed?.(store)
}

/**
 * Defines, with vitest, the behaviour every {@link TokenStore} must have (round trips, conditional
 * writes, paging, last-used batches, announcements, refresh families), then keyward end to end on
 * top (create, verify, revoke, racing rotations, revocation seen by another instance and by
 * another process). `makeStore` is called once per test and must give an empty store.
 *
 * @example
 * ```ts
 * describeTokenStoreConformance('memory', async () => ({ store: new MemoryTokenStore(), close: async () => {} }))
 * ```
 */
export function describeTokenStoreConformance(
  name: string,
  makeStore: () => Promise<StoreHarness>,
  options: TokenStoreConformanceOptions = {},
): void {
  describe(`TokenStore conformance: ${name}`, () => {
    let harness: StoreHarness
    let store: TokenStore

    beforeEach(async () => {
      harness = await makeStore()
      store = harness.store
    })
    afterEach(async () => {
      await harness.close()
    })

    describe('insert and findById', () => {
      it('round-trips a fully populated record exactly, times as epoch-ms numbers', async () => {
        const record = fullRecord()
        expect(await store.insert(record)).toBe(true)
        const found = await store.findById(record.id)
        expect(found).toStrictEqual(record)
        expectPlainTypes(found!)
      })

      it('round-trips null fields, empty lists and empty metadata', async () => {
        const record = bareRecord()
        expect(await store.insert(record)).toBe(true)
        const found = await store.findById(record.id)
        expect(found).toStrictEqual(record)
        expectPlainTypes(found!)
      })

      it('keeps ids case-sensitive: ids differing only in case are different keys', async () => {
        const lower = bareRecord({ id: 'abcdefgh', name: 'lower' })
        const upper = bareRecord({ id: 'ABCDEFGH', name: 'upper' })
        expect(await store.insert(lower)).toBe(true)
        expect(await store.insert(upper)).toBe(true)
        expect((await store.findById('abcdefgh'))?.name).toBe('lower')
        expect((await store.findById('ABCDEFGH'))?.name).toBe('upper')
      })

      it('answers null for an unknown id', async () => {
        expect(await store.findById('unknown1')).toBeNull()
      })

      it('resolves false on a taken id and stores nothing', async () => {
        const first = fullRecord()
        expect(await store.insert(first)).toBe(true)
        const second = bareRecord({ id: first.id, orgId: 'org_other', hash: 'c'.repeat(64) })
        expect(await store.insert(second)).toBe(false)
        expect(await store.findById(first.id)).toStrictEqual(first)
        expect(await store.listByOrg('org_other', { includeRevoked: true })).toStrictEqual([])
      })

      it('keeps its own copies: mutating the inserted or returned record changes nothing stored', async () => {
        const record = fullRecord()
        const original = structuredClone(record)
        await store.insert(record)
        record.name = 'changed'
        record.scopes.push('admin')
        ;(record.metadata as { team: string }).team = 'changed'
        const found = (await store.findById(original.id))!
        expect(found).toStrictEqual(original)
        found.projects.push('other')
        found.rateLimit[0]!.limit = 1
        ;(found.metadata.nested as { list: unknown[] }).list.push('more')
        found.revokedAt = null
        expect(await store.findById(original.id)).toStrictEqual(original)
      })
    })

    describe('update', () => {
      it('applies the patch, leaves other fields alone and resolves with the new record', async () => {
        const record = bareRecord()
        await store.insert(record)
        const patch = {
          name: 'Renamed',
          description: 'now described',
          scopes: ['admin'],
          allowedOrigins: ['example.org'],
          allowedIps: ['::1'],
          rateLimit: [{ limit: 100, windowMs: 60_000 }],
          metadata: { plan: 'pro', seats: 5 },
          expiresAt: T0 + 86_400_000,
          updatedAt: T0 + 10,
        }
        const expected: KeyRecord = { ...record, ...patch, version: record.version + 1 }
        const updated = await store.update(record.id, patch)
        expect(updated).toStrictEqual(expected)
        expectPlainTypes(updated!)
        expect(await store.findById(record.id)).toStrictEqual(expected)
      })

      it('sets fields to null and clears lists', async () => {
        const record = fullRecord()
        await store.insert(record)
        const patch = { description: null, expiresAt: null, revokedAt: null, rotatedTo: null, allowedIps: [], rateLimit: [], metadata: {} }
        const expected: KeyRecord = { ...record, ...patch, version: record.version + 1 }
        expect(await store.update(record.id, patch)).toStrictEqual(expected)
        expect(await store.findById(record.id)).toStrictEqual(expected)
      })

      it('revokes softly: the record stays readable with revokedAt set', async () => {
        const record = bareRecord()
        await store.insert(record)
        const updated = await store.update(record.id, { revokedAt: T0 + 5, updatedAt: T0 + 5 })
        expect(updated).toStrictEqual({ ...record, revokedAt: T0 + 5, updatedAt: T0 + 5, version: record.version + 1 })
        expect((await store.findById(record.id))?.revokedAt).toBe(T0 + 5)
      })

      it('resolves null for an unknown id and creates nothing', async () => {
        expect(await store.update('unknown2', { name: 'x', updatedAt: T0 })).toBeNull()
        expect(await store.findById('unknown2')).toBeNull()
      })

      it('applies a conditional patch only over the expected version, bumping it; otherwise changes nothing', async () => {
        const record = bareRecord({ version: 3 })
        await store.insert(record)
        for (const stale of [2, 4, 0])
          expect(await store.update(record.id, { name: 'stale', revokedAt: T0 }, { ifVersion: stale })).toBeNull()
        expect(await store.findById(record.id)).toStrictEqual(record)
        const applied = await store.update(record.id, { name: 'fresh' }, { ifVersion: 3 })
        expect(applied).toStrictEqual({ ...record, name: 'fresh', version: 4 })
        // The version just used is spent: a second writer that read it loses.
        expect(await store.update(record.id, { name: 'late' }, { ifVersion: 3 })).toBeNull()
        expect(await store.update(record.id, { name: 'next' }, { ifVersion: 4 })).toStrictEqual({ ...record, name: 'next', version: 5 })
        expect(await store.update('unknown4', { name: 'x' }, { ifVersion: 0 })).toBeNull()
        expect(await store.findById('unknown4')).toBeNull()
      })

      it('keeps version and rootId out of a patch, and touch leaves the version alone', async () => {
        const record = bareRecord({ version: 1, rootId: 'Root0001' })
        await store.insert(record)
        const sneaky = { name: 'x', version: 100, rootId: 'Other001' } as unknown as { name: string }
        expect(await store.update(record.id, sneaky)).toStrictEqual({ ...record, name: 'x', version: 2 })
        await store.touch([{ id: record.id, lastUsedAt: T0 + 9 }])
        expect(await store.findById(record.id)).toMatchObject({ version: 2, rootId: 'Root0001', lastUsedAt: T0 + 9 })
      })

      it('keeps every field a patch may not set (id, prefix, environment, org, creation time) and skips undefined values', async () => {
        const record = fullRecord({ version: 1 })
        await store.insert(record)
        // What KeyRecordPatch's type forbids, sent anyway (a caller in plain JavaScript).
        const sneaky = {
          name: 'x',
          id: 'Other001',
          prefix: 'evil',
          environment: 'test',
          orgId: 'org_2',
          createdAt: 1,
          expiresAt: undefined,
          description: undefined,
        } as unknown as { name: string }
        expect(await store.update(record.id, sneaky)).toStrictEqual({ ...record, name: 'x', version: 2 })
        expect(await store.findById(record.id)).toStrictEqual({ ...record, name: 'x', version: 2 })
        expect(await store.listByOrg('org_2')).toStrictEqual([])
      })

      it('lets exactly one of many concurrent writers conditioned on the same version win', async () => {
        const record = bareRecord({ version: 0 })
        await store.insert(record)
        const writers = harness.peer === undefined ? [store, store] : [store, await harness.peer(), await harness.peer()]
        for (let round = 0; round < 10; round++) {
          const results = await Promise.all(
            Array.from({ length: 6 }, (_, i) =>
              writers[i % writers.length]!.update(record.id, { name: `w${round}-${i}` }, { ifVersion: round }),
            ),
          )
          const winners = results.filter((r) => r !== null)
          expect(winners).toHaveLength(1)
          expect(await store.findById(record.id)).toMatchObject({ name: winners[0]!.name, version: round + 1 })
        }
      })

      it('resolves with a copy', async () => {
        const record = bareRecord()
        await store.insert(record)
        const updated = (await store.update(record.id, { scopes: ['write'] }))!
        updated.scopes.push('admin')
        expect((await store.findById(record.id))?.scopes).toStrictEqual(['write'])
      })
    })

    describe('listByOrg', () => {
      // Mixed case and digits: the order is by code unit ('0' < 'A' < 'a'), as JavaScript sorts.
      const ids = ['bbbbbbbb', 'AAAAAAAA', 'aaaaaaaa', '00000000', 'ZZZZZZZZ', 'B0000000', 'zzzzzzzz']
      const sorted = [...ids].sort()

      async function seed(): Promise<void> {
        for (const id of ids) await store.insert(bareRecord({ id, orgId: 'org_list' }))
        await store.insert(bareRecord({ id: 'Aother00', orgId: 'org_elsewhere' }))
        await store.update('aaaaaaaa', { revokedAt: T0 + 1 })
        await store.update('ZZZZZZZZ', { revokedAt: T0 + 1 })
      }

      it("lists only the org's records, ordered by id, revoked ones left out by default", async () => {
        await seed()
        const listed = await store.listByOrg('org_list')
        expect(listed.map((r) => r.id)).toStrictEqual(sorted.filter((id) => id !== 'aaaaaaaa' && id !== 'ZZZZZZZZ'))
        listed.forEach(expectPlainTypes)
      })

      it('includes revoked records on request', async () => {
        await seed()
        const listed = await store.listByOrg('org_list', { includeRevoked: true })
        expect(listed.map((r) => r.id)).toStrictEqual(sorted)
        expect(listed.find((r) => r.id === 'aaaaaaaa')?.revokedAt).toBe(T0 + 1)
      })

      it('answers an empty list for an unknown org', async () => {
        await seed()
        expect(await store.listByOrg('org_none', { includeRevoked: true })).toStrictEqual([])
      })

      it('pages with limit and after (keyset), every record exactly once', async () => {
        await seed()
        const seen: string[] = []
        let after: string | undefined
        for (let page = 0; page < 10; page++) {
          const rows = await store.listByOrg('org_list', { includeRevoked: true, limit: 2, ...(after === undefined ? {} : { after }) })
          expect(rows.length).toBeLessThanOrEqual(2)
          if (rows.length === 0) break
          seen.push(...rows.map((r) => r.id))
          after = rows[rows.length - 1]!.id
        }
        expect(seen).toStrictEqual(sorted)
      })

      it('applies after and limit to non-revoked records only when revoked ones are left out', async () => {
        await seed()
        const live = sorted.filter((id) => id !== 'aaaaaaaa' && id !== 'ZZZZZZZZ')
        const rows = await store.listByOrg('org_list', { after: live[1]!, limit: 2 })
        expect(rows.map((r) => r.id)).toStrictEqual(live.slice(2, 4))
        // `after` need not be an existing id.
        const fromB = await store.listByOrg('org_list', { after: 'B', includeRevoked: true })
        expect(fromB.map((r) => r.id)).toStrictEqual(sorted.filter((id) => id > 'B'))
      })

      it('returns copies', async () => {
        await seed()
        const [first] = await store.listByOrg('org_list')
        first!.projects.push('mutated')
        expect((await store.findById(first!.id))?.projects).toStrictEqual(['p'])
      })
    })

    describe('touch', () => {
      it('writes a batch, only ever moves lastUsedAt forward and ignores unknown ids', async () => {
        const never = bareRecord()
        const used = bareRecord({ lastUsedAt: T0 + 1000 })
        const untouched = bareRecord()
        for (const r of [never, used, untouched]) await store.insert(r)
        await store.touch([
          { id: never.id, lastUsedAt: T0 + 50 },
          { id: used.id, lastUsedAt: T0 + 500 },
          { id: 'unknown3', lastUsedAt: T0 + 50 },
        ])
        expect(await store.findById(never.id)).toStrictEqual({ ...never, lastUsedAt: T0 + 50 })
        expect(await store.findById(used.id)).toStrictEqual(used)
        expect(await store.findById(untouched.id)).toStrictEqual(untouched)
        expect(await store.findById('unknown3')).toBeNull()

        await store.touch([{ id: used.id, lastUsedAt: T0 + 2000 }])
        expect((await store.findById(used.id))?.lastUsedAt).toBe(T0 + 2000)
      })

      it('keeps the latest time when an id appears twice in one batch, whatever the order', async () => {
        const a = bareRecord()
        const b = bareRecord()
        await store.insert(a)
        await store.insert(b)
        await store.touch([
          { id: a.id, lastUsedAt: T0 + 9 },
          { id: a.id, lastUsedAt: T0 + 7 },
          { id: b.id, lastUsedAt: T0 + 7 },
          { id: b.id, lastUsedAt: T0 + 9 },
        ])
        expect((await store.findById(a.id))?.lastUsedAt).toBe(T0 + 9)
        expect((await store.findById(b.id))?.lastUsedAt).toBe(T0 + 9)
      })

      it('accepts an empty batch', async () => {
        await expect(store.touch([])).resolves.toBeUndefined()
      })

      it('changes nothing but lastUsedAt', async () => {
        const record = fullRecord({ lastUsedAt: null })
        await store.insert(record)
        await store.touch([{ id: record.id, lastUsedAt: T0 + 99 }])
        expect(await store.findById(record.id)).toStrictEqual({ ...record, lastUsedAt: T0 + 99 })
      })
    })

    describe('subscribe', () => {
      it('announces an update through this store to every listener until it unsubscribes', async ({ skip }) => {
        if (store.subscribe === undefined) return skip('this store does not announce changes')
        const record = bareRecord()
        await store.insert(record)
        const gone: InvalidationEvent[] = []
        const unsubscribeGone = store.subscribe((e) => gone.push(e))
        unsubscribeGone()
        const waiting = waitForEvent(store, (e) => e.type === 'key' && e.id === record.id)
        await settledSubscription(harness, store)
        await store.update(record.id, { name: 'changed' })
        expect(await waiting.event).toStrictEqual({ type: 'key', id: record.id })
        waiting.unsubscribe()
        // Listeners are called together for one announcement, so the removed one would have seen it by now.
        expect(gone.filter((e) => e.type === 'key')).toStrictEqual([])
      })

      it('announces an update made through another store instance on the same backend', async ({ skip }) => {
        if (store.subscribe === undefined || harness.peer === undefined) return skip('this backend has no cross-instance announcements')
        if (harness.deaf === true) return skip('announcements cannot arrive here: the degraded tests below stand in')
        const other = await harness.peer()
        const record = bareRecord()
        await store.insert(record)
        const waiting = waitForEvent(store, (e) => e.type === 'key' && e.id === record.id)
        await harness.subscribed?.(store)
        expect((await other.update(record.id, { revokedAt: T0 + 1 }))?.revokedAt).toBe(T0 + 1)
        expect(await waiting.event).toStrictEqual({ type: 'key', id: record.id })
        waiting.unsubscribe()
      })

      it('says so when announcements cannot arrive: listeners get degraded, subscribed rejects', async ({ skip }) => {
        if (store.subscribe === undefined || harness.deaf !== true) return skip('announcements arrive on this deployment')
        const degraded = waitForEvent(store, (e) => e.type === 'degraded')
        await expect(harness.subscribed!(store)).rejects.toThrow()
        const event = await degraded.event
        expect(event.type === 'degraded' && event.error instanceof Error).toBe(true)
        // A listener that joins now (a second keyward on this store) must be told at once, not keep the full TTL.
        const late: InvalidationEvent[] = []
        const leave = store.subscribe((e) => late.push(e))
        expect(late.map((e) => e.type)).toStrictEqual(['degraded'])
        leave()
        degraded.unsubscribe()
      })
    })

    if (options.refreshFamilies !== false)
      describeRefreshFamilyConformance(() => ({ store, ...(harness.peer === undefined ? {} : { peer: harness.peer }) }))

    describe('keyward on this store', () => {
      const request = (key: string) => ({ headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.7', project: 'prod-site' })

      it('creates, verifies, records last use, revokes and then refuses', async () => {
        const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: 60_000 })
        try {
          const { key, info } = await kw.keys.create({
            name: 'Smoke',
            orgId: 'org_smoke',
            projects: ['prod-site'],
            scopes: ['write'],
            allowedIps: ['203.0.113.0/24'],
            rateLimit: { limit: 1000, windowMs: 60_000 },
            metadata: { tier: 'gold' },
            expiresAt: new Date(Date.now() + 86_400_000),
          })
          const ok = await kw.verify(request(key))
          expect(ok.ok).toBe(true)
          if (ok.ok) {
            expect(ok.auth.keyId).toBe(info.id)
            expect(ok.auth.org).toBe('org_smoke')
            expect(ok.auth.scopes).toContain('read')
          }
          await kw.flushUsage()
          expect(typeof (await store.findById(info.id))?.lastUsedAt).toBe('number')
          expect((await kw.keys.list({ orgId: 'org_smoke' })).map((k) => k.id)).toStrictEqual([info.id])

          await kw.keys.revoke(info.id)
          const refused = await kw.verify(request(key))
          expect(refused.ok).toBe(false)
          if (!refused.ok) expect(refused.error.code).toBe('invalid_token')
          expect((await store.findById(info.id))?.revokedAt).not.toBeNull()
        } finally {
          await kw.close()
        }
      })

      it('of two rotations racing through two instances exactly one wins, and only its key works (many tries)', async () => {
        const otherStore = harness.peer === undefined ? store : await harness.peer()
        const a = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, cache: false })
        const b = createKeyward({ prefix: 'bsk', store: otherStore, usageFlushMs: false, cache: false })
        try {
          for (let attempt = 0; attempt < 8; attempt++) {
            const { key, info } = await a.keys.create({ name: 'Race', orgId: 'org_race', projects: ['prod-site'] })
            const results = await Promise.allSettled([a.keys.rotate(info.id), b.keys.rotate(info.id)])
            const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
            const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
            expect(won).toHaveLength(1)
            expect(lost).toMatchObject([{ code: 'not_found' }])
            const live = (await store.listByOrg('org_race')).filter((r) => r.rotatedFrom === info.id)
            expect(live.map((r) => r.id)).toStrictEqual([won[0]!.info.id])
            expect((await a.verify(request(won[0]!.key))).ok).toBe(true)
            expect((await a.verify(request(key))).ok).toBe(false)
          }
        } finally {
          await a.close()
          await b.close()
        }
      })

      it('a rotation with grace racing an update that lifts the expiry never leaves the old key valid forever (many tries)', async () => {
        const otherStore = harness.peer === undefined ? store : await harness.peer()
        const a = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, cache: false })
        const b = createKeyward({ prefix: 'bsk', store: otherStore, usageFlushMs: false, cache: false })
        try {
          for (let attempt = 0; attempt < 8; attempt++) {
            const { info } = await a.keys.create({
              name: 'Race',
              orgId: 'org_race2',
              projects: ['prod-site'],
              expiresAt: new Date(Date.now() + 86_400_000),
            })
            const [rotation, update] = await Promise.allSettled([
              a.keys.rotate(info.id, { gracePeriodMs: 60_000 }),
              b.keys.update(info.id, { expiresAt: null }),
            ])
            // The rotation always lands (redone over the update when that came first); the update
            // lands only if it came first.
            expect(rotation.status).toBe('fulfilled')
            if (update.status === 'rejected') expect(update.reason).toMatchObject({ code: 'not_found' })
            const old = (await store.findById(info.id))!
            expect(old.rotatedTo).not.toBeNull()
            expect(old.expiresAt).not.toBeNull()
            expect(old.expiresAt!).toBeLessThanOrEqual(Date.now() + 60_000)
          }
        } finally {
          await a.close()
          await b.close()
        }
      })

      it('where announcements cannot arrive, a key revoked through another instance is refused once degradedTtlMs has passed', async ({
        skip,
      }) => {
        if (store.subscribe === undefined || harness.peer === undefined || harness.deaf !== true)
          return skip('announcements arrive on this deployment')
        const otherStore = await harness.peer()
        let clock = Date.now()
        const a = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
        // B would cache verified keys for an hour, and hears no announcement: only the degraded TTL bounds it.
        const b = createKeyward({
          prefix: 'bsk',
          store: otherStore,
          usageFlushMs: false,
          now: () => clock,
          cache: { ttlMs: 3_600_000, degradedTtlMs: 1000 },
        })
        try {
          const { key, info } = await a.keys.create({ name: 'Shared', orgId: 'org_shared', projects: ['prod-site'] })
          // B's keyward subscribed first, so it has capped its cache by the time this rejects.
          await expect(harness.subscribed!(otherStore)).rejects.toThrow()
          expect((await b.verify(request(key))).ok).toBe(true)
          await a.keys.revoke(info.id)
          clock += 999
          expect((await b.verify(request(key))).ok).toBe(true) // still cached: within the degraded TTL
          clock += 2
          const refused = await b.verify(request(key))
          expect(refused.ok).toBe(false)
          if (!refused.ok) expect(refused.error.code).toBe('invalid_token')
        } finally {
          await a.close()
          await b.close()
        }
      })

      it("refuses a key revoked through another instance on the other instance's next request", async ({ skip }) => {
        if (store.subscribe === undefined || harness.peer === undefined) return skip('this backend has no cross-instance announcements')
        if (harness.deaf === true) return skip('announcements cannot arrive here: see the degraded TTL test')
        const otherStore = await harness.peer()
        const a = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
        // B caches verified keys for an hour: only the announcement can make it forget.
        const b = createKeyward({ prefix: 'bsk', store: otherStore, usageFlushMs: false, cache: { ttlMs: 3_600_000 } })
        try {
          const { key, info } = await a.keys.create({ name: 'Shared', orgId: 'org_shared', projects: ['prod-site'] })
          await harness.subscribed?.(otherStore)
          expect((await b.verify(request(key))).ok).toBe(true)
          expect((await b.verify(request(key))).ok).toBe(true) // served from B's cache
          // B's keyward subscribed before this listener, and listeners are called in order, so
          // when this one sees the event B's cache has already dropped the key.
          const announced = waitForEvent(otherStore, (e) => e.type === 'key' && e.id === info.id)
          await a.keys.revoke(info.id)
          await announced.event
          announced.unsubscribe()
          const refused = await b.verify(request(key))
          expect(refused.ok).toBe(false)
          if (!refused.ok) expect(refused.error.code).toBe('invalid_token')
        } finally {
          await a.close()
          await b.close()
        }
      })
    })

    describe('two server processes on this backend', () => {
      // Another process has its own connections, its own event loop and its own copy of every
      // module: what a deployment of several servers is, which two instances in one process only imitate.
      it(
        'a key revoked through this process is refused by the other on its first request after the announcement arrives',
        { timeout: 60_000 },
        async ({ skip }) => {
          if (harness.secondProcess === undefined) return skip('no second process in this harness')
          const there = await harness.secondProcess()
          onTestFinished(() => there.kill())
          const here = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
          try {
            const { key, info } = await here.keys.create({ name: 'Shared', orgId: 'org_1', projects: ['prod-site'] })
            expect(await there.verify(key)).toStrictEqual({ ok: true, code: null })
            expect(await there.verify(key)).toStrictEqual({ ok: true, code: null }) // from its cache
            await here.keys.revoke(info.id)
            await there.announced(info.id)
            expect(await there.verify(key)).toStrictEqual({ ok: false, code: 'invalid_token' })
          } finally {
            await here.close()
            await there.close()
          }
        },
      )

      it(
        'of concurrent rotations of one refresh token from two processes, exactly one succeeds',
        { timeout: 120_000 },
        async ({ skip }) => {
          if (harness.secondProcess === undefined) return skip('no second process in this harness')
          if (options.refreshFamilies === false) return skip('this store does not back refresh tokens')
          const there = await harness.secondProcess()
          onTestFinished(() => there.kill())
          const perSide = 50
          try {
            for (let round = 0; round < 5; round++) {
              const family = familyRecord()
              expect(await store.insertRefreshFamily!(family)).toBe(true)
              const now = Date.now()
              const expiresAt = now + 86_400_000
              const [theirs, mine] = await Promise.all([
                there.rotate({ id: family.id, presented: family.current, count: perSide, expiresAt, now }),
                Promise.all(
                  Array.from({ length: perSide }, (_, i) =>
                    store.rotateRefreshFamily!(family.id, family.current, `here_${i}`, expiresAt, now),
                  ),
                ),
              ])
              const winners = [
                ...mine.flatMap((o, i) => (o === 'rotated' ? [`here_${i}`] : [])),
                ...theirs.flatMap((o, i) => (o === 'rotated' ? [`there_${i}`] : [])),
              ]
              const all = [...mine, ...theirs]
              // Linearizable across processes: one wins, the first loser presents a retired jti (reuse), the rest find it revoked.
              expect(winners).toHaveLength(1)
              expect(all.filter((o) => o === 'reused')).toHaveLength(1)
              expect(all.filter((o) => o === 'revoked')).toHaveLength(2 * perSide - 2)
              expect(await store.findRefreshFamily!(family.id)).toStrictEqual({ ...family, current: winners[0], expiresAt, revokedAt: now })
            }
          } finally {
            await there.close()
          }
        },
      )
    })
  })
}
