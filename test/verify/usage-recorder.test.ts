import { afterEach, describe, expect, it, vi } from 'vitest'
import { createKeyward, MemoryTokenStore, type TokenStore } from '../../src/index.js'
import { UsageRecorder } from '../../src/verify/usage-recorder.js'
import { manualClock } from '../support/clock.js'

type Touched = Array<{ id: string; lastUsedAt: number }>

/** A store that only remembers what `touch` was given. */
function touchLog() {
  const writes: Touched[] = []
  const store = { touch: (entries: Touched) => (writes.push([...entries]), Promise.resolve()) } as unknown as TokenStore
  return { store, writes }
}

const T0 = Date.UTC(2026, 10, 22, 12)

afterEach(() => {
  vi.useRealTimers()
})

describe('UsageRecorder', () => {
  it('writes a batch at the first record after it was due, even when its timer never fired (Workers)', async () => {
    const { store, writes } = touchLog()
    const usage = new UsageRecorder(store, 60_000, () => {})
    usage.record('a', T0)
    // The timer armed above never fires here (as in a Worker after the response).
    usage.record('b', T0 + 60_000)
    await Promise.resolve()
    expect(writes).toEqual([
      [
        { id: 'a', lastUsedAt: T0 },
        { id: 'b', lastUsedAt: T0 + 60_000 },
      ],
    ])
  })

  it('with waitUntil: arms no timer, hands the due write to waitUntil', async () => {
    vi.useFakeTimers()
    const { store, writes } = touchLog()
    const usage = new UsageRecorder(store, 1000, () => {})
    const kept: Array<Promise<unknown>> = []
    const waitUntil = (p: Promise<unknown>) => void kept.push(p)
    usage.record('a', T0, waitUntil)
    usage.record('a', T0 + 999, waitUntil)
    expect(vi.getTimerCount()).toBe(0)
    expect(kept).toHaveLength(0)
    usage.record('b', T0 + 1000, waitUntil)
    expect(kept).toHaveLength(1)
    await Promise.all(kept)
    expect(writes).toEqual([
      [
        { id: 'a', lastUsedAt: T0 + 999 },
        { id: 'b', lastUsedAt: T0 + 1000 },
      ],
    ])
    // A new batch starts its own interval.
    usage.record('c', T0 + 1500, waitUntil)
    expect(kept).toHaveLength(1)
  })

  it('without waitUntil (Node): one unref-ed timer writes the batch after the interval', async () => {
    vi.useFakeTimers()
    const { store, writes } = touchLog()
    const usage = new UsageRecorder(store, 1000, () => {})
    usage.record('a', T0)
    usage.record('b', T0 + 10)
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(writes).toEqual([
      [
        { id: 'a', lastUsedAt: T0 },
        { id: 'b', lastUsedAt: T0 + 10 },
      ],
    ])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a clock set back by more than an interval does not postpone the write', async () => {
    const { store, writes } = touchLog()
    const usage = new UsageRecorder(store, 1000, () => {})
    usage.record('a', T0, () => {})
    usage.record('a', T0 - 5000, () => {})
    await Promise.resolve()
    expect(writes).toHaveLength(1)
  })
})

describe('verify({ waitUntil })', () => {
  it('last-used times reach the store through waitUntil, with no timer', async () => {
    vi.useFakeTimers()
    const clock = manualClock(T0)
    const kw = createKeyward({ prefix: 'bsk', store: new MemoryTokenStore(), now: clock.now, usageFlushMs: 1000, cache: false })
    const { key, info } = await kw.keys.create({ name: 'w', orgId: 'o', projects: ['p'] })
    const kept: Array<Promise<unknown>> = []
    const waitUntil = (p: Promise<unknown>) => void kept.push(p)
    const headers = { authorization: `Bearer ${key}` }
    expect((await kw.verify({ headers, waitUntil })).ok).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    clock.advance(1000)
    expect((await kw.verify({ headers, waitUntil })).ok).toBe(true)
    expect(kept).toHaveLength(1)
    await Promise.all(kept)
    expect((await kw.keys.get(info.id))?.lastUsedAt?.getTime()).toBe(T0 + 1000)
  })

  it("refuses a waitUntil that is not a function (the application's bug, not an outage)", async () => {
    const kw = createKeyward({ prefix: 'bsk' })
    await expect(kw.verify({ headers: {}, waitUntil: 'yes' as never })).rejects.toThrow(/waitUntil must be a function/)
  })
})
