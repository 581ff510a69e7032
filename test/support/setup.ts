import { createKeyward, MemoryTokenStore, type CreateKeyInput, type KeywardOptions, type TokenStore } from '../../src/index.js'
import { manualClock } from './clock.js'

/** A keyward on a manual clock and a reachable memory store, plus a helper to mint keys. */
export function setup(options: Partial<KeywardOptions> = {}) {
  const clock = manualClock()
  const store = (options.store as MemoryTokenStore | undefined) ?? new MemoryTokenStore()
  const kw = createKeyward({ prefix: 'bsk', now: clock.now, usageFlushMs: false, ...options, store })
  const mint = (input: Partial<CreateKeyInput> = {}) =>
    kw.keys.create({ name: 'Test key', orgId: 'org_1', projects: ['prod-site'], ...input })
  const bearer = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra })
  return { kw, clock, store, mint, bearer }
}

/** A plain-object view of a store, so a test can replace one method with a failing or slow one. */
export function bindStore(store: TokenStore): TokenStore {
  return {
    findById: (id) => store.findById(id),
    insert: (r) => store.insert(r),
    update: (id, p, c) => store.update(id, p, c),
    listByOrg: (o, opts) => store.listByOrg(o, opts),
    touch: (e) => store.touch(e),
  }
}
