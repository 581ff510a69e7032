import { afterEach, describe, expect, it, vi } from 'vitest'
import { createKeyward, MemoryTokenStore, type InvalidationEvent, type TokenStore } from '../../../src/index.js'
import { InvalidationChannel, type ChannelSettings } from '../../../src/stores/invalidation/channel.js'
import type { InvalidationTransport, TransportHooks } from '../../../src/stores/invalidation/transport.js'

/** A transport whose sessions the test drives: opens on demand, delivers (or swallows) what is published. */
class FakeTransport implements InvalidationTransport {
  opens: number[] = []
  hooks: TransportHooks | undefined
  deliver = true
  refuse = false
  pings = 0
  pong: () => Promise<unknown> = () => Promise.resolve()
  closed = 0
  open(hooks: TransportHooks) {
    this.opens.push(Date.now())
    if (this.refuse) return Promise.reject(new Error('connection refused'))
    this.hooks = hooks
    return Promise.resolve({
      ping: () => {
        this.pings += 1
        return this.pong()
      },
      close: () => {
        this.closed += 1
        return Promise.resolve()
      },
    })
  }
  publish(payload: string) {
    const hooks = this.hooks
    if (this.deliver) queueMicrotask(() => hooks?.message(payload))
    return Promise.resolve()
  }
}

const settings = (over: Partial<ChannelSettings> = {}): ChannelSettings => ({
  timeoutMs: 100,
  heartbeatName: 'Fake heartbeat',
  reconnectDelayMs: 250,
  heartbeatMs: 1000,
  selfTestMs: 200,
  onError: () => {},
  ...over,
})

afterEach(() => {
  vi.useRealTimers()
})

describe('InvalidationChannel', () => {
  it('is established only once its self-test is heard; a key message is passed on, its own nonce is not', async () => {
    const transport = new FakeTransport()
    const channel = new InvalidationChannel(transport, settings())
    const events: InvalidationEvent[] = []
    channel.subscribe((e) => events.push(e))
    await channel.listening()
    expect(channel.hearing).toBe(true)
    expect(events).toStrictEqual([{ type: 'flush' }])
    transport.hooks!.message('AbCd1234')
    transport.hooks!.message('')
    transport.hooks!.message('keyward-self-test:someone-elses')
    expect(events.slice(1)).toStrictEqual([{ type: 'key', id: 'AbCd1234' }, { type: 'flush' }])
    await channel.close()
    expect(transport.closed).toBe(1)
  })

  it('a self-test not heard: onError, degraded, listening() rejects; heard again with a heartbeat: healthy, then flush', async () => {
    vi.useFakeTimers()
    const transport = new FakeTransport()
    transport.deliver = false
    const errors: unknown[] = []
    const channel = new InvalidationChannel(transport, settings({ onError: (e) => errors.push(e) }))
    const events: InvalidationEvent[] = []
    channel.subscribe((e) => events.push(e))
    const first = channel.listening()
    const caught = first.catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(200)
    expect(String(await caught)).toMatch(/did not hear its own test message within 200 ms/)
    expect(events.map((e) => e.type)).toStrictEqual(['degraded'])
    expect(errors).toHaveLength(1)
    await expect(channel.listening()).rejects.toThrow(/did not hear/)
    expect(channel.hearing).toBe(false)

    transport.deliver = true
    await vi.advanceTimersByTimeAsync(1000) // the heartbeat: ping, then the self-test, heard now
    expect(events.map((e) => e.type)).toStrictEqual(['degraded', 'healthy', 'flush'])
    await expect(channel.listening()).resolves.toBeUndefined()
    // Healthy heartbeats emit nothing.
    await vi.advanceTimersByTimeAsync(3000)
    expect(events).toHaveLength(3)
    expect(transport.opens).toHaveLength(1)
    await channel.close()
  })

  it('retries a failed open after reconnectDelayMs, doubling per failure; a loss flushes and retries after reconnectDelayMs', async () => {
    vi.useFakeTimers({ now: 0 })
    const transport = new FakeTransport()
    transport.refuse = true
    const channel = new InvalidationChannel(transport, settings({ heartbeatMs: false }))
    const events: InvalidationEvent[] = []
    channel.subscribe((e) => events.push(e))
    await vi.advanceTimersByTimeAsync(250 + 500 + 1000 + 1)
    expect(transport.opens).toStrictEqual([0, 250, 750, 1750])
    expect(events.map((e) => e.type)).toStrictEqual(['degraded'])
    transport.refuse = false
    await vi.advanceTimersByTimeAsync(2000)
    expect(transport.opens).toStrictEqual([0, 250, 750, 1750, 3750])
    expect(events.map((e) => e.type)).toStrictEqual(['degraded', 'healthy', 'flush'])

    const lostAt = Date.now()
    transport.hooks!.lost(new Error('gone'))
    expect(events.map((e) => e.type).slice(3)).toStrictEqual(['flush'])
    await vi.advanceTimersByTimeAsync(250)
    expect(transport.opens.at(-1)).toBe(lostAt + 250)
    expect(events.map((e) => e.type).slice(3)).toStrictEqual(['flush', 'flush'])
    await channel.close()
  })

  it('a heartbeat ping that does not answer within timeoutMs is a loss: flush, the session closed, a new one opened', async () => {
    vi.useFakeTimers()
    const transport = new FakeTransport()
    const errors: unknown[] = []
    const channel = new InvalidationChannel(transport, settings({ onError: (e) => errors.push(e) }))
    const events: InvalidationEvent[] = []
    channel.subscribe((e) => events.push(e))
    await vi.advanceTimersByTimeAsync(0)
    expect(events).toStrictEqual([{ type: 'flush' }])
    transport.pong = () => new Promise(() => {})
    await vi.advanceTimersByTimeAsync(1100)
    expect(String(errors[0])).toMatch(/Fake heartbeat timed out after 100 ms/)
    expect(transport.closed).toBe(1)
    expect(events).toStrictEqual([{ type: 'flush' }, { type: 'flush' }])
    await vi.advanceTimersByTimeAsync(250)
    expect(transport.opens).toHaveLength(2)
    expect(events).toStrictEqual([{ type: 'flush' }, { type: 'flush' }, { type: 'flush' }])
    await channel.close()
  })

  it('an open() that throws instead of rejecting is a failed attempt: onError, degraded, retried with backoff', async () => {
    vi.useFakeTimers({ now: 0 })
    const transport = new FakeTransport()
    let throws = true
    const open = transport.open.bind(transport)
    transport.open = (hooks: TransportHooks) => {
      if (!throws) return open(hooks)
      transport.opens.push(Date.now())
      throw new Error('no known master')
    }
    const errors: unknown[] = []
    const channel = new InvalidationChannel(transport, settings({ heartbeatMs: false, onError: (e) => errors.push(e) }))
    const events: InvalidationEvent[] = []
    expect(() => channel.subscribe((e) => events.push(e))).not.toThrow()
    await expect(channel.listening()).rejects.toThrow(/no known master/)
    // The retries run in timers: a throw there would escape advanceTimersByTimeAsync.
    await vi.advanceTimersByTimeAsync(250 + 500 + 1)
    expect(transport.opens).toStrictEqual([0, 250, 750])
    expect(errors.map(String)).toStrictEqual(Array(3).fill('Error: no known master'))
    expect(events.map((e) => e.type)).toStrictEqual(['degraded'])
    throws = false
    await vi.advanceTimersByTimeAsync(1000)
    expect(events.map((e) => e.type)).toStrictEqual(['degraded', 'healthy', 'flush'])
    await channel.close()
  })

  it('a listener that subscribes while the channel is degraded is told degraded at once', async () => {
    vi.useFakeTimers()
    const transport = new FakeTransport()
    transport.deliver = false
    const channel = new InvalidationChannel(transport, settings())
    channel.subscribe(() => {})
    const caught = channel.listening().catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(200)
    expect(String(await caught)).toMatch(/did not hear/)
    const late: InvalidationEvent[] = []
    channel.subscribe((e) => late.push(e))
    expect(late).toHaveLength(1)
    expect(late[0]!.type === 'degraded' && /did not hear/.test(String(late[0]!.error))).toBe(true)
    await channel.close()
  })

  it('no transport: degraded from the first subscriber when the store cannot listen (onError once), silent if told', async () => {
    const errors: unknown[] = []
    const cannot = new InvalidationChannel(undefined, settings({ onError: (e) => errors.push(e), cannotListen: 'keyward: cannot listen' }))
    const events: InvalidationEvent[] = []
    const unsubscribe = cannot.subscribe((e) => events.push(e))
    expect(events.map((e) => e.type)).toStrictEqual(['degraded'])
    await expect(cannot.listening()).rejects.toThrow('keyward: cannot listen')
    const late: InvalidationEvent[] = []
    cannot.subscribe((e) => late.push(e))
    expect(late.map((e) => e.type)).toStrictEqual(['degraded'])
    expect(cannot.hearing).toBe(false)
    cannot.emit({ type: 'key', id: 'AbCd1234' }) // the store's own changes still reach this process
    expect(events.at(-1)).toStrictEqual({ type: 'key', id: 'AbCd1234' })
    await cannot.close()
    unsubscribe()
    const again: InvalidationEvent[] = []
    cannot.subscribe((e) => again.push(e))
    expect(again.map((e) => e.type)).toStrictEqual(['degraded'])
    expect(errors.map(String)).toStrictEqual(['Error: keyward: cannot listen']) // reported once, not per subscriber
    await cannot.close()

    const chosen = new InvalidationChannel(undefined, settings({ onError: (e) => errors.push(e) }))
    const quiet: InvalidationEvent[] = []
    chosen.subscribe((e) => quiet.push(e))
    await expect(chosen.listening()).resolves.toBeUndefined()
    expect(quiet).toStrictEqual([])
    expect(errors).toHaveLength(1)
    await chosen.close()
  })

  it('ignores a session it dropped', async () => {
    const transport = new FakeTransport()
    const channel = new InvalidationChannel(transport, settings({ heartbeatMs: false }))
    const events: InvalidationEvent[] = []
    const unsubscribe = channel.subscribe((e) => events.push(e))
    await channel.listening()
    const old = transport.hooks!
    unsubscribe()
    old.message('AbCd1234')
    old.lost(new Error('late'))
    expect(events).toStrictEqual([{ type: 'flush' }])
  })
})

describe('keyward and a degraded store', () => {
  /** A memory store whose announcements the test sends. */
  /** A memory store whose announcements the test sends. */
  function announcingStore(): { store: TokenStore; send: (event: InvalidationEvent) => void } {
    const listeners = new Set<(event: InvalidationEvent) => void>()
    class Announcing extends MemoryTokenStore {
      override subscribe(listener: (event: InvalidationEvent) => void) {
        listeners.add(listener)
        return () => void listeners.delete(listener)
      }
    }
    return { store: new Announcing(), send: (event) => listeners.forEach((l) => l(event)) }
  }

  it('keeps keys for cache.degradedTtlMs while degraded, and for ttlMs again once healthy', async () => {
    const { store, send } = announcingStore()
    let clock = 1_000_000
    const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, now: () => clock, cache: { ttlMs: 60_000, degradedTtlMs: 500 } })
    const { key, info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'] })
    const request = { headers: { authorization: `Bearer ${key}` }, project: 'p' }
    // Changed behind keyward's back (another instance whose announcement never arrives).
    const revokeBehindItsBack = () => store.update(info.id, { revokedAt: clock })
    const unrevoke = () => store.update(info.id, { revokedAt: null })

    send({ type: 'degraded', error: new Error('deaf') })
    expect((await kw.verify(request)).ok).toBe(true)
    await revokeBehindItsBack()
    clock += 499
    expect((await kw.verify(request)).ok).toBe(true)
    clock += 2
    expect((await kw.verify(request)).ok).toBe(false)

    send({ type: 'healthy' })
    await unrevoke()
    expect((await kw.verify(request)).ok).toBe(true)
    await revokeBehindItsBack()
    clock += 10_000
    expect((await kw.verify(request)).ok).toBe(true) // the normal TTL again: still cached
    await kw.close()
  })

  it('a keyward created after the store went degraded caps its cache too', async () => {
    const channel = new InvalidationChannel(undefined, settings({ cannotListen: 'keyward: cannot listen' }))
    class ChannelStore extends MemoryTokenStore {
      override subscribe(listener: (event: InvalidationEvent) => void) {
        return channel.subscribe(listener)
      }
    }
    const store = new ChannelStore()
    let clock = 1_000_000
    const options = { prefix: 'bsk', store, usageFlushMs: false as const, now: () => clock, cache: { ttlMs: 60_000, degradedTtlMs: 500 } }
    const first = createKeyward(options)
    const late = createKeyward(options)
    const { key, info } = await late.keys.create({ name: 'k', orgId: 'o', projects: ['p'] })
    const request = { headers: { authorization: `Bearer ${key}` }, project: 'p' }
    expect((await late.verify(request)).ok).toBe(true)
    await store.update(info.id, { revokedAt: clock }) // another instance; unheard
    clock += 501
    expect((await late.verify(request)).ok).toBe(false)
    await first.close()
    await late.close()
    await channel.close()
  })

  it('keeps keys for 800 ms by default while degraded, so a revocation elsewhere lands within 1 s', async () => {
    const { store, send } = announcingStore()
    let clock = 1_000_000
    const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, now: () => clock, cache: { ttlMs: 60_000 } })
    const { key, info } = await kw.keys.create({ name: 'k', orgId: 'o', projects: ['p'] })
    const request = { headers: { authorization: `Bearer ${key}` }, project: 'p' }
    send({ type: 'degraded', error: new Error('deaf') })
    expect((await kw.verify(request)).ok).toBe(true)
    await store.update(info.id, { revokedAt: clock })
    clock += 799
    expect((await kw.verify(request)).ok).toBe(true)
    clock += 2
    expect((await kw.verify(request)).ok).toBe(false)
    await kw.close()
  })

  it('validates cache.degradedTtlMs', () => {
    expect(() => createKeyward({ prefix: 'bsk', cache: { degradedTtlMs: 0 } })).toThrow(/degradedTtlMs/)
  })
})
