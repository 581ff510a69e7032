import { expect, vi } from 'vitest'
import type { TokenStore } from '../../src/stores/token-store.js'
import { families } from '../../testing/refresh-family-conformance.js'
import { familyRecord } from '../../testing/records.js'

/**
 * One call of each refresh-family method `store` has that goes through `via` (scripts or queries
 * through the client's main path), on a fresh family, for the backend-failure tests.
 */
export function familyCalls(
  store: TokenStore,
  via: ReadonlyArray<'insert' | 'rotate' | 'revoke' | 'find' | 'purge'>,
): Array<() => Promise<unknown>> {
  const family = familyRecord()
  const now = Date.now()
  const s = families(store)
  const all = {
    insert: () => s.insertRefreshFamily(family),
    rotate: () => s.rotateRefreshFamily(family.id, family.current, 'next', now + 1000, now),
    revoke: () => s.revokeRefreshFamily(family.id, now),
    find: () => s.findRefreshFamily(family.id, now),
    purge: () => s.purgeExpiredRefreshFamilies!(now),
  }
  return via.map((name) => all[name])
}

/**
 * Every call rejects, with `failure` in its message, once the backend (`fail`) fails; then every call
 * times out after 500 ms. Fake timers must be on.
 */
export async function expectFailuresRejected(
  calls: Array<() => Promise<unknown>>,
  fail: () => void,
  hang: () => void,
  failure: RegExp,
): Promise<void> {
  fail()
  for (const call of calls) await expect(call()).rejects.toThrow(failure)
  hang()
  for (const call of calls) {
    const caught = call().catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(500)
    expect(String(await caught)).toMatch(/timed out after 500 ms/)
  }
}
